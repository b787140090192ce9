"""Retirement rules (SPEC §3.4): should an agent or a strategy class be killed?

Four rules, always reported in the order of ``RULE_NAMES``; the subject is killed when at least
``min_rules`` of them fire (2 by default). The same function judges agents and strategy classes:
a class simply passes the metrics pooled over its agents.

A rule needs evidence to fire: a missing metric (``None``, or a non-finite money value) never
triggers a rule, so a kill always rests on numbers that were actually measured. A realized PnL of
0 because the prices were missing is such a number: when none of the agent's signals in the window
was realized and some found no price bar, ``cost_over_value`` cannot fire. Otherwise an empty or
stale price file would retire every agent that costs anything. An agent that costs money and
realizes nothing for its own reasons (silent, or every signal still open) is judged as SPEC §3.4
says.

Boundary semantics (no tolerance anywhere):

- alpha_negative: each of ``alpha_period[0..N-1]`` strictly ``< 0``; a period without a realized
  signal (``None``) is not negative, so it breaks the streak.
- confidence_decay: ``confidence_decay > confidence_decay_threshold`` (equal does not fire).
- cost_over_value: ``cost_30d > max(realized_pnl_30d, 0)`` and ``cost_30d > 0`` (equal does not fire),
  not judged when nothing was realized because signals found no price bar.
- regime_mismatch: ``regime_mismatch_periods >= regime_mismatch_periods`` setting (equal fires).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from metasup.evaluate.promotion import settled, usd
from metasup.model.config import RetirementConfig
from metasup.model.review import Metrics, Retirement, Rule

RULE_NAMES: tuple[str, ...] = ("alpha_negative", "confidence_decay", "cost_over_value", "regime_mismatch")
"""The rules of SPEC §3.4, in the order they are evaluated and reported."""


def evaluate_retirement(metrics: Metrics, config: RetirementConfig) -> Retirement:
    """Apply the four rules; ``kill`` when at least ``config.min_rules`` of them fire."""
    rules = [
        alpha_negative_rule(metrics.alpha_period, config.alpha_negative_periods),
        confidence_decay_rule(metrics.confidence_decay, config.confidence_decay_threshold),
        cost_over_value_rule(metrics.cost_30d, metrics.realized_pnl_30d, pnl_missing(metrics)),
        regime_mismatch_rule(metrics.regime_mismatch_periods, config.regime_mismatch_periods),
    ]
    fired = sum(rule.triggered for rule in rules)
    return Retirement(kill=fired >= config.min_rules, rules=rules)


def alpha_negative_rule(alpha_period: Sequence[float | None], periods: int) -> Rule:
    """Alpha below zero in every one of the last ``periods`` periods (P0 first).

    ``value`` is the list of those period alphas, padded with ``None`` if fewer are known.
    """
    recent = [*alpha_period[:periods], *([None] * max(0, periods - len(alpha_period)))]
    triggered = all(alpha is not None and alpha < 0 for alpha in recent)
    return Rule(name="alpha_negative", triggered=triggered, value=recent)


def confidence_decay_rule(decay: float | None, threshold: float) -> Rule:
    """Confidence that outruns the hit rate by more than ``threshold``; unknown decay never fires."""
    triggered = decay is not None and settled(decay, threshold) > threshold
    return Rule(name="confidence_decay", triggered=triggered, value=decay)


def pnl_missing(metrics: Metrics) -> bool:
    """Nothing realized in the window because prices were missing: the PnL was not measured."""
    return metrics.signals_realized == 0 and metrics.signals_no_price > 0


def cost_over_value_rule(cost: float, realized_pnl: float, missing_pnl: bool) -> Rule:
    """The agent costs more than it earned in the window (any cost counts against a loss).

    With ``missing_pnl`` (:func:`pnl_missing`) the PnL was not measured (``value`` shows it as
    null): the rule cannot fire, so no retirement rests on missing prices.
    """
    pnl_measured = not missing_pnl and math.isfinite(realized_pnl)
    triggered = math.isfinite(cost) and pnl_measured and cost > max(realized_pnl, 0.0) and cost > 0
    value = {
        "cost_30d": cost if math.isfinite(cost) else None,
        "realized_pnl_30d": realized_pnl if pnl_measured else None,
    }
    return Rule(name="cost_over_value", triggered=triggered, value=value)


def regime_mismatch_rule(mismatched_periods: int, threshold: int) -> Rule:
    """Trading outside its declared regimes in at least ``threshold`` of the four periods."""
    return Rule(name="regime_mismatch", triggered=mismatched_periods >= threshold, value=mismatched_periods)


def kill_reason(retirement: Retirement) -> str:
    """One line naming every fired rule with its value, for ``kill_reason`` and [AUTO-RETIRE] PRs.

    >>> kill_reason(Retirement(kill=True, rules=[Rule(name="regime_mismatch", triggered=True, value=3)]))
    '1 of 1 retirement rules fired: regime_mismatch (3 periods out of regime)'
    """
    fired = [rule for rule in retirement.rules if rule.triggered]
    if not fired:
        return f"0 of {len(retirement.rules)} retirement rules fired"
    details = "; ".join(describe_rule(rule) for rule in fired)
    return f"{len(fired)} of {len(retirement.rules)} retirement rules fired: {details}"


def describe_rule(rule: Rule) -> str:
    """``confidence_decay (0.42)``: a rule and the value it fired on, in words."""
    value = rule.value
    if rule.name == "alpha_negative" and isinstance(value, list):
        alphas = ", ".join("n/a" if a is None else percent(a) for a in value)
        return f"alpha_negative (alpha P0..P{len(value) - 1}: {alphas})"
    if rule.name == "confidence_decay" and isinstance(value, float | int):
        return f"confidence_decay ({value:.3g})"
    if rule.name == "cost_over_value" and isinstance(value, dict):
        cost, pnl = value.get("cost_30d"), value.get("realized_pnl_30d")
        return f"cost_over_value (cost {usd_or_na(cost)} vs realized PnL {usd_or_na(pnl)})"
    if rule.name == "regime_mismatch" and isinstance(value, int):
        return f"regime_mismatch ({value} periods out of regime)"
    return f"{rule.name} ({value})"


def percent(fraction: float) -> str:
    """``-1.2%``: three significant digits, so a tiny negative alpha never prints as ``0.00%``."""
    return f"{fraction * 100:.3g}%"


def usd_or_na(amount: object) -> str:
    """``-$1,234.00`` (the gates' format); ``n/a`` when missing."""
    if not isinstance(amount, float | int) or not math.isfinite(amount):
        return "n/a"
    return usd(float(amount), 2)
