"""Retirement rules (SPEC §3.4): two rules kill, one does not, missing data never fires."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import pytest

from metasup.evaluate.retirement import RULE_NAMES, describe_rule, evaluate_retirement, kill_reason
from metasup.model.config import RetirementConfig
from metasup.model.review import Metrics, Retirement, Rule

HEALTHY: dict[str, Any] = {
    "alpha_period": [0.01, -0.02, 0.03, 0.01],
    "confidence_decay": 0.05,
    "cost_30d": 100.0,
    "realized_pnl_30d": 5_000.0,
    "regime_mismatch_periods": 0,
    "signals_realized": 40,
}
"""Metrics on which no rule fires."""

FIRING: dict[str, dict[str, Any]] = {
    "alpha_negative": {"alpha_period": [-0.012, -0.005, -0.003, 0.02]},
    "confidence_decay": {"confidence_decay": 0.42},
    "cost_over_value": {"cost_30d": 1_200.0, "realized_pnl_30d": -300.0},
    "regime_mismatch": {"regime_mismatch_periods": 3},
}
"""For each rule, the metric values that make it (and only it) fire."""


def metrics_firing(*rules: str) -> Metrics:
    values = dict(HEALTHY)
    for rule in rules:
        values.update(FIRING[rule])
    return Metrics(**values)


def fired(retirement: Retirement) -> list[str]:
    return [rule.name for rule in retirement.rules if rule.triggered]


def rule_of(retirement: Retirement, name: str) -> Rule:
    return next(rule for rule in retirement.rules if rule.name == name)


def test_evaluate_retirement__healthy_agent_is_kept() -> None:
    retirement = evaluate_retirement(metrics_firing(), RetirementConfig())

    assert not retirement.kill
    assert [rule.name for rule in retirement.rules] == list(RULE_NAMES)
    assert fired(retirement) == []


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_evaluate_retirement__a_single_rule_does_not_kill(rule: str) -> None:
    retirement = evaluate_retirement(metrics_firing(rule), RetirementConfig())

    assert fired(retirement) == [rule]
    assert not retirement.kill


@pytest.mark.parametrize("pair", list(combinations(RULE_NAMES, 2)))
def test_evaluate_retirement__every_pair_of_rules_kills(pair: tuple[str, str]) -> None:
    retirement = evaluate_retirement(metrics_firing(*pair), RetirementConfig())

    assert fired(retirement) == list(pair)
    assert retirement.kill


@pytest.mark.parametrize(("min_rules", "kills"), [(1, True), (2, True), (3, False), (4, False)])
def test_evaluate_retirement__min_rules_is_configurable(min_rules: int, kills: bool) -> None:
    metrics = metrics_firing("alpha_negative", "regime_mismatch")

    retirement = evaluate_retirement(metrics, RetirementConfig(min_rules=min_rules))

    assert retirement.kill is kills


def test_evaluate_retirement__all_four_kill_even_at_the_strictest_setting() -> None:
    retirement = evaluate_retirement(metrics_firing(*RULE_NAMES), RetirementConfig(min_rules=4))

    assert retirement.kill


# --- alpha_negative --------------------------------------------------------------------------


def test_alpha_negative__value_is_the_first_n_period_alphas() -> None:
    rule = rule_of(
        evaluate_retirement(metrics_firing("alpha_negative"), RetirementConfig()), "alpha_negative"
    )

    assert rule == Rule(name="alpha_negative", triggered=True, value=[-0.012, -0.005, -0.003])


@pytest.mark.parametrize("null_period", [0, 1, 2])
def test_alpha_negative__a_period_without_signals_is_not_negative(null_period: int) -> None:
    alphas: list[float | None] = [-0.01, -0.01, -0.01, -0.01]
    alphas[null_period] = None

    retirement = evaluate_retirement(Metrics(alpha_period=alphas), RetirementConfig())

    assert not rule_of(retirement, "alpha_negative").triggered


def test_alpha_negative__zero_alpha_is_not_negative() -> None:
    retirement = evaluate_retirement(Metrics(alpha_period=[-0.01, 0.0, -0.01, None]), RetirementConfig())

    assert not rule_of(retirement, "alpha_negative").triggered


def test_alpha_negative__period_count_is_configurable() -> None:
    metrics = Metrics(alpha_period=[-0.01, -0.02, 0.03, None])
    two = evaluate_retirement(metrics, RetirementConfig(alpha_negative_periods=2))
    four = evaluate_retirement(Metrics(alpha_period=[-0.01] * 4), RetirementConfig(alpha_negative_periods=4))

    assert rule_of(two, "alpha_negative") == Rule(name="alpha_negative", triggered=True, value=[-0.01, -0.02])
    assert rule_of(four, "alpha_negative").triggered


def test_alpha_negative__short_history_is_padded_with_nulls() -> None:
    retirement = evaluate_retirement(Metrics(alpha_period=[-0.01, -0.01]), RetirementConfig())

    assert rule_of(retirement, "alpha_negative") == Rule(
        name="alpha_negative", triggered=False, value=[-0.01, -0.01, None]
    )


# --- confidence_decay ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decay", "triggered"),
    # 0.9 − 0.6 is 0.3 whatever it rounds to (0.30000000000000004): not above the threshold
    [(0.31, True), (0.3, False), (0.9 - 0.6, False), (0.1, False), (None, False)],
)
def test_confidence_decay__strictly_above_threshold(decay: float | None, triggered: bool) -> None:
    rule = rule_of(
        evaluate_retirement(Metrics(confidence_decay=decay), RetirementConfig()), "confidence_decay"
    )

    assert rule == Rule(name="confidence_decay", triggered=triggered, value=decay)


# --- cost_over_value -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cost", "pnl", "triggered"),
    [
        (1_200.0, -300.0, True),  # any cost is over a loss
        (1_200.0, 1_000.0, True),
        (1_000.0, 1_000.0, False),  # equal is not over
        (500.0, 1_000.0, False),
        (0.0, -300.0, False),  # free agents are never over value
        (float("nan"), -300.0, False),  # unknown cost never fires
    ],
)
def test_cost_over_value__cost_above_positive_pnl(cost: float, pnl: float, triggered: bool) -> None:
    metrics = Metrics(cost_30d=cost, realized_pnl_30d=pnl, signals_realized=40)

    rule = rule_of(evaluate_retirement(metrics, RetirementConfig()), "cost_over_value")

    assert rule.triggered is triggered


def test_cost_over_value__value_holds_both_amounts() -> None:
    metrics = Metrics(cost_30d=1_200.0, realized_pnl_30d=-300.0, signals_realized=40)

    rule = rule_of(evaluate_retirement(metrics, RetirementConfig()), "cost_over_value")

    assert rule.value == {"cost_30d": 1_200.0, "realized_pnl_30d": -300.0}


def test_cost_over_value__nothing_realized_for_want_of_prices_is_no_evidence() -> None:
    """Empty or stale prices realize nothing: a PnL of 0 over no priced signal must not retire anyone."""
    metrics = Metrics(
        cost_30d=1_200.0,
        realized_pnl_30d=0.0,
        signals_realized=0,
        signals_no_price=7,
        regime_mismatch_periods=3,
    )

    retirement = evaluate_retirement(metrics, RetirementConfig())

    assert fired(retirement) == ["regime_mismatch"]
    assert not retirement.kill
    assert rule_of(retirement, "cost_over_value").value == {"cost_30d": 1_200.0, "realized_pnl_30d": None}
    assert "realized PnL n/a" in describe_rule(rule_of(retirement, "cost_over_value"))


# --- regime_mismatch -------------------------------------------------------------------------


@pytest.mark.parametrize(("periods", "triggered"), [(0, False), (1, False), (2, True), (4, True)])
def test_regime_mismatch__at_least_threshold_periods(periods: int, triggered: bool) -> None:
    metrics = Metrics(regime_mismatch_periods=periods)

    rule = rule_of(evaluate_retirement(metrics, RetirementConfig()), "regime_mismatch")

    assert rule == Rule(name="regime_mismatch", triggered=triggered, value=periods)


def test_regime_mismatch__threshold_is_configurable() -> None:
    metrics = Metrics(regime_mismatch_periods=2)

    retirement = evaluate_retirement(metrics, RetirementConfig(regime_mismatch_periods=3))

    assert not rule_of(retirement, "regime_mismatch").triggered


# --- kill_reason -----------------------------------------------------------------------------


def test_kill_reason__lists_fired_rules_with_values() -> None:
    retirement = evaluate_retirement(metrics_firing(*RULE_NAMES), RetirementConfig())

    assert kill_reason(retirement) == (
        "4 of 4 retirement rules fired: alpha_negative (alpha P0..P2: -1.2%, -0.5%, -0.3%); "
        "confidence_decay (0.42); cost_over_value (cost $1,200.00 vs realized PnL -$300.00); "
        "regime_mismatch (3 periods out of regime)"
    )


def test_kill_reason__names_only_the_rules_that_fired() -> None:
    retirement = evaluate_retirement(
        metrics_firing("confidence_decay", "regime_mismatch"), RetirementConfig()
    )

    assert kill_reason(retirement) == (
        "2 of 4 retirement rules fired: confidence_decay (0.42); regime_mismatch (3 periods out of regime)"
    )


def test_kill_reason__is_one_line() -> None:
    retirement = evaluate_retirement(metrics_firing(*RULE_NAMES), RetirementConfig())

    assert "\n" not in kill_reason(retirement)


def test_kill_reason__says_so_when_nothing_fired() -> None:
    assert kill_reason(evaluate_retirement(metrics_firing(), RetirementConfig())) == (
        "0 of 4 retirement rules fired"
    )


def test_kill_reason__tiny_negative_alpha_is_not_rounded_to_zero() -> None:
    metrics = Metrics(alpha_period=[-0.00001234, -0.5, -0.02, None], confidence_decay=0.9)

    assert "alpha P0..P2: -0.00123%, -50%, -2%" in kill_reason(
        evaluate_retirement(metrics, RetirementConfig())
    )


@pytest.mark.parametrize("still_open", [0, 5])
def test_cost_over_value__an_agent_that_realizes_nothing_of_its_own_accord_is_judged(still_open: int) -> None:
    """Silent, or every signal still open: SPEC §3.4 applies as written, cost above max(0, 0)."""
    metrics = Metrics(cost_30d=1_200.0, realized_pnl_30d=0.0, signals_realized=0, signals_open=still_open)

    rule = rule_of(evaluate_retirement(metrics, RetirementConfig()), "cost_over_value")

    assert rule.triggered
    assert rule.value == {"cost_30d": 1_200.0, "realized_pnl_30d": 0.0}
