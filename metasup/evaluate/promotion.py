"""Promotion gates (SPEC §3.3): may a sandbox agent go to prod?

``should_promote`` is the one entry point. A sandbox agent meets seven gates, always in the
order of ``GATE_NAMES``; each becomes a ``Gate`` with the value it judged, the threshold, and
one line of evidence a risk committee can read without opening the code. ``APPROVED`` needs all
seven; anything else is ``BLOCKED``. Prod and retired agents are ``NOT_APPLICABLE`` (no gates).

Every gate fails closed: a metric that could not be computed (``None``, or a non-finite money
value) blocks promotion, and the evidence says what is missing and why.

Boundary semantics (no tolerance is added anywhere; a value equal to its threshold is judged
exactly as the table says):

- behavioral: ``behavioral_score >= min_behavioral_score`` (equal passes)
- pnl: ``realized_pnl_30d > min_realized_pnl`` (equal fails)
- confidence_decay: ``confidence_decay < max_confidence_decay`` (equal fails)
- cost_drift: ``cost_drift <= max_cost_drift`` (equal passes)
- safety: ``safety_violations_30d == 0``
- evidence: ``signals_realized >= min_realized_signals`` (equal passes) and
  ``coverage >= 1 − max_loss`` (equal passes). This is the one *derived* threshold; it is
  computed once, in exact decimal arithmetic on the number ``max_loss`` prints as, so the bar
  for ``max_loss: 0.3`` is the double nearest 0.7 rather than ``1 - 0.3 == 0.7000000000000001``
  (see ``minimum_coverage``). The comparison itself is a plain float ``>=``, no tolerance.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection
from datetime import timedelta
from decimal import Decimal
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from metasup.model.config import Config, PromotionConfig
from metasup.model.registry import ClassStatus, Stage
from metasup.model.review import Gate, Metrics, Promotion, Skill

GATE_NAMES: tuple[str, ...] = (
    "behavioral",
    "pnl",
    "confidence_decay",
    "cost_drift",
    "kill_list",
    "safety",
    "evidence",
    "skill",
    "prod_correlation",
)
"""The gates of SPEC §3.3, in the order they are evaluated and reported."""

FAILS_CLOSED = "fails closed"


class AgentStanding(BaseModel):
    """What the registry and this run say about an agent, as plain values.

    ``class_status`` is ``None`` when the agent's strategy class is not in the registry (an
    unregistered or unclassified agent). The ``*_killed_this_run`` flags carry §3.4 kills in
    force in the current run, which the registry does not show until the retire PR is merged:
    decided by this run's rules, or by an earlier run and not lifted since (``*_kill_earlier``:
    the rolling run's standing kills, from the audit ledger, whose rules may no longer fire).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    strategy_class: str
    stage: Stage
    class_status: ClassStatus | None = None
    agent_killed_this_run: bool = False
    class_killed_this_run: bool = False
    agent_kill_earlier: bool = False
    class_kill_earlier: bool = False
    demoted: bool = False


def should_promote(
    metrics: Metrics, config: Config, standing: AgentStanding, skill: Skill | None = None
) -> Promotion:
    """Judge one agent against the nine gates; only sandbox agents are judged at all.

    ``skill`` is the agent's §3.7 evidence of skill; without it both skill gates fail closed.
    """
    if standing.stage != "sandbox":
        return Promotion(result="NOT_APPLICABLE")
    window = describe_window(config.windows.window)
    rules = config.promotion
    gates = [
        behavioral_gate(metrics.behavioral_score, rules, window),
        pnl_gate(metrics.realized_pnl_30d, rules, window),
        confidence_decay_gate(metrics.confidence_decay, rules, window),
        cost_drift_gate(metrics.cost_drift, rules),
        kill_list_gate(standing, config.kill_list),
        safety_gate(metrics.safety_violations_30d, window),
        evidence_gate(metrics.signals_realized, metrics.coverage, rules, config.reconcile.max_loss, window),
        skill_gate(skill, rules),
        prod_correlation_gate(skill, rules),
    ]
    result: Literal["APPROVED", "BLOCKED"] = "APPROVED" if all(g.passed for g in gates) else "BLOCKED"
    return Promotion(result=result, gates=gates)


def behavioral_gate(score: float | None, rules: PromotionConfig, window: str) -> Gate:
    """Mean behavioral-eval score must reach the bar (inclusive)."""
    threshold = rules.min_behavioral_score
    if score is None:
        evidence = f"no behavioral_eval events in the {window} — {FAILS_CLOSED}"
        return Gate(name="behavioral", passed=False, value=None, threshold=threshold, evidence=evidence)
    level = settled(score, threshold)
    passed = level >= threshold
    shown, bar = render_pair(level, threshold, general_number, 3)
    relation = "≥" if passed else "<"
    evidence = f"behavioral score {shown} {relation} {bar}"
    return Gate(name="behavioral", passed=passed, value=score, threshold=threshold, evidence=evidence)


def pnl_gate(pnl: float, rules: PromotionConfig, window: str) -> Gate:
    """Realized PnL in the window must be strictly above the bar (a flat agent is not promoted)."""
    threshold = rules.min_realized_pnl
    if not math.isfinite(pnl):
        evidence = f"realized PnL in the {window} is not a finite number ({pnl}) — {FAILS_CLOSED}"
        return Gate(name="pnl", passed=False, value=None, threshold=threshold, evidence=evidence)
    level = settled(pnl, threshold)
    passed = level > threshold
    shown, bar = render_pair(level, threshold, usd, 2)
    evidence = f"realized PnL {shown} > {bar}" if passed else f"realized PnL {shown} is not > {bar}"
    return Gate(name="pnl", passed=passed, value=pnl, threshold=threshold, evidence=evidence)


def confidence_decay_gate(decay: float | None, rules: PromotionConfig, window: str) -> Gate:
    """Over-confidence (mean confidence minus hit rate) must stay strictly below the bar."""
    threshold = rules.max_confidence_decay
    if decay is None:
        evidence = (
            f"confidence decay unknown: fewer than {rules.min_decay_signals} signals realized "
            f"with a non-zero return in the {window} — {FAILS_CLOSED}"
        )
        return Gate(name="confidence_decay", passed=False, value=None, threshold=threshold, evidence=evidence)
    level = settled(decay, threshold)
    passed = level < threshold
    shown, bar = render_pair(level, threshold, general_number, 3)
    evidence = f"confidence decay {shown} < {bar}" if passed else f"confidence decay {shown} is not < {bar}"
    return Gate(name="confidence_decay", passed=passed, value=decay, threshold=threshold, evidence=evidence)


def cost_drift_gate(drift: float | None, rules: PromotionConfig) -> Gate:
    """Cost per signal in the last period may not rise more than the bar over the reference window."""
    threshold = rules.max_cost_drift
    if drift is None:
        evidence = (
            "cost drift unknown: no signal emitted in the last period or in the reference "
            f"window, or no reference cost — {FAILS_CLOSED}"
        )
        return Gate(name="cost_drift", passed=False, value=None, threshold=threshold, evidence=evidence)
    level = settled(drift, threshold)
    passed = level <= threshold
    shown, bar = render_pair(level, threshold, signed_percent, 1)
    relation = "≤" if passed else ">"
    evidence = f"cost drift {shown} {relation} {bar} (cost per signal, last period vs reference)"
    return Gate(name="cost_drift", passed=passed, value=drift, threshold=threshold, evidence=evidence)


def kill_reasons(standing: AgentStanding, kill_list: Collection[str]) -> list[str]:
    """Why the agent counts as killed, in words; empty when it is alive.

    Killed means: retired in the registry, its class killed in the registry, its own or its
    class's name in config ``kill_list``, or killed (agent or class) by §3.4 in this run. A
    *deprecated* class is not a kill: it blocks promotion (see ``kill_list_gate``) but leaves
    existing prod agents running.
    """
    reasons: list[str] = []
    if standing.stage == "retired":
        reasons.append(f"agent {standing.name} is retired")
    if standing.class_status == "killed":
        reasons.append(f"class {standing.strategy_class} is killed in the registry")
    if standing.name in kill_list:
        reasons.append(f"agent {standing.name} is on kill_list")
    if standing.strategy_class in kill_list:
        reasons.append(f"class {standing.strategy_class} is on kill_list")
    if standing.agent_killed_this_run:
        reasons.append(f"agent {standing.name} {_killed_by(standing.agent_kill_earlier)}")
    if standing.class_killed_this_run:
        reasons.append(f"class {standing.strategy_class} {_killed_by(standing.class_kill_earlier)}")
    return reasons


def _killed_by(earlier: bool) -> str:
    if earlier:
        return (
            "stays killed by an earlier run's retirement rules"
            " (closing its [AUTO-RETIRE] PR or editing agents.yaml lifts it)"
        )
    return "was killed by the retirement rules in this run"


def kill_list_gate(standing: AgentStanding, kill_list: Collection[str]) -> Gate:
    """Nothing killed or deprecated may be promoted; the evidence names every reason found.

    ``value`` is the list of reasons (empty when the gate passes). A class missing from the
    registry has no status to block on, so it does not fail this gate; the evidence says so.
    """
    reasons = kill_reasons(standing, kill_list)
    if standing.class_status == "deprecated":
        reasons.append(f"class {standing.strategy_class} is deprecated")
    if reasons:
        evidence = "blocked: " + "; ".join(reasons)
        return Gate(name="kill_list", passed=False, value=reasons, threshold="none", evidence=evidence)
    class_state = (
        f"class {standing.strategy_class} is not in the registry"
        if standing.class_status is None
        else f"class {standing.strategy_class} is {standing.class_status}"
    )
    evidence = f"agent not retired; {class_state}; neither on kill_list; not killed in this run"
    return Gate(name="kill_list", passed=True, value=reasons, threshold="none", evidence=evidence)


def safety_gate(violations: int, window: str) -> Gate:
    """Any safety violation in the window blocks promotion."""
    passed = violations == 0
    if passed:
        evidence = f"no safety violations in the {window}"
    else:
        noun = "violation" if violations == 1 else "violations"
        evidence = f"{violations} safety {noun} in the {window} (must be 0)"
    return Gate(name="safety", passed=passed, value=violations, threshold=0, evidence=evidence)


def evidence_gate(
    realized: int, coverage: float | None, rules: PromotionConfig, max_loss: float, window: str
) -> Gate:
    """Enough realized signals, and few enough lost to missing prices, to trust the other gates."""
    min_coverage = minimum_coverage(max_loss)
    threshold = {"signals_realized": rules.min_realized_signals, "coverage": min_coverage}
    value = {"signals_realized": realized, "coverage": coverage}
    enough_signals = realized >= rules.min_realized_signals
    signals_part = (
        f"{realized} realized signals {'≥' if enough_signals else '<'} {rules.min_realized_signals}"
    )
    loss_label = f"{general_number(max_loss * 100, 3)}% max loss"
    if coverage is None or not math.isfinite(coverage):
        evidence = (
            f"{signals_part}; coverage unknown: no signal emitted in the {window} was realized "
            f"or lost to missing prices — {FAILS_CLOSED}"
        )
        return Gate(name="evidence", passed=False, value=value, threshold=threshold, evidence=evidence)
    enough_coverage = coverage >= min_coverage
    shown, bar = render_pair(coverage, min_coverage, fixed_decimals, 2)
    coverage_part = f"coverage {shown} {'≥' if enough_coverage else '<'} {bar} ({loss_label})"
    passed = enough_signals and enough_coverage
    # A blocking gate names only what failed; a passing one shows both checks.
    parts = [signals_part, coverage_part] if passed else []
    parts += [] if passed or enough_signals else [signals_part]
    parts += [] if passed or enough_coverage else [coverage_part]
    evidence = "; ".join(parts)
    return Gate(name="evidence", passed=passed, value=value, threshold=threshold, evidence=evidence)


def skill_gate(skill: Skill | None, rules: PromotionConfig) -> Gate:
    """Luck is not skill: the track record must show, with ``min_psr`` confidence, a positive edge.

    The statistic is PSR(0) or the deflated Sharpe ratio (``promotion.skill_test``). A record
    too short, without variation, or with ``q ≤ 0`` fails closed; a failing record says how many
    more trading days would make it eligible at its current Sharpe ratio.
    """
    test = rules.skill_test
    threshold = rules.min_psr
    label = "PSR" if test == "psr" else "DSR"
    if skill is None:
        evidence = f"no skill series — {FAILS_CLOSED}"
        return Gate(name="skill", passed=False, value=None, threshold=threshold, evidence=evidence)
    record = f"{general_number(skill.track_record_days, 4)}-day track record"
    if skill.n < rules.min_skill_days:
        evidence = f"{skill.n} skill days in the {record} (< {rules.min_skill_days}) — {FAILS_CLOSED}"
        evidence += _days_to_eligibility(skill)
        return Gate(name="skill", passed=False, value=None, threshold=threshold, evidence=evidence)
    value = skill.psr if test == "psr" else skill.dsr
    if value is None:
        why = "no variation, or q ≤ 0"
        if skill.sharpe is not None and skill.effective_n is not None and skill.effective_n < 2:
            why = f"its holding periods overlap: {general_number(skill.effective_n, 2)} independent values"
        evidence = f"{label} undefined over {skill.n} days ({why}) — {FAILS_CLOSED}"
        evidence += _days_to_eligibility(skill) if skill.sharpe is not None else ""
        return Gate(name="skill", passed=False, value=None, threshold=threshold, evidence=evidence)
    level = settled(value, threshold)
    passed = level >= threshold
    shown, bar = render_pair(level, threshold, fixed_decimals, 2)
    evidence = f"{label} {shown} {'≥' if passed else '<'} {bar} over {skill.n} days"
    if not passed:
        evidence += _days_to_eligibility(skill)
        if skill.sharpe is not None and skill.sharpe <= 0:
            evidence += "; no positive edge"
        elif (
            test == "dsr" and skill.sharpe is not None and skill.sr0 is not None and skill.sharpe <= skill.sr0
        ):
            shown_sr, sr0 = render_pair(skill.sharpe, skill.sr0, fixed_decimals, 3)
            evidence += (
                f"; Sharpe ratio {shown_sr} ≤ {sr0}, what the best of {skill.trials} trials shows by luck"
            )
    return Gate(name="skill", passed=passed, value=value, threshold=threshold, evidence=evidence)


def _days_to_eligibility(skill: Skill) -> str:
    """The record still needed if the Sharpe ratio holds, or nothing when it cannot be said."""
    days = skill.eligible_in_days
    return "" if days is None or days <= 0 else f"; eligible in ~{days} trading days if its Sharpe holds"


def prod_correlation_gate(skill: Skill | None, rules: PromotionConfig) -> Gate:
    """A near-copy of the prod book adds risk, not diversification: ρ must stay at or below the bar."""
    threshold = rules.max_prod_correlation
    if skill is None:
        evidence = f"no skill series — {FAILS_CLOSED}"
        return Gate(name="prod_correlation", passed=False, value=None, threshold=threshold, evidence=evidence)
    if skill.prod_book_days == 0:
        evidence = "no prod book: no prod agent has a realized signal in the track record"
        return Gate(name="prod_correlation", passed=True, value=None, threshold=threshold, evidence=evidence)
    if skill.prod_correlation is None:
        if skill.common_days < rules.min_skill_days:
            why = f"{skill.common_days} common days (< {rules.min_skill_days})"
        else:
            why = f"one of the two series is constant over the {skill.common_days} common days"
        evidence = f"correlation with the prod book unknown: {why} — {FAILS_CLOSED}"
        return Gate(name="prod_correlation", passed=False, value=None, threshold=threshold, evidence=evidence)
    rho = skill.prod_correlation
    level = settled(rho, threshold)
    passed = level <= threshold
    shown, bar = render_pair(level, threshold, fixed_decimals, 2)
    evidence = f"ρ with the prod book {shown} {'≤' if passed else '>'} {bar} over {skill.common_days} days"
    return Gate(name="prod_correlation", passed=passed, value=rho, threshold=threshold, evidence=evidence)


def minimum_coverage(max_loss: float) -> float:
    """``1 − max_loss`` computed on the decimal ``max_loss`` prints as, then rounded once.

    ``1 - 0.3`` in binary floating point is ``0.7000000000000001``, which a coverage of 14/20
    (the double nearest 0.7) would fail. Subtracting in exact decimal arithmetic from the
    shortest round-trip ``repr`` and rounding once gives the double nearest the intended bar.
    """
    return float(Decimal(1) - Decimal(repr(max_loss)))


Renderer = Callable[[float, int], str]


TIE: Final = 1e-9
"""How close (relative, and absolute near 0) a value must be to its threshold to count as equal to it."""


def settled(value: float, threshold: float) -> float:
    """``value``, or ``threshold`` itself when the two differ by float rounding only (:data:`TIE`).

    A mean confidence of 0.7 against a hit rate of 0.5 computes as 0.2000000000000001 or
    0.19999999999999996 depending on the order of the additions. Against ``max_confidence_decay:
    0.2`` a gate must decide what the numbers are (0.2: not < 0.2, blocked), not how they rounded,
    and the dask engine, adding in another order (its sums agree to 1e-9), must decide the same.
    """
    return threshold if math.isclose(value, threshold, rel_tol=TIE, abs_tol=TIE) else value


def render_pair(value: float, threshold: float, render: Renderer, digits: int) -> tuple[str, str]:
    """Render value and threshold with the fewest digits (from ``digits``) that tell them apart.

    So evidence never reads "79.99 < 80" as "80.0 < 80": precision grows until unequal numbers
    print differently (equal numbers print equally at the starting precision).
    """
    for precision in range(digits, 18):
        shown, bar = render(value, precision), render(threshold, precision)
        if shown != bar or value == threshold:
            return shown, as_configured(bar)
    return render(value, 17), as_configured(render(threshold, 17))


_DECIMAL_NUMBER = re.compile(r"(.*?\d)\.(\d+)(\D*)")


def as_configured(text: str) -> str:
    """A threshold as a person wrote it in metasup.yml: ``80.0`` → ``80``, ``+25.0%`` → ``+25%``.

    Amounts in dollars keep their cents unless they are zero: ``$0.00`` → ``$0``, ``$12.50`` stays.
    """
    match = _DECIMAL_NUMBER.fullmatch(text)
    if match is None:
        return text
    whole, fraction, tail = match.groups()
    cents_are_zero = set(fraction) == {"0"}
    fraction = ("" if cents_are_zero else fraction) if "$" in text else fraction.rstrip("0")
    return whole + (f".{fraction}" if fraction else "") + tail


def general_number(value: float, significant: int) -> str:
    """``86.5``, ``0.12``, ``80``: significant digits, no trailing zeros."""
    return f"{value:.{significant}g}"


def fixed_decimals(value: float, decimals: int) -> str:
    """``0.65``: a fraction with a fixed number of decimals."""
    return f"{value:.{decimals}f}"


def signed_percent(value: float, decimals: int) -> str:
    """``+12.0%``: a relative change as a signed percentage."""
    return f"{value * 100:+.{decimals}f}%"


def usd(value: float, decimals: int) -> str:
    """``-$1,234.00``: US dollars, sign before the symbol."""
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.{decimals}f}"


def describe_window(window: timedelta) -> str:
    """``30-day window`` (or hours/minutes/seconds when the window is not whole days)."""
    seconds = int(window.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds % size == 0:
            return f"{seconds // size}-{unit} window"
    return f"{seconds}-second window"
