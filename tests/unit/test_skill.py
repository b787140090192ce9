"""The skill series and the per-agent evidence of skill (SPEC §3.7), and demotion (§3.8).

The series is checked against a plain pandas re-implementation of §3.7's definition; the
statistics against scipy (never against metasup's own formulas).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recon_factories import AS_OF, make_config, pending, realized, recon_frame
from scipy import stats as sp

from metasup.evaluate.demotion import decide_demotion
from metasup.evaluate.skill import (
    EMPTY_SERIES,
    DailySeries,
    calibration_by_agent,
    calibration_from_sums,
    daily_series,
    deflation,
    fleet_skill,
    prod_book_series,
    series_from_sums,
    sharpe_facts,
)
from metasup.evaluate.skill_inputs import SkillInputs, booked_days, track_record_span
from metasup.model.config import Config
from metasup.model.review import Skill

TRACK = pd.Timedelta(days=180)


def fleet_skill_of(recon: pd.DataFrame, config: Config, **groups: list[str]) -> dict[str, Skill]:
    """``fleet_skill`` from a reconciled frame: its track-record series and window calibration."""
    series = daily_series(recon, AS_OF, track_record_span(config))
    calibration = calibration_by_agent(recon, AS_OF - config.windows.window, AS_OF)
    return fleet_skill(series, calibration, config, **groups)


def reference_series(recon: pd.DataFrame, as_of: pd.Timestamp, span: pd.Timedelta) -> dict[str, pd.Series]:
    """§3.7 read literally: realized inside T, booked weekday, notional-weighted excess return."""
    done = recon[
        (recon["status"] == "realized") & (recon["exit_ts"] > as_of - span) & (recon["exit_ts"] <= as_of)
    ]
    day = done["exit_ts"].dt.floor("D")
    shift = day.dt.day_of_week.map({5: 2, 6: 1}).fillna(0).astype(int)
    booked = day + pd.to_timedelta(shift, unit="D")
    frame = pd.DataFrame({"agent": done["agent"], "day": booked, "w": done["notional"]})
    frame["we"] = done["notional"] * done["excess"]
    sums = frame.groupby(["agent", "day"])[["we", "w"]].sum()
    ratio = sums["we"] / sums["w"]
    return {str(agent): ratio.loc[agent] for agent in ratio.index.get_level_values(0).unique()}


def days_of(series: DailySeries) -> list[pd.Timestamp]:
    return [pd.Timestamp(int(d) * 86_400 * 10**9, tz="UTC") for d in series.days]


def test_booked_days__weekend_exits_count_on_the_next_monday() -> None:
    stamps = pd.to_datetime(
        ["2024-03-29T23:59:00Z", "2024-03-30T10:00:00Z", "2024-03-31T23:00:00Z", "2024-04-01T00:00:00Z"]
    )
    days = booked_days(np.asarray(stamps.as_unit("ns").asi8, dtype=np.int64))

    assert [str(pd.Timestamp(d * 86_400 * 10**9).date()) for d in days] == [
        "2024-03-29",
        "2024-04-01",
        "2024-04-01",
        "2024-04-01",
    ]


def test_daily_series__notional_weighted_by_booked_day() -> None:
    recon = recon_frame(
        [
            realized("a", exited=3, ret=0.02, notional=10_000),  # Thursday 2024-03-28
            realized("a", exited=3, ret=-0.01, notional=30_000),
            realized("a", exited=1.5, ret=0.04),  # Friday noon
            realized("a", exited=0.5, ret=0.01),  # Saturday noon → Monday
            pending("a", emitted=2),
        ]
    )
    series = daily_series(recon, AS_OF, TRACK.to_pytimedelta())["a"]

    assert [str(d.date()) for d in days_of(series)] == ["2024-03-28", "2024-03-29", "2024-04-01"]
    assert series.values == pytest.approx([(200 - 300) / 40_000, 0.04, 0.01])


def test_daily_series__track_record_is_half_open() -> None:
    recon = recon_frame([realized("a", exited=180, ret=0.5), realized("a", exited=179.9, ret=0.1)])

    series = daily_series(recon, AS_OF, TRACK.to_pytimedelta())["a"]

    assert series.values.tolist() == pytest.approx([0.1])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.floats(0.0, 200.0),
            st.floats(-0.2, 0.2),
            st.floats(1_000.0, 50_000.0),
            st.booleans(),
        ),
        min_size=1,
        max_size=60,
    ),
    span_days=st.integers(1, 200),
)
def test_daily_series__equals_the_literal_definition(rows: list[tuple[Any, ...]], span_days: int) -> None:
    recon = recon_frame(
        [
            realized(agent, exited=exited, ret=ret, notional=notional)
            if done
            else pending(agent, emitted=exited)
            for agent, exited, ret, notional, done in rows
        ]
    )
    span = pd.Timedelta(days=span_days)

    got = daily_series(recon, AS_OF, span.to_pytimedelta())
    expected = reference_series(recon, AS_OF, span)

    assert sorted(got) == sorted(expected)
    for agent, series in got.items():
        assert days_of(series) == list(expected[agent].index)
        assert series.values == pytest.approx(expected[agent].to_numpy(), rel=1e-12, abs=1e-15)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.floats(0.0, 200.0),
            st.floats(-0.2, 0.2),
            st.floats(0.0, 1.0),
            st.integers(0, 2),
        ),
        min_size=1,
        max_size=60,
    ),
)
def test_sums__merged_over_any_split_give_the_whole_series_and_calibration(
    rows: list[tuple[Any, ...]],
) -> None:
    recon = recon_frame(
        [realized(agent, exited=exited, ret=ret, confidence=c) for agent, exited, ret, c, _ in rows]
    )
    part = np.array([p for *_, p in rows])
    pieces = [recon[part == p].reset_index(drop=True) for p in range(3)]
    config = make_config()
    start = AS_OF - config.windows.window

    whole = SkillInputs.of(recon, AS_OF, config)
    merged = SkillInputs.merged([SkillInputs.of(piece, AS_OF, config) for piece in pieces])

    for name in ("track_record", "demotion"):
        got, want = series_from_sums(getattr(merged, name)), series_from_sums(getattr(whole, name))
        assert sorted(got) == sorted(want)
        for agent, series in want.items():
            assert list(got[agent].days) == list(series.days)
            assert got[agent].values == pytest.approx(series.values, rel=1e-9, abs=1e-15)
    assert series_from_sums(whole.track_record).keys() == daily_series(recon, AS_OF, TRACK).keys()
    calibration = calibration_from_sums(merged.calibration)
    assert calibration.keys() == calibration_by_agent(recon, start, AS_OF).keys()
    for agent, found in calibration_by_agent(recon, start, AS_OF).items():
        assert calibration[agent].model_dump() == pytest.approx(found.model_dump(), rel=1e-9, abs=1e-15)


def test_prod_book_series__mean_of_the_members_present_each_day() -> None:
    one = DailySeries(np.array([10, 11, 12]), np.array([0.01, 0.02, 0.03]))
    two = DailySeries(np.array([11, 12, 13]), np.array([0.03, -0.01, 0.05]))

    book = prod_book_series({"p1": one, "p2": two, "sandbox": one}, ["p1", "p2", "absent"])

    assert book.days.tolist() == [10, 11, 12, 13]
    assert book.values == pytest.approx([0.01, 0.025, 0.01, 0.05])
    assert prod_book_series({"p1": one}, []) is EMPTY_SERIES


def test_sharpe_facts__match_scipy() -> None:
    values = np.random.default_rng(3).standard_t(5, size=40) * 0.01 + 0.002
    facts = sharpe_facts(DailySeries(np.arange(40), values))

    sr = values.mean() / values.std(ddof=1)
    skew, kurt = sp.skew(values), sp.kurtosis(values, fisher=False)
    q = 1 - skew * sr + (kurt - 1) / 4 * sr**2
    assert facts.sharpe == pytest.approx(sr, rel=1e-12)
    assert facts.psr == pytest.approx(sp.t.cdf(sr * np.sqrt(39) / np.sqrt(q), 39), rel=1e-9)


@pytest.mark.parametrize("values", [[], [0.01], [0.01, 0.01, 0.01]])
def test_sharpe_facts__undefined_when_too_short_or_flat(values: list[float]) -> None:
    facts = sharpe_facts(DailySeries(np.arange(len(values)), np.array(values, dtype=np.float64)))

    assert (facts.n, facts.sharpe, facts.psr) == (len(values), None, None)


def test_deflation__trials_variance_and_the_single_trial_case() -> None:
    series = {name: DailySeries(np.arange(30), np.random.default_rng(i).normal(0.001 * i, 0.01, 30))
              for i, name in enumerate("abcdef")}  # fmt: skip
    facts = {name: sharpe_facts(s) for name, s in series.items()}
    sharpes = np.array([f.sharpe for f in facts.values()])

    trials, sr0 = deflation(facts, None)
    gamma = 0.5772156649015329
    expected = np.sqrt(sharpes.var(ddof=1)) * (
        (1 - gamma) * sp.norm.ppf(1 - 1 / 6) + gamma * sp.norm.ppf(1 - 1 / (6 * np.e))
    )
    assert (trials, sr0) == (6, pytest.approx(expected, rel=1e-9))
    assert deflation(facts, 100)[0] == 100
    assert deflation({"a": facts["a"]}, None) == (1, 0.0)


def test_deflation__a_record_shorter_than_the_gate_judges_is_no_trial() -> None:
    """One new sandbox agent with three good days (its Sharpe ratio ~5, noise) made V, and so SR0,
    so large that under ``skill_test: dsr`` no agent could pass (found by an audit). Records
    shorter than ``min_skill_days`` are left out of N and V, as the gate leaves them unjudged."""
    rng = np.random.default_rng(7)
    series = {f"a{i}": DailySeries(np.arange(120), rng.normal(0.0005, 0.01, 120)) for i in range(20)}
    facts = {name: sharpe_facts(s) for name, s in series.items()}
    sharpes = np.array([f.sharpe for f in facts.values()])
    gamma = 0.5772156649015329
    expected = np.sqrt(sharpes.var(ddof=1)) * (
        (1 - gamma) * sp.norm.ppf(1 - 1 / 20) + gamma * sp.norm.ppf(1 - 1 / (20 * np.e))
    )
    newcomer = sharpe_facts(DailySeries(np.arange(3), np.array([0.012, 0.008, 0.010])))
    assert newcomer.sharpe is not None
    assert newcomer.sharpe > 4

    assert deflation({**facts, "new": newcomer}, None, min_days=10) == (20, pytest.approx(expected, rel=1e-9))
    assert deflation({**facts, "new": newcomer}, None)[1] > 5 * expected  # counted, it dominates V


def test_calibration_by_agent__murphy_over_the_brier_signals() -> None:
    rows = [realized("a", exited=1, ret=r, confidence=c) for r, c in
            [(0.01, 0.9), (-0.01, 0.85), (0.02, 0.65), (0.0, 0.99), (-0.02, 0.62), (0.03, 0.61)]]  # fmt: skip
    rows.append(realized("a", exited=40, ret=0.05, confidence=0.1))  # outside the 30-day window
    recon = recon_frame(rows)

    found = calibration_by_agent(recon, AS_OF - pd.Timedelta(days=30), AS_OF)["a"]

    # Bins: [0.6, 0.7) holds 0.65, 0.62, 0.61 (outcomes 1, 0, 1); [0.8, 0.9) holds 0.85 (0);
    # [0.9, 1.0] holds 0.9 (1). The zero return is not a Brier signal.
    base = 3 / 5
    reliability = (3 * ((0.65 + 0.62 + 0.61) / 3 - 2 / 3) ** 2 + (0.85 - 0) ** 2 + (0.9 - 1) ** 2) / 5
    resolution = (3 * (2 / 3 - base) ** 2 + (0 - base) ** 2 + (1 - base) ** 2) / 5
    assert found.reliability == pytest.approx(reliability)
    assert found.resolution == pytest.approx(resolution)
    assert found.uncertainty == pytest.approx(base * (1 - base))


def _fleet(rng: np.random.Generator, days: int = 60) -> pd.DataFrame:
    rows = []
    book = rng.normal(0.0, 0.01, size=days)
    for day in range(days):
        exited = day + 0.1
        rows.append(realized("prod-1", exited=exited, ret=book[day] + rng.normal(0.001, 0.002)))
        rows.append(realized("copy", exited=exited, ret=book[day] + rng.normal(0.0, 0.001)))
        rows.append(realized("fresh", exited=exited, ret=rng.normal(0.004, 0.01)))
    return recon_frame(rows)


def test_fleet_skill__psr_trials_and_correlation_with_the_prod_book() -> None:
    recon = _fleet(np.random.default_rng(11))
    config = make_config()

    skills = fleet_skill_of(recon, config, sandbox=["copy", "fresh"], prod_book=["prod-1"])

    copy, fresh = skills["copy"], skills["fresh"]
    x = reference_series(recon, AS_OF, TRACK)
    book = x["prod-1"]
    assert copy.prod_correlation == pytest.approx(sp.pearsonr(x["copy"], book).statistic, rel=1e-9)
    assert copy.prod_correlation > 0.9
    assert fresh.prod_correlation == pytest.approx(sp.pearsonr(x["fresh"], book).statistic, rel=1e-9)
    fit = sp.linregress(book.to_numpy(), x["fresh"].to_numpy())
    assert fresh.marginal_alpha == pytest.approx(fit.intercept, rel=1e-9)
    assert fresh.marginal_alpha_t == pytest.approx(fit.intercept / fit.intercept_stderr, rel=1e-9)
    assert (fresh.trials, fresh.n, fresh.track_record_days, fresh.prod_book_days) == (
        2,
        len(x["fresh"]),
        180,
        len(book),
    )
    assert skills["prod-1"].dsr is not None


def test_fleet_skill__no_prod_book_and_agents_without_a_series() -> None:
    recon = _fleet(np.random.default_rng(2))

    skills = fleet_skill_of(recon, make_config(), sandbox=["fresh", "silent"], prod_book=[])

    assert skills["fresh"].prod_book_days == 0
    assert skills["fresh"].prod_correlation is None
    assert (skills["silent"].n, skills["silent"].psr, skills["silent"].eligible_in_days) == (0, None, None)


def scipy_min_trl(x: pd.Series, bar: float, min_psr: float = 0.95) -> int | None:
    """The fewest days whose PSR(bar) reaches ``min_psr`` at this series' SR and q, by a plain scan."""
    values = x.to_numpy()
    sr = values.mean() / values.std(ddof=1)
    q = 1 - sp.skew(values) * sr + (sp.kurtosis(values, fisher=False) - 1) / 4 * sr**2
    days = np.arange(2, 10_001)
    reached = sp.t.cdf((sr - bar) * np.sqrt(days - 1) / np.sqrt(q), days - 1) >= min_psr
    return int(days[np.argmax(reached)]) if sr > bar and reached.any() else None


def test_fleet_skill__days_to_eligibility_count_the_day_minimum() -> None:
    """A strong but short record: MinTRL is already met, the gate's 10-day floor is not."""
    rng = np.random.default_rng(5)
    recon = recon_frame([realized("fresh", exited=d + 0.1, ret=rng.normal(0.01, 0.002)) for d in range(8)])

    skill = fleet_skill_of(recon, make_config(), sandbox=["fresh"], prod_book=[])["fresh"]

    x = reference_series(recon, AS_OF, TRACK)["fresh"]
    assert skill.n == len(x) < 10
    assert skill.min_track_record_days == scipy_min_trl(x, 0.0)
    assert skill.min_track_record_days is not None
    assert skill.min_track_record_days <= skill.n
    assert skill.eligible_in_days == 10 - len(x)


def test_fleet_skill__under_dsr_days_to_eligibility_are_against_sr0() -> None:
    """The DSR gate needs PSR(SR0): the days to eligibility must count against that bar, not 0."""
    rng = np.random.default_rng(8)
    edges = {"a": 0.004, "b": 0.0, "c": -0.002, "d": 0.001, "e": 0.002}
    rows = [
        realized(agent, exited=d + 0.1, ret=rng.normal(edge, 0.01))
        for d in range(90)
        for agent, edge in edges.items()
    ]
    recon = recon_frame(rows)
    x = reference_series(recon, AS_OF, TRACK)
    sharpes = np.array([x[a].mean() / x[a].std(ddof=1) for a in edges])
    gamma = 0.5772156649
    trials = len(edges)
    sr0 = np.sqrt(sharpes.var(ddof=1)) * (
        (1 - gamma) * sp.norm.ppf(1 - 1 / trials) + gamma * sp.norm.ppf(1 - 1 / (trials * np.e))
    )

    as_psr = fleet_skill_of(recon, make_config(), sandbox=list(edges), prod_book=[])
    as_dsr = fleet_skill_of(
        recon, make_config(promotion={"skill_test": "dsr"}), sandbox=list(edges), prod_book=[]
    )

    best = as_dsr["a"]
    assert best.sr0 == pytest.approx(sr0, rel=1e-9)
    assert 0 < sr0 < best.sharpe
    dsr_trl, psr_trl = scipy_min_trl(x["a"], sr0), scipy_min_trl(x["a"], 0.0)
    assert dsr_trl is not None
    assert psr_trl is not None
    assert best.eligible_in_days == max(0, dsr_trl - best.n, 10 - best.n)
    assert as_psr["a"].eligible_in_days == max(0, psr_trl - best.n)
    assert best.eligible_in_days > as_psr["a"].eligible_in_days
    assert best.min_track_record_days == psr_trl  # the paper's MinTRL is reported as it is
    below = [a for a in edges if 0 < (as_dsr[a].sharpe or 0) <= sr0]
    assert below
    assert all(as_dsr[a].eligible_in_days is None for a in below)


def test_fleet_skill__track_record_never_shorter_than_the_window() -> None:
    recon = _fleet(np.random.default_rng(4), days=50)
    config = make_config(promotion={"track_record": "20d"}, windows={"window": "45d", "period": "7d"})

    skill = fleet_skill_of(recon, config, sandbox=["fresh"], prod_book=[])["fresh"]

    assert skill.track_record_days == 45


def _series(values: list[float]) -> DailySeries:
    return DailySeries(np.arange(len(values)), np.array(values, dtype=np.float64))


def test_decide_demotion__a_negative_edge_with_90_percent_confidence_demotes() -> None:
    losing = list(np.random.default_rng(5).normal(-0.004, 0.005, size=30))

    demotion = decide_demotion(_series(losing), make_config())

    assert demotion.demoted
    assert not demotion.vetoed
    assert demotion.psr is not None
    assert demotion.psr < 0.10
    assert demotion.evidence.startswith(f"PSR {demotion.psr:.2f} < 0.1 over 30 days")


def test_decide_demotion__a_veto_keeps_the_agent() -> None:
    losing = list(np.random.default_rng(5).normal(-0.004, 0.005, size=30))

    demotion = decide_demotion(_series(losing), make_config(), vetoed=True)

    assert (demotion.demoted, demotion.vetoed) == (False, True)
    assert demotion.evidence.endswith("demotion vetoed (cooldown)")


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ([-0.01] * 3 + [-0.02] * 5, "8 skill days in the last 60 days (< 10): too few to judge"),
        ([-0.01] * 12, "PSR undefined over 12 days (no variation in daily excess returns)"),
    ],
)
def test_decide_demotion__fails_open_when_the_series_cannot_say(values: list[float], words: str) -> None:
    demotion = decide_demotion(_series(values), make_config())

    assert (demotion.demoted, demotion.evidence) == (False, words)


def test_decide_demotion__a_positive_edge_stays() -> None:
    winning = list(np.random.default_rng(8).normal(0.003, 0.01, size=40))

    demotion = decide_demotion(_series(winning), make_config())

    assert not demotion.demoted
    assert "no 90% confidence that the edge is negative" in demotion.evidence


def test_decide_demotion__too_few_independent_values_says_so(base_config: Config) -> None:
    """15 days of signals held 20 weekdays each are barely one independent value: the PSR is not
    defined, and the evidence said "no variation" of a series that varies (found by a review)."""
    values = np.random.default_rng(3).normal(-0.01, 0.002, 15)
    series = DailySeries(np.arange(15), values, holding=20.0)
    facts = sharpe_facts(series)
    assert facts.psr is None
    assert facts.effective_n < 2

    demotion = decide_demotion(series, base_config)

    assert not demotion.demoted
    assert "holding periods overlap" in demotion.evidence
    assert "independent values, too few to judge" in demotion.evidence
