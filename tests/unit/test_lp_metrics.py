"""LP metrics (SPEC §6): daily series, empyrical conventions, attribution, bridge, cadence."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from typing import Any

import empyrical as ep
import numpy as np
import pandas as pd
import pytest

from metasup.lp.email import period_sentence
from metasup.lp.report import LOG_EVENTS, Strategies, compute_lp_report
from metasup.lp.statistics import (
    Period,
    annual_volatility,
    booked_day,
    cumulative_return,
    daily_returns,
    downside_risk,
    drawdowns,
    due_period,
    last_complete_period,
    period_containing,
    sharpe_ratio,
    sortino_ratio,
)
from metasup.lp.values import PeriodInfo

UTC = "UTC"
CAPITAL = 1_000_000.0
TOL = 1e-9


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


def make_recon(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """A reconciled-signals frame (docs/data-model.md) with only what the LP metrics read."""
    defaults: dict[str, Any] = {
        "agent": "momo",
        "strategy_class": None,
        "status": "realized",
        "fee": 0.0,
        "notional": 10_000.0,
    }
    frame = pd.DataFrame([{**defaults, **row} for row in rows])
    if frame.empty:
        frame = pd.DataFrame(
            columns=["agent", "strategy_class", "status", "fee", "notional", "exit_ts", "pnl"]
        )
    frame["exit_ts"] = pd.to_datetime(frame["exit_ts"], utc=True, format="ISO8601")
    frame["ts"] = frame["exit_ts"] - pd.Timedelta(hours=4)
    frame["pnl"] = frame["pnl"].astype("float64")
    frame["fee"] = frame["fee"].astype("float64")
    for column in ("agent", "strategy_class", "status"):
        frame[column] = frame[column].astype("str").where(frame[column].notna())
    return frame


def make_costs(rows: Sequence[tuple[str, str, float]] = ()) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["ts", "agent", "cost_usd"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    frame["kind"] = "cost"
    return frame


def recon_for_returns(returns: Sequence[float] | np.ndarray, start: str = "2026-01-05") -> pd.DataFrame:
    """One signal per weekday whose PnL makes exactly ``returns`` the daily series."""
    days = pd.bdate_range(start, periods=len(returns), tz=UTC)
    return make_recon(
        [
            {"exit_ts": day + pd.Timedelta(hours=15), "pnl": r * CAPITAL}
            for day, r in zip(days, returns, strict=True)
        ]
    )


def report_for(returns: Sequence[float] | np.ndarray, rf: float = 0.0) -> Any:
    recon = recon_for_returns(returns)
    as_of = recon["exit_ts"].max()
    daily = daily_returns(recon, ["momo"], CAPITAL, as_of)
    return compute_lp_report(
        daily,
        recon,
        make_costs(),
        ["momo"],
        {"momo": "trend"},
        CAPITAL,
        as_of,
        as_of,
        as_of,
        risk_free_rate=rf,
    )


# --------------------------------------------------------------------------------------------
# daily_returns
# --------------------------------------------------------------------------------------------


def test_daily_returns__weekend_exits_are_booked_to_monday() -> None:
    recon = make_recon(
        [
            {"exit_ts": "2026-10-23T19:00Z", "pnl": 100.0},  # Friday
            {"exit_ts": "2026-10-24T10:00Z", "pnl": 20.0},  # Saturday
            {"exit_ts": "2026-10-25T23:59:59Z", "pnl": 30.0},  # Sunday
            {"exit_ts": "2026-10-26T00:00Z", "pnl": 5.0},  # Monday midnight
        ]
    )
    daily = daily_returns(recon, ["momo"], 1000.0, ts("2026-10-26T20:00"))
    assert list(daily.index) == [ts("2026-10-23"), ts("2026-10-26")]
    assert daily.tolist() == pytest.approx([0.1, 0.055], abs=1e-15)
    assert daily.index.name == "date"
    index = pd.DatetimeIndex(daily.index)
    assert str(index.tz) == "UTC"
    assert (index.day_of_week < 5).all()


def test_daily_returns__zero_days_from_first_exit_to_as_of() -> None:
    recon = make_recon(
        [{"exit_ts": "2026-10-20T15:00Z", "pnl": 50.0}, {"exit_ts": "2026-10-27T15:00Z", "pnl": -10.0}]
    )
    daily = daily_returns(recon, ["momo"], 1000.0, ts("2026-10-29T08:00"))
    assert list(daily.index) == list(pd.bdate_range("2026-10-20", "2026-10-29", tz=UTC))
    expected = [0.05, 0, 0, 0, 0, -0.01, 0, 0]  # Tue 20 … Fri 23, Mon 26, Tue 27 … Thu 29
    assert daily.tolist() == pytest.approx(expected, abs=1e-15)


def test_daily_returns__only_realized_prod_signals_up_to_as_of() -> None:
    recon = make_recon(
        [
            {"exit_ts": "2026-10-20T15:00Z", "pnl": 50.0},
            {"exit_ts": "2026-10-20T16:00Z", "pnl": 70.0, "agent": "sandboxer"},
            {"exit_ts": "2026-10-21T15:00Z", "pnl": float("nan"), "status": "open"},
            {"exit_ts": "2026-10-22T15:00Z", "pnl": 9.0},  # after as_of
        ]
    )
    daily = daily_returns(recon, ["momo"], 1000.0, ts("2026-10-21T20:00"))
    assert daily.tolist() == pytest.approx([0.05, 0.0])


def test_daily_returns__weekend_exit_before_weekend_as_of_extends_to_monday() -> None:
    recon = make_recon(
        [{"exit_ts": "2026-10-23T15:00Z", "pnl": 10.0}, {"exit_ts": "2026-10-24T09:00Z", "pnl": 5.0}]
    )
    daily = daily_returns(recon, ["momo"], 1000.0, ts("2026-10-24T12:00"))
    assert list(daily.index) == [ts("2026-10-23"), ts("2026-10-26")]


def test_daily_returns__nothing_realized_is_empty() -> None:
    daily = daily_returns(make_recon([]), ["momo"], 1000.0, ts("2026-10-24T12:00"))
    assert daily.empty
    assert isinstance(daily.index, pd.DatetimeIndex)
    assert daily.index.name == "date"


def test_booked_day__each_weekday() -> None:
    stamps = pd.Series(pd.date_range("2026-10-19T13:00", periods=8, freq="D", tz=UTC))  # Mon..Mon
    booked = booked_day(stamps)
    assert [d.day for d in booked] == [19, 20, 21, 22, 23, 26, 26, 26]


# --------------------------------------------------------------------------------------------
# Statistics against empyrical-reloaded
# --------------------------------------------------------------------------------------------

RNG_SERIES = {
    "normal": np.random.default_rng(7).normal(0.0004, 0.01, 300),
    "with_zero_days": np.where(
        np.random.default_rng(8).random(120) < 0.3, 0.0, np.random.default_rng(9).normal(0, 0.004, 120)
    ),
    "short": np.array([0.01, -0.02]),
    "mostly_losses": np.random.default_rng(10).normal(-0.002, 0.006, 60),
}


@pytest.mark.parametrize("name", sorted(RNG_SERIES))
@pytest.mark.parametrize("rf", [0.0, 0.05])
def test_statistics__match_empyrical(name: str, rf: float) -> None:
    returns = RNG_SERIES[name]
    daily_rf = rf / 252
    assert annual_volatility(returns) == pytest.approx(ep.annual_volatility(returns), abs=TOL)
    assert sharpe_ratio(returns, daily_rf) == pytest.approx(
        ep.sharpe_ratio(returns, risk_free=daily_rf), abs=TOL
    )
    assert sortino_ratio(returns, daily_rf) == pytest.approx(
        ep.sortino_ratio(returns, required_return=daily_rf), abs=TOL
    )
    assert downside_risk(returns, daily_rf) == pytest.approx(ep.downside_risk(returns, daily_rf), abs=TOL)
    assert float(drawdowns(returns).min()) == pytest.approx(ep.max_drawdown(returns), abs=TOL)
    assert cumulative_return(returns) == pytest.approx(ep.cum_returns_final(returns), abs=TOL)


@pytest.mark.parametrize("rf", [0.0, 0.04])
def test_compute_lp_report__report_matches_empyrical_on_its_daily_series(rf: float) -> None:
    returns = RNG_SERIES["normal"][:90]
    report = report_for(returns, rf)
    series = pd.Series([d.value for d in report.daily])
    assert series.to_numpy() == pytest.approx(returns, abs=1e-15)
    assert report.volatility == pytest.approx(ep.annual_volatility(series), abs=TOL)
    assert report.sharpe == pytest.approx(ep.sharpe_ratio(series, risk_free=rf / 252), abs=TOL)
    assert report.sortino == pytest.approx(ep.sortino_ratio(series, required_return=rf / 252), abs=TOL)
    assert report.max_drawdown == pytest.approx(ep.max_drawdown(series), abs=TOL)
    assert report.returns.since_inception == pytest.approx(ep.cum_returns_final(series), abs=TOL)
    cumulative = ep.cum_returns(series, starting_value=1.0)
    assert report.current_drawdown == pytest.approx(
        cumulative.iloc[-1] / cumulative.cummax().iloc[-1] - 1, abs=TOL
    )
    assert report.best_day == pytest.approx(series.max())
    assert report.worst_day == pytest.approx(series.min())


def test_drawdowns__by_hand() -> None:
    # wealth 1.1, 0.55, 0.66: the peak is 1.1 after day 1
    dd = drawdowns(np.array([0.1, -0.5, 0.2]))
    assert dd.tolist() == pytest.approx([0.0, -0.5, 0.66 / 1.1 - 1], abs=1e-15)
    # a loss on the first day is a drawdown from the starting capital
    assert drawdowns(np.array([-0.02, 0.01])).tolist() == pytest.approx([-0.02, 0.98 * 1.01 - 1], abs=1e-15)


def test_compute_lp_report__current_drawdown_by_hand() -> None:
    report = report_for([0.1, -0.5, 0.2])
    assert report.current_drawdown == pytest.approx(0.66 / 1.1 - 1, abs=1e-12)
    assert report.max_drawdown == pytest.approx(-0.5, abs=1e-12)


@pytest.mark.parametrize(
    ("returns", "nulls"),
    [
        ([0.01], {"volatility", "sharpe", "sortino"}),
        ([0.01, 0.01, 0.01], {"sharpe", "sortino"}),  # no dispersion, no downside: ratios undefined
        ([0.01, 0.02], {"sortino"}),  # no losing day: infinite Sortino is reported as null
    ],
)
def test_compute_lp_report__undefined_statistics_are_null(returns: list[float], nulls: set[str]) -> None:
    data = json.loads(report_for(returns).to_json())
    for key in ("volatility", "sharpe", "sortino"):
        assert (data[key] is None) == (key in nulls), key
    assert data["max_drawdown"] == 0.0


def test_statistics__too_short_is_nan() -> None:
    empty = np.array([], dtype=np.float64)
    assert math.isnan(annual_volatility(np.array([0.01])))
    assert math.isnan(sharpe_ratio(np.array([0.01])))
    assert math.isnan(sortino_ratio(np.array([0.01])))
    assert math.isnan(cumulative_return(empty))
    assert math.isnan(downside_risk(empty))


# --------------------------------------------------------------------------------------------
# PnL blocks, attribution, bridge, hit rate: a hand-computed case
# --------------------------------------------------------------------------------------------


@pytest.fixture
def small_case() -> Any:
    """Capital 1000. Week 2026-W43 = Oct 19–25; the previous Saturday's exit is booked on Oct 19.

    | exit (UTC)       | agent | class   | pnl  | fee | booked |
    | 2026-09-30 15:00 | a     | trend   | +10  | 1   | Sep 30 (Q3, before the month)
    | 2026-10-02 15:00 | b     | revert  | -5   | 0   | Oct 2
    | 2026-10-17 12:00 | a     | trend   | +20  | 2   | Mon Oct 19 (Saturday exit)
    | 2026-10-21 15:00 | b     | (trend) | -8   | 1   | Oct 21; the signal's own class wins
    | 2026-10-22 15:00 | a     | trend   | 0    | 0   | Oct 22 (flat: not in the hit rate)
    | 2026-10-22 16:00 | x     | trend   | +99  | 0   | sandbox agent: ignored
    | 2026-10-26 15:00 | a     | trend   | +4   | 0   | next week
    """
    recon = make_recon(
        [
            {"exit_ts": "2026-09-30T15:00Z", "agent": "a", "pnl": 10.0, "fee": 1.0},
            {"exit_ts": "2026-10-02T15:00Z", "agent": "b", "pnl": -5.0},
            {"exit_ts": "2026-10-17T12:00Z", "agent": "a", "pnl": 20.0, "fee": 2.0},
            {
                "exit_ts": "2026-10-21T15:00Z",
                "agent": "b",
                "pnl": -8.0,
                "fee": 1.0,
                "strategy_class": "trend",
            },
            {"exit_ts": "2026-10-22T15:00Z", "agent": "a", "pnl": 0.0},
            {"exit_ts": "2026-10-22T16:00Z", "agent": "x", "pnl": 99.0},
            {"exit_ts": "2026-10-26T15:00Z", "agent": "a", "pnl": 4.0},
        ]
    )
    costs = make_costs(
        [
            ("2026-10-18T08:00Z", "a", 1.5),  # Sunday → Oct 19: in the week
            ("2026-10-23T08:00Z", "b", 2.5),
            ("2026-10-23T09:00Z", "x", 7.0),  # sandbox: not the fund's
            ("2026-10-25T08:00Z", "b", 4.0),  # Sunday → Oct 26: next week
        ]
    )
    as_of = ts("2026-10-26T18:00")
    agents = ["a", "b"]
    classes = {"a": "trend", "b": "revert", "x": "trend"}
    daily = daily_returns(recon, agents, 1000.0, as_of)
    records = [
        {
            "ts": "2026-10-18T10:00:00Z",
            "event": "killed",
            "subject": "b",
            "data": {"rules": ["cost_over_value"]},
        },
        {"ts": "2026-10-20T10:00:00Z", "event": "promoted", "subject": "a", "data": {"pr": 7}},
        {"ts": "2026-10-21T10:00:00Z", "event": "promotion_proposed", "subject": "c", "data": {}},
        {"ts": "2026-10-24T10:00:00Z", "event": "vetoed", "subject": "c", "data": {}},  # Saturday → Oct 26
        {"ts": "2026-10-16T10:00:00Z", "event": "killed", "subject": "z", "data": {}},
    ]
    return compute_lp_report(
        daily,
        recon,
        costs,
        agents,
        classes,
        1000.0,
        dt.date(2026, 10, 19),
        dt.date(2026, 10, 25),
        as_of,
        ledger_records=records,
    )


def test_compute_lp_report__pnl_blocks_by_hand(small_case: Any) -> None:
    pnl = small_case.pnl
    assert pnl.period == pytest.approx(12.0)  # 20 − 8 + 0
    assert pnl.mtd == pytest.approx(7.0)  # − 5 + 12
    assert pnl.qtd == pytest.approx(7.0)
    assert pnl.ytd == pytest.approx(17.0)
    assert pnl.since_inception == pytest.approx(17.0)
    r = small_case.returns
    assert r.period == pytest.approx(1.02 * 0.992 - 1)
    assert r.mtd == pytest.approx(0.995 * 1.02 * 0.992 - 1)
    assert r.since_inception == pytest.approx(1.01 * 0.995 * 1.02 * 0.992 - 1)
    assert small_case.daily[-1].day == "2026-10-23"  # the series stops at the period's end
    assert small_case.inception == "2026-09-30"


def test_compute_lp_report__bridge_by_hand(small_case: Any) -> None:
    bridge = small_case.bridge
    assert bridge.gross == pytest.approx(12.0 + 3.0)
    assert bridge.fees == pytest.approx(3.0)
    assert bridge.costs == pytest.approx(1.5 + 2.5)
    assert bridge.net == pytest.approx(bridge.gross - bridge.fees - bridge.costs)
    assert bridge.net == pytest.approx(8.0)


def test_compute_lp_report__attribution_by_hand(small_case: Any) -> None:
    agents, classes = small_case.attribution.agents, small_case.attribution.classes
    assert set(agents) == {"a", "b"}
    assert agents["a"].pnl == pytest.approx(20.0)
    assert agents["a"].costs == pytest.approx(1.5)
    assert agents["a"].net == pytest.approx(18.5)
    assert agents["a"].contribution == pytest.approx(0.02)
    assert agents["b"].pnl == pytest.approx(-8.0)
    assert agents["b"].share == pytest.approx(-8.0 / 12.0)
    assert set(classes) == {"trend", "revert"}
    assert classes["trend"].pnl == pytest.approx(12.0)  # b's signal says trend
    assert classes["revert"].pnl == pytest.approx(0.0)
    assert classes["revert"].costs == pytest.approx(2.5)  # a cost follows its agent's class


def test_compute_lp_report__hit_rate_ignores_flat_signals(small_case: Any) -> None:
    assert small_case.hit_rate == pytest.approx(0.5)  # +20 won, −8 lost, 0 ignored
    assert small_case.signals.model_dump() == {"realized": 3, "won": 1, "lost": 1, "flat": 1}


def test_compute_lp_report__promotion_log_from_the_period_to_as_of(small_case: Any) -> None:
    log = [(e.event, e.subject) for e in small_case.log]
    # Sunday event → Monday Oct 19 (in); Saturday veto → Monday Oct 26, before as_of (in, like the
    # strategies, which are shown as of the data); Oct 16 kill before the period (out)
    assert log == [("killed", "b"), ("promoted", "a"), ("vetoed", "c")]
    # the heading starts where the first row does: the Sunday of that kill, not the period's Monday
    assert small_case.log_start == "2026-10-18" < small_case.period.start.isoformat()
    assert small_case.log[0].ts.startswith("2026-10-18")
    assert small_case.log[0].detail == "rules: cost_over_value"
    assert set(LOG_EVENTS) == {
        "promoted",
        "vetoed",
        "promotion_withdrawn",
        "demotion_proposed",
        "demoted",
        "demotion_vetoed",
        "demotion_withdrawn",
        "promotion_held",
        "demotion_held",
        "promoted_by_hand",
        "left_prod_by_hand",
        "killed",
    }


def test_compute_lp_report__json_has_the_spec_shape(small_case: Any) -> None:
    data = json.loads(small_case.to_json())
    spec_keys = {
        "period",
        "pnl",
        "volatility",
        "sharpe",
        "sortino",
        "max_drawdown",
        "current_drawdown",
        "best_day",
        "worst_day",
        "hit_rate",
        "attribution",
        "bridge",
        "daily",
    }
    assert spec_keys <= set(data)
    assert {"start", "end"} <= set(data["period"])
    assert data["period"] == {
        "start": "2026-10-19",
        "end": "2026-10-25",
        "key": "weekly:2026-W43",
        "kind": "weekly",
        "label": "week 2026-W43 (Oct 19 – Oct 25)",
        "first_day": "2026-10-19",  # the weekdays booked in the period
        "last_day": "2026-10-23",
    }
    assert set(data["pnl"]) == {"period", "mtd", "qtd", "ytd", "since_inception"}
    assert set(data["attribution"]) == {"agents", "classes"}
    assert set(data["bridge"]) == {"gross", "fees", "costs", "net"}
    assert data["daily"][0] == {"date": "2026-09-30", "return": pytest.approx(0.01)}


def test_compute_lp_report__attribution_sums_to_the_total() -> None:
    rng = np.random.default_rng(3)
    days = pd.bdate_range("2026-09-01", "2026-10-30", tz=UTC)
    agents = [f"agent-{i}" for i in range(6)]
    classes = {name: ("alpha", "beta", "gamma")[i % 3] for i, name in enumerate(agents)}
    rows = [
        {
            "exit_ts": days[int(rng.integers(len(days)))] + pd.Timedelta(hours=int(rng.integers(0, 72))),
            "agent": agents[int(rng.integers(len(agents)))],
            "pnl": float(rng.normal(5, 100)),
            "fee": float(rng.uniform(0, 2)),
            "strategy_class": None if rng.random() < 0.7 else "beta",
        }
        for _ in range(400)
    ]
    recon = make_recon(rows)
    costs = make_costs(
        [
            (str(days[int(rng.integers(len(days)))]), agents[int(rng.integers(6))], float(rng.uniform(0, 9)))
            for _ in range(80)
        ]
    )
    as_of = ts("2026-11-02T12:00")
    daily = daily_returns(recon, agents, CAPITAL, as_of)
    report = compute_lp_report(
        daily, recon, costs, agents, classes, CAPITAL, dt.date(2026, 10, 5), dt.date(2026, 10, 25), as_of
    )
    total = report.pnl.period
    assert total is not None
    for side in (report.attribution.agents, report.attribution.classes):
        assert sum(r.pnl for r in side.values()) == pytest.approx(total, abs=1e-9)
        assert sum(r.fees for r in side.values()) == pytest.approx(report.bridge.fees, abs=1e-9)
        assert sum(r.costs for r in side.values()) == pytest.approx(report.bridge.costs, abs=1e-9)
        assert sum(r.contribution for r in side.values()) == pytest.approx(total / CAPITAL, abs=1e-12)
        assert sum(r.share or 0.0 for r in side.values()) == pytest.approx(1.0, abs=1e-9)
    assert report.bridge.gross - report.bridge.fees == pytest.approx(total, abs=1e-9)
    assert report.bridge.net == pytest.approx(
        sum(r.net for r in report.attribution.agents.values()), abs=1e-9
    )
    in_period = [d.value for d in report.daily if "2026-10-05" <= d.day <= "2026-10-25"]
    assert sum(in_period) * CAPITAL == pytest.approx(total, abs=1e-6)
    assert report.returns.period == pytest.approx(float(np.prod(1 + np.array(in_period)) - 1), abs=1e-12)
    assert report.period.kind == "custom"


def test_compute_lp_report__period_before_inception_has_zero_pnl_and_null_returns() -> None:
    recon = recon_for_returns([0.01, 0.02], start="2026-10-26")
    as_of = ts("2026-10-28T12:00")
    daily = daily_returns(recon, ["momo"], CAPITAL, as_of)
    report = compute_lp_report(
        daily, recon, make_costs(), ["momo"], {}, CAPITAL, dt.date(2026, 10, 19), dt.date(2026, 10, 25), as_of
    )
    assert report.pnl.period == 0.0
    assert report.returns.period is None
    assert report.daily == []
    assert report.attribution.agents["momo"].pnl == 0.0
    assert report.strategies == Strategies()


# --------------------------------------------------------------------------------------------
# Periods and cadence
# --------------------------------------------------------------------------------------------


def test_due_period__four_daily_runs_in_a_day_share_one_key() -> None:
    runs = [ts(f"2026-10-30T{hour:02d}:00") for hour in (0, 6, 12, 18)]
    periods = [due_period(run, "daily", "mon") for run in runs]
    assert {p.key for p in periods if p is not None} == {"daily:2026-10-29"}
    assert all(p is not None and p.start == p.end == dt.date(2026, 10, 29) for p in periods)


def test_due_period__daily_monday_reports_friday_and_weekends_are_quiet() -> None:
    monday = due_period(ts("2026-10-26T06:00"), "daily")
    assert monday is not None
    assert monday.key == "daily:2026-10-23"
    assert due_period(ts("2026-10-24T12:00"), "daily") is None
    assert due_period(ts("2026-10-25T23:59:59"), "daily") is None


def test_due_period__weekly_on_the_wrong_weekday_is_none() -> None:
    assert due_period(ts("2026-10-27T06:00"), "weekly", "mon") is None
    assert due_period(ts("2026-10-26T06:00"), "weekly", "fri") is None


def test_due_period__weekly_on_the_right_weekday_covers_the_previous_week() -> None:
    keys = set()
    for hour in (0, 6, 12, 18):
        period = due_period(ts(f"2026-10-26T{hour:02d}:00"), "weekly", "mon")
        assert period is not None
        assert (period.start, period.end) == (dt.date(2026, 10, 19), dt.date(2026, 10, 25))
        keys.add(period.key)
    assert keys == {"weekly:2026-W43"}


def test_due_period__weekly_on_a_sunday_reports_the_week_before() -> None:
    period = due_period(ts("2026-10-25T12:00"), "weekly", "sun")
    assert period is not None
    assert period.key == "weekly:2026-W42"


def test_due_period__iso_week_across_the_new_year() -> None:
    period = due_period(ts("2027-01-04T09:00"), "weekly", "mon")
    assert period is not None
    assert period.key == "weekly:2026-W53"
    assert (period.start, period.end) == (dt.date(2026, 12, 28), dt.date(2027, 1, 3))
    assert period.label == "week 2026-W53 (Dec 28, 2026 – Jan 3, 2027)"


def test_due_period__rejects_unknown_weekday() -> None:
    with pytest.raises(ValueError, match="weekday"):
        due_period(ts("2026-10-26T06:00"), "weekly", "monday")


def test_period_helpers() -> None:
    assert last_complete_period(ts("2026-10-30T20:00"), "weekly").key == "weekly:2026-W43"
    assert last_complete_period(ts("2026-10-25T20:00"), "daily").key == "daily:2026-10-23"
    assert period_containing(dt.date(2026, 10, 28), "weekly").key == "weekly:2026-W44"
    assert Period.between(dt.date(2026, 10, 1), dt.date(2026, 10, 31)).key == "custom:2026-10-01..2026-10-31"
    with pytest.raises(ValueError, match="before it starts"):
        Period.between(dt.date(2026, 10, 2), dt.date(2026, 10, 1))
    # ISO week 53 spans the year end: both years said (its dates alone read like one year's)
    w53 = period_containing(dt.date(2026, 12, 31), "weekly")
    assert (w53.key, w53.label) == ("weekly:2026-W53", "week 2026-W53 (Dec 28, 2026 – Jan 3, 2027)")
    assert period_containing(dt.date(2027, 1, 4), "weekly").label == "week 2027-W01 (Jan 4 – Jan 10)"


def test_period_sentence__a_week_across_the_year_end_names_both_years(small_case: Any) -> None:
    """ "from Monday Dec 28 to Friday Jan 1, 2027" read as a span of one year (a calendar audit)."""
    w53 = period_containing(dt.date(2026, 12, 31), "weekly")
    period = PeriodInfo(**w53.model_dump(), first_day=dt.date(2026, 12, 28), last_day=dt.date(2027, 1, 1))
    sentence = period_sentence(small_case.model_copy(update={"period": period}))
    assert sentence.startswith(
        "Period: week 2026-W53 (Dec 28, 2026 – Jan 3, 2027), the trades closed "
        "from Monday Dec 28, 2026 to Friday Jan 1, 2027 (UTC;"
    )
    assert "from Monday Oct 19 to Friday Oct 23, 2026 (UTC;" in period_sentence(small_case)


@pytest.mark.parametrize(
    ("monday", "sunday", "exits"),
    [
        # Oct 26 – Nov 1, 2026: every trading day in October, the Sunday opens November
        ("2026-10-26", "2026-11-01", ["2026-09-30T15:00Z", "2026-10-27T15:00Z", "2026-10-30T15:00Z"]),
        # Dec 27, 2027 – Jan 2, 2028: the last week of 2027; Saturday and Sunday are 2028
        ("2027-12-27", "2028-01-02", ["2027-03-31T15:00Z", "2027-12-28T15:00Z", "2027-12-31T15:00Z"]),
    ],
)
def test_compute_lp_report__a_week_ending_in_a_new_month_reports_its_own_month(
    monday: str, sunday: str, exits: list[str]
) -> None:
    """Month, quarter and year to date are those of the week's last trading day (Friday): a week
    whose Sunday is the 1st must not show $0 to date beside a week of gains."""
    recon = make_recon([{"exit_ts": e, "pnl": p} for e, p in zip(exits, (100.0, 30.0, 12.0), strict=True)])
    as_of = ts(f"{sunday}T23:00")
    daily = daily_returns(recon, ["momo"], CAPITAL, as_of)
    report = compute_lp_report(
        daily, recon, make_costs(), ["momo"], {"momo": "trend"}, CAPITAL,
        dt.date.fromisoformat(monday), dt.date.fromisoformat(sunday), as_of,
    )  # fmt: skip
    assert report.pnl.period == pytest.approx(42.0)
    assert report.pnl.mtd == pytest.approx(42.0)  # the first exit is in an earlier month
    assert report.pnl.qtd == pytest.approx(42.0)
    assert report.pnl.ytd == pytest.approx(142.0)
    assert report.returns.mtd == pytest.approx(report.returns.period)
