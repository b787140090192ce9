"""Capital allocation and attribution (SPEC §3.5)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from recon_factories import make_registry, metrics_of, pending, realized
from scipy.optimize import minimize

from metasup.evaluate.portfolio import (
    FloatArray,
    allocate,
    allocation_score,
    attribute,
    capped_softmax,
    effective_agents,
    eligible_for_allocation,
    exclusion_reason,
    softmax,
)
from metasup.evaluate.promotion import AgentStanding
from metasup.model.config import PortfolioConfig
from metasup.model.registry import UNCLASSIFIED
from metasup.model.review import Attribution, AttributionRow, Metrics

# --- scores ----------------------------------------------------------------------------------


def test_allocation_score__alpha_times_confidence_over_volatility() -> None:
    assert allocation_score(0.02, 0.6, 0.04, 0.005) == pytest.approx(0.3)


def test_allocation_score__volatility_is_floored() -> None:
    assert allocation_score(0.02, 0.6, 0.001, 0.005) == pytest.approx(2.4)


@pytest.mark.parametrize(
    ("alpha", "confidence", "volatility"), [(None, 0.6, 0.04), (0.02, None, 0.04), (0.02, 0.6, None)]
)
def test_allocation_score__missing_input_gives_none(
    alpha: float | None, confidence: float | None, volatility: float | None
) -> None:
    assert allocation_score(alpha, confidence, volatility, 0.005) is None


# --- eligibility -----------------------------------------------------------------------------


def prod_standing(**overrides: Any) -> AgentStanding:
    values: dict[str, Any] = {
        "name": "a",
        "strategy_class": "momentum",
        "stage": "prod",
        "class_status": "active",
    }
    return AgentStanding(**{**values, **overrides})


def scored_metrics(**overrides: Any) -> Metrics:
    values: dict[str, Any] = {
        "alpha_30d": 0.02,
        "mean_confidence": 0.6,
        "volatility": 0.04,
        "signals_realized": 8,
    }
    return Metrics(**{**values, **overrides})


def test_eligible_for_allocation__returns_scores_of_eligible_agents_in_order() -> None:
    candidates = {
        "b": (prod_standing(name="b"), scored_metrics(alpha_30d=0.01)),
        "a": (prod_standing(name="a"), scored_metrics()),
        "sandboxed": (prod_standing(name="sandboxed", stage="sandbox"), scored_metrics()),
    }

    eligible = eligible_for_allocation(candidates, PortfolioConfig())

    assert list(eligible) == ["b", "a"]
    assert eligible["a"] == pytest.approx(0.3)
    assert eligible["b"] == pytest.approx(0.15)


@pytest.mark.parametrize(
    ("standing", "metrics", "kill_list", "reason"),
    [
        ({"stage": "sandbox"}, {}, [], "stage is sandbox, not prod"),
        ({"stage": "retired"}, {}, [], "stage is retired, not prod"),
        ({"class_status": "killed"}, {}, [], "class momentum is killed in the registry"),
        ({}, {}, ["a"], "agent a is on kill_list"),
        ({}, {}, ["momentum"], "class momentum is on kill_list"),
        ({"agent_killed_this_run": True}, {}, [], "agent a was killed by the retirement rules in this run"),
        (
            {"class_killed_this_run": True},
            {},
            [],
            "class momentum was killed by the retirement rules in this run",
        ),
        ({}, {"signals_realized": 4}, [], "4 realized signals < 5"),
        ({}, {"volatility": None}, [], "volatility unknown (fewer than 2 realized signals)"),
        ({}, {"alpha_30d": None}, [], "allocation score unknown (alpha or mean confidence missing)"),
    ],
)
def test_exclusion_reason__names_why_an_agent_gets_no_capital(
    standing: dict[str, Any], metrics: dict[str, Any], kill_list: list[str], reason: str
) -> None:
    args = (prod_standing(**standing), scored_metrics(**metrics), PortfolioConfig(), kill_list)

    assert exclusion_reason(*args) == reason
    assert eligible_for_allocation({"a": args[:2]}, PortfolioConfig(), kill_list) == {}


@pytest.mark.parametrize(
    ("standing", "metrics"),
    [
        ({}, {}),
        ({"class_status": "deprecated"}, {}),
        ({"class_status": None}, {}),
        ({}, {"signals_realized": 5}),
    ],
)
def test_exclusion_reason__eligible_agents_have_none(
    standing: dict[str, Any], metrics: dict[str, Any]
) -> None:
    assert exclusion_reason(prod_standing(**standing), scored_metrics(**metrics), PortfolioConfig()) is None


def test_exclusion_reason__min_signals_is_configurable() -> None:
    config = PortfolioConfig(min_signals=10)

    assert exclusion_reason(prod_standing(), scored_metrics(signals_realized=8), config) == (
        "8 realized signals < 10"
    )


# --- softmax ---------------------------------------------------------------------------------


def test_softmax__matches_hand_computation() -> None:
    # e^1 = 2.718281828, e^2 = 7.389056099, e^3 = 20.085536923; Σ = 30.192874851
    assert softmax(np.array([1.0, 2.0, 3.0]), 1.0) == pytest.approx(
        [0.0900305732, 0.2447284711, 0.6652409558]
    )


def test_softmax__temperature_divides_the_scores() -> None:
    # e^0.5 = 1.648721271, e^1 = 2.718281828, e^1.5 = 4.481689070; Σ = 8.848692169
    assert softmax(np.array([1.0, 2.0, 3.0]), 2.0) == pytest.approx(
        [0.1863237232, 0.3071958911, 0.5064803857]
    )


def test_softmax__exact_ratios() -> None:
    assert softmax(np.log(np.array([1.0, 2.0, 3.0])), 1.0) == pytest.approx([1 / 6, 2 / 6, 3 / 6], abs=1e-15)


def test_softmax__huge_scores_do_not_overflow() -> None:
    weights = softmax(np.array([1e308, -1e308, 0.0]), 1e-300)

    assert weights.tolist() == [1.0, 0.0, 0.0]


def test_allocate__uncapped_weights_are_the_softmax() -> None:
    allocation = allocate({"a": 1.0, "b": 2.0, "c": 3.0}, PortfolioConfig())

    assert list(allocation.weights.values()) == pytest.approx([0.0900305732, 0.2447284711, 0.6652409558])
    assert allocation.cash == 0.0


def test_allocate__temperature_to_zero_concentrates_on_the_best() -> None:
    allocation = allocate({"a": 0.1, "b": 0.3, "c": 0.2}, PortfolioConfig(temperature=1e-6))

    assert allocation.weights == {"a": 0.0, "b": 1.0, "c": 0.0}
    assert allocation.effective_agents == 1.0


def test_allocate__temperature_to_infinity_goes_equal() -> None:
    allocation = allocate({"a": 0.1, "b": 0.3, "c": 0.2}, PortfolioConfig(temperature=1e9))

    assert list(allocation.weights.values()) == pytest.approx([1 / 3] * 3, abs=1e-9)
    assert allocation.effective_agents == pytest.approx(3.0)


# --- caps ------------------------------------------------------------------------------------


def entropy_solution(scores: list[float], temperature: float, low: float, high: float) -> FloatArray:
    """Independent reference: ``min Σ w log w − Σ w s / T`` s.t. ``Σw = 1``, ``low ≤ w ≤ high``."""
    s = np.array(scores) / temperature
    count = len(s)

    def objective(w: FloatArray) -> float:
        return float(np.sum(w * np.log(w)) - np.dot(w, s))

    def gradient(w: FloatArray) -> FloatArray:
        return np.log(w) + 1.0 - s

    result = minimize(
        objective,
        x0=np.full(count, 1.0 / count),
        jac=gradient,
        bounds=[(max(low, 1e-12), high)] * count,
        constraints=[{"type": "eq", "fun": lambda w: np.sum(w) - 1.0, "jac": lambda w: np.ones(count)}],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 1_000},
    )
    assert result.success, result.message
    solution: FloatArray = result.x
    return solution


@pytest.mark.parametrize(
    ("scores", "temperature", "low", "high"),
    [
        ([0.5, 1.0, 2.0, 3.0, -1.0], 1.0, 0.05, 0.4),
        ([1.2, 0.3, -0.4, 2.2, 0.9, 0.0], 0.5, 0.02, 0.3),
        ([3.0, 2.9, 0.1, 0.0], 0.7, 0.0, 0.35),
        ([0.0, 0.0, 5.0], 1.0, 0.2, 0.5),
        ([-2.0, 1.0, 0.5, 0.25, 4.0, 3.5, -1.0, 0.0], 1.5, 0.06, 0.2),
    ],
)
def test_allocate__matches_an_independent_entropy_solver(
    scores: list[float], temperature: float, low: float, high: float
) -> None:
    config = PortfolioConfig(temperature=temperature, min_weight=low, max_weight=high)

    allocation = allocate({str(i): s for i, s in enumerate(scores)}, config)

    expected = entropy_solution(scores, temperature, low, high)
    assert list(allocation.weights.values()) == pytest.approx(expected.tolist(), abs=1e-6)
    assert math.fsum(allocation.weights.values()) == pytest.approx(1.0, abs=1e-12)


def test_allocate__caps_are_respected_exactly() -> None:
    config = PortfolioConfig(min_weight=0.1, max_weight=0.3)

    weights = allocate({"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 5.0}, config).weights

    # softmax is [.012, .032, .086, .234, .636]: d, e capped at .3, a, b floored at .1, c takes the rest
    assert weights["a"] == weights["b"] == 0.1
    assert weights["d"] == weights["e"] == 0.3
    assert weights["c"] == pytest.approx(0.2, abs=1e-15)


def test_allocate__caps_hold_across_hundreds_of_orders_of_magnitude() -> None:
    weights = capped_softmax(np.array([1e308, -1e308, 0.0]), 1e-300, 0.1, 0.4)

    assert weights.tolist() == pytest.approx([0.4, 0.3, 0.3], abs=1e-15)


def test_allocate__caps_too_tight_leave_cash() -> None:
    allocation = allocate({"a": 1.0, "b": 2.0, "c": 3.0}, PortfolioConfig(max_weight=0.2))

    assert allocation.weights == {"a": 0.2, "b": 0.2, "c": 0.2}
    assert allocation.cash == pytest.approx(0.4)
    assert allocation.capital_usd == {"a": 200_000.0, "b": 200_000.0, "c": 200_000.0}
    assert allocation.effective_agents == pytest.approx(3.0)


def test_allocate__caps_that_exactly_fit_leave_no_cash() -> None:
    allocation = allocate({"a": 1.0, "b": 2.0, "c": 3.0, "d": 0.0}, PortfolioConfig(max_weight=0.25))

    assert allocation.weights == {"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}
    assert allocation.cash == 0.0


def test_allocate__floors_too_high_drop_the_weakest() -> None:
    config = PortfolioConfig(min_weight=0.3, max_weight=0.5)

    allocation = allocate({"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}, config)

    assert allocation.weights["a"] == 0.0
    assert [allocation.weights[n] for n in "bcd"] == pytest.approx([0.3, 0.3, 0.4])
    assert allocation.cash == 0.0


def test_allocate__no_eligible_agent_is_all_cash() -> None:
    allocation = allocate({}, PortfolioConfig(capital=250_000))

    assert allocation.model_dump() == {
        "capital": 250_000.0,
        "cash": 1.0,
        "effective_agents": None,
        "weights": {},
        "capital_usd": {},
        "scores": {},
    }


def test_allocate__reports_capital_and_scores() -> None:
    allocation = allocate({"a": 0.0, "b": 0.0}, PortfolioConfig(capital=2_000_000))

    assert allocation.capital == 2_000_000.0
    assert allocation.weights == {"a": 0.5, "b": 0.5}
    assert allocation.capital_usd == {"a": 1_000_000.0, "b": 1_000_000.0}
    assert allocation.scores == {"a": 0.0, "b": 0.0}
    assert allocation.effective_agents == 2.0


def test_allocate__non_finite_score_is_refused() -> None:
    with pytest.raises(ValueError, match="finite: b"):
        allocate({"a": 1.0, "b": math.nan}, PortfolioConfig())


@pytest.mark.parametrize(
    ("weights", "expected"),
    [([1.0], 1.0), ([0.5, 0.5], 2.0), ([0.25] * 4, 4.0), ([0.6, 0.2, 0.2], 1 / 0.44), ([0.1, 0.1], 2.0)],
)
def test_effective_agents__inverse_concentration(weights: list[float], expected: float) -> None:
    assert effective_agents(np.array(weights)) == pytest.approx(expected)


def test_effective_agents__none_without_positions() -> None:
    assert effective_agents(np.array([])) is None


@settings(max_examples=200, deadline=None)
@given(
    scores=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=12),
    temperature=st.floats(min_value=1e-6, max_value=1e6),
    bounds=st.tuples(st.floats(min_value=0.0, max_value=1.0), st.floats(min_value=0.0, max_value=1.0)),
)
def test_allocate__weights_are_a_valid_portfolio(
    scores: list[float], temperature: float, bounds: tuple[float, float]
) -> None:
    low, high = sorted(bounds)
    assume(high > 0)
    config = PortfolioConfig(temperature=temperature, min_weight=low, max_weight=high)

    allocation = allocate({f"agent{i}": s for i, s in enumerate(scores)}, config)

    weights = np.array(list(allocation.weights.values()))
    assert np.all(np.isfinite(weights))
    assert math.isfinite(allocation.cash)
    assert allocation.cash >= 0
    assert math.fsum(weights.tolist()) + allocation.cash == pytest.approx(1.0, abs=1e-9)
    held = weights[weights > 0] if len(scores) * low > 1 else weights
    assert np.all((held >= low) & (held <= high))
    if allocation.cash > 0:  # only when every position is at its cap
        assert np.all(held == high)


# --- attribution -----------------------------------------------------------------------------

ATTRIBUTION_REGISTRY = make_registry(
    agents=[
        {"name": "momo", "strategy_class": "momentum"},
        {"name": "trend", "strategy_class": "momentum"},
        {"name": "meanrev", "strategy_class": "reversion"},
    ],
    classes=[{"name": "momentum"}, {"name": "reversion"}],
)
# Notional 10 000 each: pnl = 10 000 · ret. Days before as_of; the window W is 30 days.
SIGNALS = [
    realized("momo", exited=20, ret=0.06),  # 600
    realized("momo", exited=0, ret=0.04),  # 400, exits at as_of: in
    realized("trend", exited=15, ret=-0.02),  # -200
    realized("meanrev", exited=10, ret=0.08),  # 800
    realized("meanrev", exited=30, ret=0.9999),  # exits at the window's start: out
    realized("meanrev", exited=-1, emitted=0.5, ret=0.9999),  # exits after as_of: open, out
    pending("trend", emitted=5),
    pending("trend", emitted=5, status="no_price"),
]
COSTS = [
    (25, "momo", 50.0, "run"),
    (5, "momo", 50.0, "run"),
    (18, "trend", 30.0, "run"),
    (18, "idle", 20.0, "run"),  # an agent with a cost but no signal, in no registered class
    (30, "meanrev", 999.0, "run"),  # at the window's start: out
]


def attribution_of(signals: list[dict[str, Any]], costs: list[tuple[float, str, float, str]]) -> Attribution:
    return attribute(metrics_of(signals, registry=ATTRIBUTION_REGISTRY, costs=costs))


def assert_row(row: AttributionRow, pnl: float, cost: float, share: float) -> None:
    assert (row.realized_pnl, row.cost, row.net) == pytest.approx((pnl, cost, pnl - cost))
    assert row.share == pytest.approx(share)


def test_attribute__per_agent_pnl_cost_net_and_share() -> None:
    attribution = attribution_of(SIGNALS, COSTS)

    assert list(attribution.agents) == ["idle", "meanrev", "momo", "trend"]  # by name
    assert_row(attribution.agents["idle"], 0.0, 20.0, 0.0)
    assert_row(attribution.agents["meanrev"], 800.0, 0.0, 800 / 1_600)
    assert_row(attribution.agents["momo"], 1_000.0, 100.0, 1_000 / 1_600)
    assert_row(attribution.agents["trend"], -200.0, 30.0, -200 / 1_600)
    assert (attribution.total_pnl, attribution.total_cost) == pytest.approx((1_600.0, 150.0))


def test_attribute__per_class_is_the_sum_of_its_agents() -> None:
    attribution = attribution_of(SIGNALS, COSTS)

    assert list(attribution.classes) == ["momentum", "reversion", UNCLASSIFIED]
    assert_row(attribution.classes["momentum"], 800.0, 130.0, 0.5)
    assert_row(attribution.classes["reversion"], 800.0, 0.0, 0.5)
    assert_row(attribution.classes[UNCLASSIFIED], 0.0, 20.0, 0.0)


@pytest.mark.parametrize("level", ["agents", "classes"])
def test_attribute__rows_sum_to_the_totals(level: str) -> None:
    attribution = attribution_of(SIGNALS, COSTS)

    rows = getattr(attribution, level).values()
    assert math.fsum(r.realized_pnl for r in rows) == pytest.approx(attribution.total_pnl)
    assert math.fsum(r.cost for r in rows) == pytest.approx(attribution.total_cost)
    assert math.fsum(r.net for r in rows) == pytest.approx(attribution.total_pnl - attribution.total_cost)
    assert math.fsum(r.share or 0.0 for r in rows) == pytest.approx(1.0)


def test_attribute__is_the_metrics_realized_pnl_and_cost() -> None:
    table = metrics_of(SIGNALS, registry=ATTRIBUTION_REGISTRY, costs=COSTS)
    attribution = attribute(table)

    for level in ("agents", "classes"):
        for name, row in getattr(attribution, level).items():
            metrics = getattr(table, level)[name]
            assert row.realized_pnl == metrics.realized_pnl_30d
            assert row.cost == metrics.cost_30d


def test_attribute__a_signal_own_class_wins_over_its_agent_class() -> None:
    signals = [
        realized("momo", exited=10, ret=0.03, strategy_class="breakout"),
        realized("momo", exited=11, ret=0.01),
    ]

    attribution = attribution_of(signals, [])

    assert attribution.classes["breakout"].realized_pnl == pytest.approx(300.0)
    assert attribution.classes["momentum"].realized_pnl == pytest.approx(100.0)
    assert attribution.agents["momo"].realized_pnl == pytest.approx(400.0)


def test_attribute__zero_total_pnl_has_no_share() -> None:
    signals = [realized("momo", exited=10, ret=0.01), realized("trend", exited=11, ret=-0.01)]

    attribution = attribution_of(signals, [])

    assert attribution.total_pnl == 0.0
    assert all(row.share is None for row in attribution.agents.values())
    assert all(row.share is None for row in attribution.classes.values())


def test_attribute__nothing_in_the_window_gives_empty_attribution() -> None:
    attribution = attribution_of([pending("momo", emitted=3)], [(40, "momo", 5.0, "run")])

    assert attribution.model_dump() == {"agents": {}, "classes": {}, "total_pnl": 0.0, "total_cost": 0.0}
