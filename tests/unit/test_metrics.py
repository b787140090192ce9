"""SPEC §3.2 metrics on hand-built reconciled frames (docs/data-model.md columns).

Every expected number is written out with its arithmetic, so a reader can check the test
against the SPEC table without running anything.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from typing import Any

import empyrical
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recon_factories import (
    AS_OF,
    HOUR,
    REGISTRY,
    SIGNAL_COLUMNS,
    before,
    make_artifacts,
    make_config,
    make_registry,
    metrics_of,
    pending,
    realized,
    recon_frame,
)
from sklearn.metrics import accuracy_score, brier_score_loss

from metasup.evaluate.groups import most_common_class
from metasup.evaluate.metrics import compute_metrics
from metasup.evaluate.regimes import regime_codes_at_signals
from metasup.evaluate.row_facts import status_at
from metasup.evaluate.windows import Windows
from metasup.model.artifacts import Artifacts, until
from metasup.model.registry import UNCLASSIFIED, Registry
from metasup.model.review import Metrics

# --------------------------------------------------------------------------------------------
# Metrics over signals realized in W
# --------------------------------------------------------------------------------------------


def test_compute_metrics__realized_metrics_of_one_agent() -> None:
    rows = [
        realized("alpha", exited=1, ret=0.10, confidence=0.9, notional=10_000, excess=0.08),
        realized("alpha", exited=2, ret=-0.05, confidence=0.8, notional=30_000, excess=-0.05),
        realized("alpha", exited=3, ret=0.20, confidence=0.6, notional=10_000, excess=0.15),
        realized("alpha", exited=4, ret=0.0, confidence=0.7, notional=10_000, excess=-0.01),
    ]
    metrics = metrics_of(rows, config=make_config(promotion={"min_decay_signals": 3})).agents["alpha"]

    # pnl = 10000·0.10 + 30000·(−0.05) + 10000·0.20 + 10000·0 = 1000 − 1500 + 2000 + 0
    assert metrics.realized_pnl_30d == pytest.approx(1500.0)
    # alpha = (10000·0.08 + 30000·(−0.05) + 10000·0.15 + 10000·(−0.01)) / 60000
    #       = (800 − 1500 + 1500 − 100) / 60000 = 700 / 60000
    assert metrics.alpha_30d == pytest.approx(700 / 60_000)
    # r ≠ 0: the first three; wins: 0.10 and 0.20 → 2/3
    assert metrics.hit_rate == pytest.approx(2 / 3)
    # mean confidence of all four realized: (0.9 + 0.8 + 0.6 + 0.7) / 4 = 0.75
    assert metrics.mean_confidence == pytest.approx(0.75)
    # decay over r ≠ 0: mean c = (0.9 + 0.8 + 0.6)/3 = 2.3/3; minus 2/3 → 0.3/3 = 0.1
    assert metrics.confidence_decay == pytest.approx(0.1)
    # brier = ((0.9−1)² + (0.8−0)² + (0.6−1)²)/3 = (0.01 + 0.64 + 0.16)/3 = 0.27
    assert metrics.brier == pytest.approx(0.27)
    # r: 0.10, −0.05, 0.20, 0.0; mean 0.0625; deviations 0.0375, −0.1125, 0.1375, −0.0625
    # squares sum = 0.00140625 + 0.01265625 + 0.01890625 + 0.00390625 = 0.036875; ddof 1 → /3
    assert metrics.volatility == pytest.approx(math.sqrt(0.036875 / 3))
    assert (metrics.signals_realized, metrics.signals_emitted, metrics.coverage) == (4, 4, 1.0)


def test_compute_metrics__window_boundaries_are_open_left_closed_right() -> None:
    rows = [
        # exit exactly at as_of − 30d: outside W
        realized("alpha", exited=30, ret=0.50),
        # exit exactly at as_of: inside W
        realized("alpha", exited=0, ret=0.01, emitted=2),
        # emitted exactly at as_of − 30d (outside W as an emission), realized inside W
        realized("alpha", exited=29, ret=0.02, emitted=30),
    ]
    metrics = metrics_of(
        rows,
        costs=[(30, "alpha", 100.0, "run"), (0, "alpha", 1.0, "run"), (29.5, "alpha", 2.0, "cost")],
        evals=[(30, "alpha", 0.0), (0, "alpha", 90.0)],
        violations=[(30, "alpha"), (0, "alpha")],
    ).agents["alpha"]

    # pnl: only the second and third: 10000·0.01 + 10000·0.02 = 100 + 200
    assert metrics.realized_pnl_30d == pytest.approx(300.0)
    assert metrics.signals_realized == 2
    # emitted in W: only the second (ts = as_of − 2d); the third's ts is the excluded boundary
    assert metrics.signals_emitted == 1
    # cost at as_of − 30d excluded: 1 + 2
    assert metrics.cost_30d == pytest.approx(3.0)
    assert metrics.behavioral_score == pytest.approx(90.0)
    assert metrics.safety_violations_30d == 1


def test_compute_metrics__alpha_per_period() -> None:
    rows = [
        realized("alpha", exited=0, ret=0.02),  # P0 = (as_of−7d, as_of]
        realized("alpha", exited=7, ret=-0.01),  # exactly as_of − 7d: P1, not P0
        realized("alpha", exited=10, ret=0.04, notional=30_000),  # P1
        realized("alpha", exited=21, ret=-0.03),  # exactly as_of − 21d: P3, not P2
        realized("alpha", exited=28, ret=0.50),  # exactly as_of − 28d: in W but after P3
    ]
    metrics = metrics_of(rows).agents["alpha"]

    # P0: 200/10000; P1: (−100 + 1200)/40000 = 0.0275; P2: none; P3: −300/10000
    assert metrics.alpha_period == pytest.approx([0.02, 0.0275, None, -0.03])
    # W: (200 − 100 + 1200 − 300 + 5000) / 70000
    assert metrics.alpha_30d == pytest.approx(6000 / 70_000)


def test_compute_metrics__alpha_is_null_without_realized_signals() -> None:
    metrics = metrics_of([pending("alpha", emitted=3)]).agents["alpha"]

    assert metrics.alpha_30d is None
    assert metrics.alpha_period == [None, None, None, None]
    assert metrics.mean_confidence is None
    assert metrics.realized_pnl_30d == 0.0


def test_compute_metrics__hit_rate_and_brier_null_when_every_return_is_zero() -> None:
    rows = [realized("alpha", exited=1, ret=0.0), realized("alpha", exited=2, ret=0.0)]
    metrics = metrics_of(rows).agents["alpha"]

    assert (metrics.hit_rate, metrics.brier, metrics.confidence_decay) == (None, None, None)
    assert metrics.mean_confidence == pytest.approx(0.5)
    assert metrics.volatility == 0.0


def test_compute_metrics__volatility_null_under_two_signals() -> None:
    metrics = metrics_of([realized("alpha", exited=1, ret=0.03)]).agents["alpha"]

    assert metrics.volatility is None
    assert metrics.hit_rate == 1.0


@pytest.mark.parametrize(("decisive", "expected"), [(9, None), (10, 0.3)])
def test_compute_metrics__confidence_decay_null_under_min_decay_signals(
    decisive: int, expected: float | None
) -> None:
    # `decisive` winning signals at c = 0.8 and one losing at c = 0.8 would change the rate, so:
    # all lose (r < 0) with c = 0.3 → mean c − hit rate = 0.3 − 0 = 0.3. Zero returns never count.
    rows = [realized("alpha", exited=1 + i, ret=-0.01, confidence=0.3) for i in range(decisive)]
    rows += [realized("alpha", exited=1, ret=0.0, confidence=0.3) for _ in range(5)]
    metrics = metrics_of(rows).agents["alpha"]  # default min_decay_signals = 10

    assert metrics.confidence_decay == (None if expected is None else pytest.approx(expected))
    # brier is defined as soon as there is one such signal: (0.3 − 0)² = 0.09
    assert metrics.brier == pytest.approx(0.09)


def test_compute_metrics__confidence_decay_clipped_at_zero() -> None:
    # all three win with c = 0.2: mean c − hit rate = 0.2 − 1.0 = −0.8 → clipped to 0
    rows = [realized("alpha", exited=i, ret=0.01, confidence=0.2) for i in (1, 2, 3)]
    metrics = metrics_of(rows, config=make_config(promotion={"min_decay_signals": 3})).agents["alpha"]

    assert metrics.confidence_decay == 0.0


# --------------------------------------------------------------------------------------------
# Telemetry metrics
# --------------------------------------------------------------------------------------------


def test_compute_metrics__telemetry_metrics_in_window() -> None:
    metrics = metrics_of(
        [],
        costs=[(1, "alpha", 1.5, "run"), (10, "alpha", 2.5, "cost"), (31, "alpha", 100.0, "run")],
        evals=[(1, "alpha", 80.0), (5, "alpha", 95.0), (20, "alpha", 95.0), (40, "alpha", 0.0)],
        violations=[(3, "alpha"), (4, "alpha"), (35, "alpha")],
    ).agents["alpha"]

    assert metrics.cost_30d == pytest.approx(4.0)  # run 1.5 + cost 2.5; the 31-day-old run is out
    assert metrics.behavioral_score == pytest.approx(90.0)  # (80 + 95 + 95) / 3
    assert metrics.safety_violations_30d == 2


COST_DRIFT_SIGNALS = [
    pending("alpha", emitted=1),  # P0
    pending("alpha", emitted=2),  # P0
    pending("alpha", emitted=7),  # exactly as_of − 7d: reference W \ P0
    pending("alpha", emitted=10),
    pending("alpha", emitted=20),
    pending("alpha", emitted=29),
    pending("alpha", emitted=30),  # exactly as_of − 30d: outside W
]
COST_DRIFT_COSTS = [
    (0.5, "alpha", 20.0, "run"),  # P0
    (6, "alpha", 10.0, "cost"),  # P0
    (7, "alpha", 15.0, "run"),  # reference
    (25, "alpha", 25.0, "cost"),  # reference
    (30, "alpha", 100.0, "run"),  # outside W
]


def test_compute_metrics__cost_drift() -> None:
    metrics = metrics_of(COST_DRIFT_SIGNALS, costs=COST_DRIFT_COSTS).agents["alpha"]

    # P0: cost 20 + 10 = 30 over 2 signals = 15 per signal
    # W\P0: cost 15 + 25 = 40 over 4 signals (7d, 10d, 20d, 29d) = 10 per signal
    # drift = 15 / 10 − 1 = 0.5
    assert metrics.cost_drift == pytest.approx(0.5)
    assert metrics.cost_30d == pytest.approx(70.0)
    assert metrics.signals_emitted == 6


@pytest.mark.parametrize(
    ("signals", "costs"),
    [
        pytest.param(COST_DRIFT_SIGNALS[2:], COST_DRIFT_COSTS, id="no-signal-in-P0"),
        pytest.param(COST_DRIFT_SIGNALS[:2], COST_DRIFT_COSTS, id="no-signal-in-reference"),
        pytest.param(COST_DRIFT_SIGNALS, COST_DRIFT_COSTS[:2], id="no-cost-in-reference"),
    ],
)
def test_compute_metrics__cost_drift_null(
    signals: list[dict[str, Any]], costs: list[tuple[float, str, float, str]]
) -> None:
    assert metrics_of(signals, costs=costs).agents["alpha"].cost_drift is None


# --------------------------------------------------------------------------------------------
# Counts and coverage
# --------------------------------------------------------------------------------------------


def test_compute_metrics__counts_and_coverage() -> None:
    rows = [
        realized("alpha", exited=1, ret=0.01, emitted=3),
        realized("alpha", exited=2, ret=0.01, emitted=4),
        realized("alpha", exited=5, ret=0.01, emitted=35),  # realized in W, emitted before W
        pending("alpha", emitted=2),
        pending("alpha", emitted=6, status="no_price"),
        pending("alpha", emitted=40, status="no_price"),  # emitted before W
    ]
    metrics = metrics_of(rows).agents["alpha"]

    assert (metrics.signals_emitted, metrics.signals_realized) == (4, 3)
    assert (metrics.signals_open, metrics.signals_no_price) == (1, 1)
    # over signals emitted in W: realized 2 / (realized 2 + no_price 1)
    assert metrics.coverage == pytest.approx(2 / 3)


def test_compute_metrics__coverage_null_when_nothing_realized_or_lost() -> None:
    registry = make_registry(agents=[{"name": "alpha"}, {"name": "quiet"}])
    table = metrics_of([pending("alpha", emitted=2), pending("alpha", emitted=3)], registry=registry)

    assert table.agents["alpha"].coverage is None  # only open signals: 0 / (0 + 0)
    assert table.agents["alpha"].signals_open == 2
    assert table.agents["quiet"].coverage is None  # no signal at all


# --------------------------------------------------------------------------------------------
# Regimes
# --------------------------------------------------------------------------------------------


def test_compute_metrics__regime_mismatch_uses_symbol_then_global_regime() -> None:
    registry = make_registry(agents=[{"name": "trend", "regimes": ["trending"]}])
    regimes = [
        (27, "ranging", None),  # global from as_of − 27d
        (20, "trending", "AAA"),  # AAA from as_of − 20d
        (6, "trending", None),  # global from as_of − 6d
    ]
    rows = [
        # P3 (21–28d): AAA has no event of its own yet → global ranging → mismatch: 1/1 → counts
        pending("trend", emitted=25, symbol="AAA"),
        # P2 (14–21d): AAA trending (own event); BBB → global ranging: 1/2 = 0.5 ≥ 0.5 → counts
        pending("trend", emitted=15, symbol="AAA"),
        pending("trend", emitted=15, symbol="BBB"),
        # P1 (7–14d): AAA, AAA trending; BBB ranging: 1/3 < 0.5 → does not count
        pending("trend", emitted=10, symbol="AAA"),
        pending("trend", emitted=9, symbol="AAA"),
        pending("trend", emitted=10, symbol="BBB"),
        # P0: BBB exactly at the global 'trending' event (at or before ts → trending), CCC trending
        pending("trend", emitted=6, symbol="BBB"),
        pending("trend", emitted=1, symbol="CCC"),
    ]
    metrics = metrics_of(rows, registry=registry, regimes=regimes).agents["trend"]

    assert metrics.regime_mismatch_periods == 2


def test_compute_metrics__regime_mismatch_share_is_configurable() -> None:
    registry = make_registry(agents=[{"name": "trend", "regimes": ["trending"]}])
    regimes = [(40, "ranging", None), (20, "trending", "AAA")]
    # P0: 1 of 3 signals in ranging (BBB) → 1/3
    rows = [pending("trend", emitted=e, symbol=s) for e, s in ((1, "AAA"), (2, "AAA"), (3, "BBB"))]

    def periods(share: float) -> int:
        config = make_config(retirement={"mismatch_share": share})
        table = metrics_of(rows, registry=registry, config=config, regimes=regimes)
        return table.agents["trend"].regime_mismatch_periods

    assert (periods(0.5), periods(1 / 3), periods(0.3)) == (0, 1, 1)


def test_compute_metrics__no_regime_event_or_no_declaration_is_never_a_mismatch() -> None:
    registry = make_registry(agents=[{"name": "trend", "regimes": ["trending"]}, {"name": "anything"}])
    regimes = [(10, "ranging", None)]
    rows = [
        pending("trend", emitted=20),  # P2: before any regime event → not a mismatch
        pending("anything", emitted=20),
        pending("anything", emitted=3),  # P0 in ranging, but 'anything' declares no regime
    ]
    table = metrics_of(rows, registry=registry, regimes=regimes)

    assert table.agents["trend"].regime_mismatch_periods == 0
    assert table.agents["anything"].regime_mismatch_periods == 0


def test_compute_metrics__class_judges_each_signal_by_its_own_agent() -> None:
    registry = make_registry(
        agents=[
            {"name": "a", "strategy_class": "momentum"},  # inherits the class's [trending]
            {"name": "b", "strategy_class": "momentum", "regimes": ["ranging"]},
        ],
        classes=[{"name": "momentum", "regimes": ["trending"]}],
    )
    regimes = [(40, "ranging", None)]  # ranging everywhere in the window
    rows = [
        pending("a", emitted=1),  # P0: a mismatches, b fits → class 1/2 → counts
        pending("b", emitted=2),
        pending("a", emitted=8),  # P1: a mismatches, b, b fit → class 1/3 → does not count
        pending("b", emitted=9),
        pending("b", emitted=10),
    ]
    table = metrics_of(rows, registry=registry, regimes=regimes)

    assert table.agents["a"].regime_mismatch_periods == 2
    assert table.agents["b"].regime_mismatch_periods == 0
    assert table.classes["momentum"].regime_mismatch_periods == 1


def test_compute_metrics__unregistered_agent_is_judged_by_its_derived_class_regimes() -> None:
    registry = make_registry(classes=[{"name": "momentum", "regimes": ["trending"]}])
    regimes = [(40, "ranging", None)]
    # 'ghost' is not registered; its signals say momentum, which declares [trending]
    rows = [pending("ghost", emitted=e, strategy_class="momentum") for e in (1, 8)]
    table = metrics_of(rows, registry=registry, regimes=regimes)

    assert table.agent_class["ghost"] == "momentum"
    assert table.agents["ghost"].regime_mismatch_periods == 2  # P0 and P1, each 1/1 in ranging


def test_regime_codes_at_signals__symbol_event_beats_newer_global_event() -> None:
    signals = recon_frame(
        [
            pending("x", emitted=1, symbol="AAA"),  # AAA event at 10d beats the global one at 5d
            pending("x", emitted=1, symbol="BBB"),  # no BBB event → global at 5d
            pending("x", emitted=12, symbol="AAA"),  # before AAA's own event → global at 20d
            pending("x", emitted=30, symbol="AAA"),  # before every event → none
        ]
    )
    regimes = make_artifacts(
        signals,
        regimes=[(20, "calm", None), (10, "trending", "AAA"), (5, "volatile", None), (5, "ranging", None)],
    ).regimes
    names = pd.Index(["calm", "ranging", "trending", "volatile"], dtype=object)

    codes = regime_codes_at_signals(signals, regimes, names)

    # two global events at the same time: the later line ('ranging') wins
    assert codes.tolist() == [2, 1, 0, -1]


_SYMBOLS = st.sampled_from(["AAA", "BBB", "CCC", None])
_REGIMES = st.sampled_from(["calm", "ranging", "trending", None])


@settings(max_examples=200, deadline=None)
@given(
    signal_rows=st.lists(st.tuples(st.integers(0, 12), _SYMBOLS), min_size=1, max_size=30),
    event_rows=st.lists(
        st.tuples(st.integers(0, 12), st.sampled_from(["AAA", "BBB", None]), _REGIMES), max_size=15
    ),
)
def test_regime_codes_at_signals__match_a_scan_of_every_event(
    signal_rows: list[tuple[int, str | None]], event_rows: list[tuple[int, str | None, str | None]]
) -> None:
    """Against a plain scan: the last line among the latest events at or before the signal, its
    symbol's first, else the global ones; an event whose regime is missing means none."""
    start = pd.Timestamp("2026-01-01", tz="UTC")
    stamps = pd.Series([start + pd.Timedelta(hours=h) for h, _ in signal_rows], dtype="datetime64[ns, UTC]")
    signals = pd.DataFrame({"ts": stamps, "symbol": pd.Series([s for _, s in signal_rows], dtype="str")})
    regimes = pd.DataFrame(
        {
            "ts": pd.Series(
                [start + pd.Timedelta(hours=h) for h, _, _ in event_rows], dtype="datetime64[ns, UTC]"
            ),
            "regime": pd.Series([r for _, _, r in event_rows], dtype="str"),
            "symbol": pd.Series([s for _, s, _ in event_rows], dtype="str"),
        }
    )
    names = pd.Index(["calm", "ranging", "trending"], dtype=object)

    def scan(hour: int, symbol: str | None) -> int:
        def latest(pick: list[tuple[int, int, str | None]]) -> int | None:
            if not pick:
                return None
            regime = max(pick)[2]  # the latest time, then the latest line
            return -1 if regime is None else names.get_loc(regime)

        seen = [(h, line, r) for line, (h, s, r) in enumerate(event_rows) if h <= hour]
        own = latest([e for e in seen if symbol is not None and event_rows[e[1]][1] == symbol])
        if own is not None:
            return own
        found = latest([e for e in seen if event_rows[e[1]][1] is None])
        return -1 if found is None else found

    expected = [scan(hour, symbol) for hour, symbol in signal_rows]

    assert regime_codes_at_signals(signals, regimes, names).tolist() == expected


# --------------------------------------------------------------------------------------------
# Agents, classes, pooling
# --------------------------------------------------------------------------------------------


def test_compute_metrics__unregistered_agents_appear() -> None:
    registry = make_registry(
        agents=[
            {"name": "alpha", "strategy_class": "momentum"},
            {"name": "idle", "strategy_class": "momentum"},
        ],
        classes=[{"name": "momentum"}],
    )
    rows = [
        realized("ghost", exited=1, ret=0.01, strategy_class="carry"),
        realized("ghost", exited=2, ret=0.01, strategy_class="carry"),
        realized("ghost", exited=3, ret=0.01, strategy_class="value"),
        realized("ghost", exited=4, ret=0.01),  # no class of its own → the agent's (carry)
    ]
    table = metrics_of(rows, registry=registry, costs=[(1, "lurker", 3.0, "run")])

    assert list(table.agents) == ["alpha", "idle", "ghost", "lurker"]
    assert table.agent_class == {
        "alpha": "momentum",
        "idle": "momentum",
        "ghost": "carry",
        "lurker": UNCLASSIFIED,
    }
    assert table.agents["idle"] == Metrics()
    assert table.agents["ghost"].signals_realized == 4
    assert list(table.classes) == ["momentum", "carry", UNCLASSIFIED, "value"]
    assert (table.classes["carry"].signals_realized, table.classes["value"].signals_realized) == (3, 1)
    assert table.classes[UNCLASSIFIED].cost_30d == pytest.approx(3.0)
    assert table.classes["momentum"] == Metrics()


def test_compute_metrics__class_pools_its_signals_and_its_agents_telemetry() -> None:
    registry = make_registry(
        agents=[{"name": "a", "strategy_class": "momentum"}, {"name": "b", "strategy_class": "carry"}],
        classes=[{"name": "momentum"}, {"name": "carry"}],
    )
    rows = [
        realized("a", exited=1, ret=0.02),  # momentum (agent's class)
        realized("a", exited=2, ret=-0.01),  # momentum
        realized("b", exited=1, ret=0.05, strategy_class="momentum"),  # momentum (its own)
        realized("b", exited=3, ret=0.03),  # carry
    ]
    table = metrics_of(
        rows,
        registry=registry,
        costs=[(1, "a", 5.0, "run"), (1, "b", 7.0, "run")],
        evals=[(1, "a", 60.0), (2, "b", 100.0)],
        violations=[(1, "b")],
    )
    momentum, carry = table.classes["momentum"], table.classes["carry"]

    # signals: 10000·(0.02 − 0.01 + 0.05) = 600 for momentum, 300 for carry
    assert (momentum.realized_pnl_30d, carry.realized_pnl_30d) == pytest.approx((600.0, 300.0))
    assert (momentum.signals_realized, carry.signals_realized) == (3, 1)
    assert momentum.hit_rate == pytest.approx(2 / 3)
    # telemetry follows the agent's class, whatever class its signals carry
    assert (momentum.cost_30d, carry.cost_30d) == pytest.approx((5.0, 7.0))
    assert (momentum.behavioral_score, carry.behavioral_score) == pytest.approx((60.0, 100.0))
    assert (momentum.safety_violations_30d, carry.safety_violations_30d) == (0, 1)
    # an agent's metrics cover all its signals, whichever class they count for
    assert table.agents["b"].realized_pnl_30d == pytest.approx(800.0)


def test_most_common_class__tie_goes_to_alphabetically_first() -> None:
    signals = recon_frame(
        [
            pending("x", emitted=1, strategy_class="value"),
            pending("x", emitted=2, strategy_class="carry"),
            pending("y", emitted=1, strategy_class="value"),
            pending("y", emitted=2, strategy_class="value"),
            pending("y", emitted=3, strategy_class="carry"),
            pending("z", emitted=1),
        ]
    )

    assert most_common_class(signals) == {"x": "carry", "y": "value"}


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", None]), st.sampled_from(["value", "carry", "Émoji", "", None])
        ),
        max_size=40,
    )
)
def test_most_common_class__matches_a_count_of_every_row(rows: list[tuple[str | None, str | None]]) -> None:
    signals = pd.DataFrame(
        {
            "agent": pd.Series([a for a, _ in rows], dtype="str"),
            "strategy_class": pd.Series([c for _, c in rows], dtype="str"),
        }
    )
    expected: dict[str, str] = {}
    for agent in {a for a, c in rows if a is not None and c is not None}:
        counts = Counter(c for a, c in rows if a == agent and c is not None)
        expected[agent] = min(counts, key=lambda klass: (-counts[klass], klass))

    assert most_common_class(signals) == expected


def test_compute_metrics__empty_inputs_give_empty_metrics() -> None:
    table = metrics_of([])

    assert table.agents == {"alpha": Metrics()}
    assert table.classes == {"momentum": Metrics()}
    assert table.agent_class == {"alpha": "momentum"}


# --------------------------------------------------------------------------------------------
# Cross-checks against reference implementations
# --------------------------------------------------------------------------------------------


def test_compute_metrics__pooled_volatility_matches_numpy_for_agents_and_classes() -> None:
    # Three agents with very different mean returns; agent "b" also emits for the other class.
    # Volatility is summed per (agent, class) cell and pooled: it must equal the plain sample
    # standard deviation of each agent's and each class's returns.
    registry = make_registry(
        agents=[
            {"name": "a", "strategy_class": "momentum"},
            {"name": "b", "strategy_class": "momentum"},
            {"name": "c", "strategy_class": "carry"},
        ],
        classes=[{"name": "momentum"}, {"name": "carry"}],
    )
    rng = np.random.default_rng(7)
    returns = {
        ("a", None): rng.normal(0.03, 0.01, 40),
        ("b", None): rng.normal(-0.02, 0.02, 30),
        ("b", "carry"): rng.normal(0.10, 0.005, 20),
        ("c", None): rng.normal(0.0, 0.03, 25),
    }
    rows = [
        realized(agent, exited=float(day), ret=float(ret), strategy_class=own)
        for (agent, own), values in returns.items()
        for day, ret in zip(np.linspace(0.5, 29.5, len(values)), values, strict=True)
    ]
    table = metrics_of(rows, registry=registry)

    def std(*keys: tuple[str, str | None]) -> float:
        return float(np.std(np.concatenate([returns[key] for key in keys]), ddof=1))

    assert table.agents["a"].volatility == pytest.approx(std(("a", None)), rel=1e-12)
    assert table.agents["b"].volatility == pytest.approx(std(("b", None), ("b", "carry")), rel=1e-12)
    assert table.classes["momentum"].volatility == pytest.approx(std(("a", None), ("b", None)), rel=1e-12)
    assert table.classes["carry"].volatility == pytest.approx(std(("b", "carry"), ("c", None)), rel=1e-12)


def test_compute_metrics__cross_check_with_numpy_empyrical_and_sklearn() -> None:
    rng = np.random.default_rng(20240331)
    n = 400
    returns = np.round(rng.normal(0.0, 0.02, n), 4)  # rounding makes some returns exactly 0
    returns[:15] = 0.0
    confidence = rng.uniform(0.0, 1.0, n)
    notional = rng.uniform(1_000.0, 50_000.0, n)
    excess = returns - rng.normal(0.0, 0.005, n)
    exits = rng.uniform(0.0, 29.9, n)
    rows = [
        realized(
            "alpha", exited=float(e), ret=float(r), confidence=float(c), notional=float(m), excess=float(x)
        )
        for e, r, c, m, x in zip(exits, returns, confidence, notional, excess, strict=True)
    ]
    metrics = metrics_of(rows).agents["alpha"]

    assert metrics.volatility == pytest.approx(np.std(returns, ddof=1), rel=1e-12)
    assert metrics.volatility == pytest.approx(
        empyrical.annual_volatility(returns, period="daily") / math.sqrt(252), rel=1e-12
    )
    decisive = returns != 0
    won = returns[decisive] > 0
    assert metrics.hit_rate == pytest.approx(accuracy_score(won, np.ones_like(won)), rel=1e-12)
    assert metrics.brier == pytest.approx(brier_score_loss(won, confidence[decisive]), rel=1e-12)
    assert metrics.alpha_30d == pytest.approx(np.average(excess, weights=notional), rel=1e-12)
    assert metrics.mean_confidence == pytest.approx(np.mean(confidence), rel=1e-12)
    assert metrics.confidence_decay == pytest.approx(
        float(np.clip(confidence[decisive].mean() - won.mean(), 0.0, 1.0)), abs=1e-12
    )


# --------------------------------------------------------------------------------------------
# Nothing after as_of exists
# --------------------------------------------------------------------------------------------


def random_history(seed: int) -> tuple[pd.DataFrame, Artifacts, Registry]:
    """Signals and telemetry spread over 50 days before to 20 days after AS_OF."""
    rng = np.random.default_rng(seed)
    agents = ["a", "b", "c", "d"]
    rows: list[dict[str, Any]] = []
    for _ in range(300):
        agent = str(rng.choice(agents))
        klass = str(rng.choice(["momentum", "carry"])) if rng.random() < 0.5 else None
        symbol = str(rng.choice(["AAA", "BBB", "CCC"]))
        emitted = float(rng.uniform(-20.0, 50.0))
        if rng.random() < 0.8:
            exited = emitted - float(rng.uniform(0.1, 5.0))
            ret = float(rng.choice([0.0, rng.normal(0.0, 0.02)]))
            rows.append(
                realized(
                    agent,
                    exited=exited,
                    emitted=emitted,
                    ret=ret,
                    confidence=float(rng.uniform()),
                    strategy_class=klass,
                    symbol=symbol,
                )
            )
        else:
            rows.append(pending(agent, emitted=emitted, strategy_class=klass, symbol=symbol))
    recon = recon_frame(rows)
    artifacts = make_artifacts(
        recon,
        costs=[
            (float(rng.uniform(-20, 50)), str(rng.choice(agents)), float(rng.uniform(0, 5)), "run")
            for _ in range(80)
        ],
        evals=[
            (float(rng.uniform(-20, 50)), str(rng.choice(agents)), float(rng.uniform(0, 100)))
            for _ in range(40)
        ],
        violations=[(float(rng.uniform(-20, 50)), str(rng.choice(agents))) for _ in range(10)],
        regimes=[
            (
                float(rng.uniform(-20, 60)),
                str(rng.choice(["trending", "ranging"])),
                ("AAA", "BBB", None)[int(rng.integers(0, 3))],
            )
            for _ in range(30)
        ],
    )
    registry = make_registry(
        agents=[
            {"name": "a", "strategy_class": "momentum", "regimes": ["trending"]},
            {"name": "b", "regimes": ["ranging"]},
        ],
        classes=[{"name": "momentum"}, {"name": "carry", "regimes": ["ranging"]}],
    )
    # 'late' exists only after AS_OF: it must not appear
    late = recon_frame([realized("late", exited=-16, emitted=-15, ret=0.1)])
    return pd.concat([recon, late], ignore_index=True), artifacts, registry


def as_reconciled_at(recon: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """What reconcile would have produced at ``as_of``: later signals gone, later exits still open."""
    known = recon.loc[recon["ts"] <= as_of].copy()
    exit_later = (known["status"] == "realized") & (known["exit_ts"] > as_of)
    known.loc[exit_later, "status"] = "open"
    for column in ("exit_ts", "exit_price", "ret", "fee", "pnl", "bench_ret", "excess"):
        known.loc[exit_later, column] = pd.NaT if column == "exit_ts" else np.nan
    return known


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), shift_hours=st.integers(-24 * 10, 24 * 10))
def test_compute_metrics__nothing_after_as_of_counts(seed: int, shift_hours: int) -> None:
    recon, artifacts, registry = random_history(seed)
    as_of = AS_OF + shift_hours * HOUR
    config = make_config(promotion={"min_decay_signals": 3})

    # The one cut (model.artifacts): the supervisor cuts everything at as_of before the metrics.
    full = compute_metrics(until(recon, as_of), artifacts.until(as_of), registry, config, as_of)
    truncated_recon = recon.loc[recon["ts"] <= as_of]
    truncated = compute_metrics(
        truncated_recon,
        replace(artifacts.until(as_of), signals=truncated_recon[SIGNAL_COLUMNS]),
        registry,
        config,
        as_of,
    )
    rereconciled = compute_metrics(
        as_reconciled_at(recon, as_of), artifacts.until(as_of), registry, config, as_of
    )

    assert full == truncated == rereconciled
    assert "late" not in full.agents


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def test_windows__boundaries_and_periods() -> None:
    windows = Windows.from_config(AS_OF, make_config().windows)
    times = pd.Series(
        [before(d) for d in (0, 7, 7 - 1e-9, 21, 28, 29.99, 30)] + [AS_OF + HOUR, pd.NaT],
        dtype="datetime64[ns, UTC]",
    )
    ages = windows.ages(times)

    assert windows.in_window(ages).tolist() == [True, True, True, True, True, True, False, False, False]
    assert windows.in_reference(ages).tolist() == [False, True, False, True, True, True, False, False, False]
    assert windows.period_index(ages).tolist() == [0, 1, 0, 3, -1, -1, -1, -1, -1]


def test_status_at__undoes_what_as_of_could_not_know() -> None:
    signals = recon_frame(
        [
            realized("x", exited=1, ret=0.01),  # realized before as_of: realized
            realized("x", exited=-1, ret=0.01),  # exit after as_of: still open at as_of
            pending("x", emitted=3),  # open
            pending("x", emitted=3, status="no_price"),  # entry tolerance (1d) ran out: no_price
            pending("x", emitted=0.5, status="no_price"),  # entry tolerance runs to as_of + 0.5d: open
        ]
    )
    windows = Windows.from_config(AS_OF, make_config().windows)

    realized_now, open_now, no_price_now = status_at(signals, windows, make_config())

    assert realized_now.tolist() == [True, False, False, False, False]
    assert open_now.tolist() == [False, True, True, False, True]
    assert no_price_now.tolist() == [False, False, False, True, False]


def test_compute_metrics__naive_as_of_is_utc() -> None:
    recon = recon_frame([realized("alpha", exited=0, ret=0.01)])
    artifacts = make_artifacts(recon)
    naive = AS_OF.tz_convert(None)

    assert compute_metrics(recon, artifacts, REGISTRY, make_config(), naive) == compute_metrics(
        recon, artifacts, REGISTRY, make_config(), AS_OF
    )
