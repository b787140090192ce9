"""Promotion gates (SPEC §3.3): each gate passes, fails, and fails closed on null."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from metasup.evaluate.promotion import (
    GATE_NAMES,
    AgentStanding,
    describe_window,
    general_number,
    kill_list_gate,
    minimum_coverage,
    render_pair,
    should_promote,
)
from metasup.model.config import ArtifactsConfig, Config, PromotionConfig, ReconcileConfig, WindowsConfig
from metasup.model.review import Gate, Metrics, Promotion, Skill


def make_metrics(**overrides: Any) -> Metrics:
    """Metrics that pass every gate with the default thresholds; override one to break one."""
    values: dict[str, Any] = {
        "realized_pnl_30d": 1_234.5,
        "behavioral_score": 86.5,
        "confidence_decay": 0.12,
        "cost_drift": 0.10,
        "safety_violations_30d": 0,
        "signals_realized": 24,
        "coverage": 0.8,
    }
    return Metrics(**{**values, **overrides})


def make_skill(**overrides: Any) -> Skill:
    """A track record that passes both skill gates with the default thresholds."""
    values: dict[str, Any] = {
        "track_record_days": 180.0,
        "n": 120,
        "sharpe": 0.25,
        "psr": 0.997,
        "dsr": 0.96,
        "trials": 8,
        "sr0": 0.08,
        "min_track_record_days": 46,
        "eligible_in_days": 0,
        "prod_correlation": 0.2,
        "prod_book_days": 120,
        "common_days": 110,
    }
    return Skill(**{**values, **overrides})


def make_config(**overrides: Any) -> Config:
    artifacts = ArtifactsConfig(alpha=Path("alpha.jsonl"), prices=Path("prices.csv"))
    return Config(artifacts=artifacts, **overrides)


def make_standing(**overrides: Any) -> AgentStanding:
    values: dict[str, Any] = {
        "name": "momo-v2",
        "strategy_class": "momentum",
        "stage": "sandbox",
        "class_status": "active",
    }
    return AgentStanding(**{**values, **overrides})


def gate_of(promotion: Promotion, name: str) -> Gate:
    return next(g for g in promotion.gates if g.name == name)


def judge(
    name: str,
    config: Config | None = None,
    standing: AgentStanding | None = None,
    skill: Skill | None = None,
    **metrics: Any,
) -> Gate:
    promotion = should_promote(
        make_metrics(**metrics), config or make_config(), standing or make_standing(), skill or make_skill()
    )
    return gate_of(promotion, name)


# --- the entry point ---------------------------------------------------------------------------


def test_should_promote__approved_when_every_gate_passes() -> None:
    promotion = should_promote(make_metrics(), make_config(), make_standing(), make_skill())

    assert promotion.result == "APPROVED"
    assert [g.name for g in promotion.gates] == list(GATE_NAMES)
    assert all(g.passed for g in promotion.gates)


@pytest.mark.parametrize("stage", ["prod", "retired"])
def test_should_promote__not_applicable_outside_sandbox(stage: str) -> None:
    promotion = should_promote(make_metrics(), make_config(), make_standing(stage=stage))

    assert promotion == Promotion(result="NOT_APPLICABLE", gates=[])


@pytest.mark.parametrize(
    ("failing_gate", "metrics", "standing"),
    [
        ("behavioral", {"behavioral_score": 50.0}, {}),
        ("pnl", {"realized_pnl_30d": -1.0}, {}),
        ("confidence_decay", {"confidence_decay": 0.5}, {}),
        ("cost_drift", {"cost_drift": 1.0}, {}),
        ("kill_list", {}, {"class_status": "deprecated"}),
        ("safety", {"safety_violations_30d": 1}, {}),
        ("evidence", {"signals_realized": 3}, {}),
        ("skill", {"skill": {"psr": 0.90}}, {}),
        ("prod_correlation", {"skill": {"prod_correlation": 0.9}}, {}),
    ],
)
def test_should_promote__blocked_by_any_single_failing_gate(
    failing_gate: str, metrics: dict[str, Any], standing: dict[str, Any]
) -> None:
    skill = make_skill(**metrics.pop("skill", {}))
    promotion = should_promote(make_metrics(**metrics), make_config(), make_standing(**standing), skill)

    assert promotion.result == "BLOCKED"
    assert [g.name for g in promotion.gates if not g.passed] == [failing_gate]


def test_should_promote__all_null_metrics_fail_closed() -> None:
    promotion = should_promote(Metrics(), make_config(), make_standing())

    assert promotion.result == "BLOCKED"
    failed = {g.name for g in promotion.gates if not g.passed}
    assert failed == {
        "behavioral", "pnl", "confidence_decay", "cost_drift", "evidence", "skill", "prod_correlation"
    }  # fmt: skip
    assert all("fails closed" in gate_of(promotion, n).evidence for n in failed - {"pnl"})


# --- behavioral ------------------------------------------------------------------------------


def test_behavioral_gate__passes_at_or_above_threshold() -> None:
    gate = judge("behavioral", behavioral_score=86.5)

    assert gate == Gate(
        name="behavioral", passed=True, value=86.5, threshold=80.0, evidence="behavioral score 86.5 ≥ 80"
    )


def test_behavioral_gate__boundary_is_inclusive() -> None:
    gate = judge("behavioral", behavioral_score=80.0)

    assert gate.passed
    assert gate.evidence == "behavioral score 80 ≥ 80"


def test_behavioral_gate__fails_below_with_enough_digits_to_tell() -> None:
    gate = judge("behavioral", behavioral_score=79.99)

    assert not gate.passed
    assert gate.evidence == "behavioral score 79.99 < 80"


def test_behavioral_gate__null_fails_closed() -> None:
    gate = judge("behavioral", behavioral_score=None)

    assert not gate.passed
    assert gate.value is None
    assert gate.evidence == "no behavioral_eval events in the 30-day window — fails closed"


def test_behavioral_gate__threshold_from_config() -> None:
    config = make_config(promotion=PromotionConfig(min_behavioral_score=90))

    gate = judge("behavioral", config=config, behavioral_score=86.5)

    assert (gate.passed, gate.threshold, gate.evidence) == (False, 90.0, "behavioral score 86.5 < 90")


# --- pnl -------------------------------------------------------------------------------------


def test_pnl_gate__passes_when_strictly_positive() -> None:
    gate = judge("pnl", realized_pnl_30d=1_234.5)

    assert gate == Gate(
        name="pnl", passed=True, value=1_234.5, threshold=0.0, evidence="realized PnL $1,234.50 > $0"
    )


def test_pnl_gate__zero_is_not_positive() -> None:
    gate = judge("pnl", realized_pnl_30d=0.0)

    assert not gate.passed
    assert gate.evidence == "realized PnL $0.00 is not > $0"


def test_pnl_gate__fails_on_a_loss() -> None:
    gate = judge("pnl", realized_pnl_30d=-1_234.0)

    assert not gate.passed
    assert gate.evidence == "realized PnL -$1,234.00 is not > $0"


def test_pnl_gate__a_cent_above_a_threshold_shows_the_cent() -> None:
    config = make_config(promotion=PromotionConfig(min_realized_pnl=100))

    gate = judge("pnl", config=config, realized_pnl_30d=100.001)

    assert gate.passed
    assert gate.evidence == "realized PnL $100.001 > $100"


@pytest.mark.parametrize("pnl", [float("nan"), float("inf")])
def test_pnl_gate__non_finite_fails_closed(pnl: float) -> None:
    gate = judge("pnl", realized_pnl_30d=pnl)

    assert not gate.passed
    assert gate.value is None
    assert gate.evidence.endswith("is not a finite number (" + str(pnl) + ") — fails closed")


# --- confidence_decay -----------------------------------------------------------------------


def test_confidence_decay_gate__passes_strictly_below() -> None:
    gate = judge("confidence_decay", confidence_decay=0.12)

    assert (gate.passed, gate.value, gate.threshold) == (True, 0.12, 0.2)
    assert gate.evidence == "confidence decay 0.12 < 0.2"


def test_confidence_decay_gate__equal_fails() -> None:
    gate = judge("confidence_decay", confidence_decay=0.2)

    assert not gate.passed
    assert gate.evidence == "confidence decay 0.2 is not < 0.2"


def test_gates_decide_on_the_numbers_not_their_rounding() -> None:
    """0.7 − 0.5 is 0.2, however the subtraction rounded: blocked at ``max_confidence_decay: 0.2``.

    Scores of 80.1, 84.8 and 75.1 average 80: passed at ``min_behavioral_score: 80``. A real miss
    a hair away (1e-6) still decides, and still shows enough digits to tell.
    """
    assert 0.7 - 0.5 < 0.2  # float arithmetic alone would pass this gate
    for decay in (0.7 - 0.5, math.nextafter(0.2, 1.0)):
        gate = judge("confidence_decay", confidence_decay=decay)
        assert not gate.passed
        assert gate.evidence == "confidence decay 0.2 is not < 0.2"
    score = sum([80.1, 84.8, 75.1]) / 3
    assert score < 80  # and would block this one
    behavioral = judge("behavioral", behavioral_score=score)
    assert behavioral.passed
    assert behavioral.evidence == "behavioral score 80 ≥ 80"
    assert judge("confidence_decay", confidence_decay=0.2 - 1e-6).passed
    near_miss = judge("behavioral", behavioral_score=80 - 1e-6)
    assert not near_miss.passed
    assert near_miss.evidence == "behavioral score 79.999999 < 80"


def test_confidence_decay_gate__null_fails_closed() -> None:
    gate = judge("confidence_decay", confidence_decay=None)

    assert not gate.passed
    assert gate.evidence == (
        "confidence decay unknown: fewer than 10 signals realized with a non-zero return "
        "in the 30-day window — fails closed"
    )


# --- cost_drift ------------------------------------------------------------------------------


def test_cost_drift_gate__passes_at_or_below() -> None:
    gate = judge("cost_drift", cost_drift=0.1)

    assert gate.passed
    assert gate.evidence == "cost drift +10.0% ≤ +25% (cost per signal, last period vs reference)"


def test_cost_drift_gate__boundary_is_inclusive() -> None:
    assert judge("cost_drift", cost_drift=0.25).passed


def test_cost_drift_gate__fails_above() -> None:
    gate = judge("cost_drift", cost_drift=0.3)

    assert (gate.passed, gate.value, gate.threshold) == (False, 0.3, 0.25)
    assert gate.evidence == "cost drift +30.0% > +25% (cost per signal, last period vs reference)"


def test_cost_drift_gate__null_fails_closed() -> None:
    gate = judge("cost_drift", cost_drift=None)

    assert not gate.passed
    assert gate.evidence == (
        "cost drift unknown: no signal emitted in the last period or in the reference window, "
        "or no reference cost — fails closed"
    )


# --- kill_list -------------------------------------------------------------------------------


def test_kill_list_gate__passes_for_an_active_agent() -> None:
    gate = judge("kill_list")

    assert (gate.passed, gate.value) == (True, [])
    assert gate.evidence == (
        "agent not retired; class momentum is active; neither on kill_list; not killed in this run"
    )


def test_kill_list_gate__unregistered_class_does_not_block() -> None:
    gate = judge("kill_list", standing=make_standing(class_status=None))

    assert gate.passed
    assert "class momentum is not in the registry" in gate.evidence


@pytest.mark.parametrize(
    ("standing", "kill_list", "reason"),
    [
        ({"stage": "retired"}, [], "agent momo-v2 is retired"),
        ({"class_status": "killed"}, [], "class momentum is killed in the registry"),
        ({"class_status": "deprecated"}, [], "class momentum is deprecated"),
        ({}, ["momo-v2"], "agent momo-v2 is on kill_list"),
        ({}, ["momentum"], "class momentum is on kill_list"),
        ({"agent_killed_this_run": True}, [], "agent momo-v2 was killed by the retirement rules in this run"),
        (
            {"class_killed_this_run": True},
            [],
            "class momentum was killed by the retirement rules in this run",
        ),
    ],
)
def test_kill_list_gate__fails_and_names_the_reason(
    standing: dict[str, Any], kill_list: list[str], reason: str
) -> None:
    gate = kill_list_gate(make_standing(**standing), kill_list)

    assert not gate.passed
    assert gate.value == [reason]
    assert gate.evidence == f"blocked: {reason}"


def test_kill_list_gate__lists_every_reason() -> None:
    standing = make_standing(class_status="deprecated", agent_killed_this_run=True)

    gate = kill_list_gate(standing, ["momo-v2"])

    assert gate.evidence == (
        "blocked: agent momo-v2 is on kill_list; agent momo-v2 was killed by the retirement rules "
        "in this run; class momentum is deprecated"
    )


def test_kill_list_gate__reads_config_kill_list() -> None:
    gate = judge("kill_list", config=make_config(kill_list=["momentum"]))

    assert not gate.passed


# --- safety ----------------------------------------------------------------------------------


def test_safety_gate__passes_with_no_violation() -> None:
    gate = judge("safety")

    assert gate == Gate(
        name="safety", passed=True, value=0, threshold=0, evidence="no safety violations in the 30-day window"
    )


@pytest.mark.parametrize(
    ("count", "evidence"),
    [
        (1, "1 safety violation in the 30-day window (must be 0)"),
        (3, "3 safety violations in the 30-day window (must be 0)"),
    ],
)
def test_safety_gate__fails_on_any_violation(count: int, evidence: str) -> None:
    gate = judge("safety", safety_violations_30d=count)

    assert (gate.passed, gate.value, gate.evidence) == (False, count, evidence)


# --- evidence --------------------------------------------------------------------------------


def test_evidence_gate__passes_with_enough_signals_and_coverage() -> None:
    gate = judge("evidence", signals_realized=24, coverage=0.8)

    assert gate.passed
    assert gate.value == {"signals_realized": 24, "coverage": 0.8}
    assert gate.threshold == {"signals_realized": 20, "coverage": 0.65}
    assert gate.evidence == "24 realized signals ≥ 20; coverage 0.80 ≥ 0.65 (35% max loss)"


def test_evidence_gate__fails_with_too_few_signals() -> None:
    gate = judge("evidence", signals_realized=12)

    assert not gate.passed
    assert gate.evidence == "12 realized signals < 20"


def test_evidence_gate__fails_with_low_coverage() -> None:
    gate = judge("evidence", coverage=0.58)

    assert not gate.passed
    assert gate.evidence == "coverage 0.58 < 0.65 (35% max loss)"


def test_evidence_gate__null_coverage_fails_closed() -> None:
    gate = judge("evidence", coverage=None)

    assert not gate.passed
    assert gate.evidence == (
        "24 realized signals ≥ 20; coverage unknown: no signal emitted in the 30-day window "
        "was realized or lost to missing prices — fails closed"
    )


def test_evidence_gate__boundaries_are_inclusive() -> None:
    assert judge("evidence", signals_realized=20, coverage=13 / 20).passed


def test_evidence_gate__derived_threshold_has_no_binary_noise() -> None:
    """``1 - 0.3 == 0.7000000000000001`` in floats; 14 of 20 must still meet a 30% max loss."""
    config = make_config(reconcile=ReconcileConfig(max_loss=0.3))

    gate = judge("evidence", config=config, coverage=14 / 20)

    assert gate.passed
    assert gate.threshold["coverage"] == 0.7
    assert gate.evidence == "24 realized signals ≥ 20; coverage 0.70 ≥ 0.7 (30% max loss)"


def test_evidence_gate__just_below_the_bar_fails_and_says_so() -> None:
    gate = judge("evidence", coverage=0.6499)

    assert not gate.passed
    assert "coverage 0.6499 < 0.65 " in gate.evidence


# --- helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("max_loss", "expected"), [(0.35, 0.65), (0.3, 0.7), (0.0, 1.0), (1.0, 0.0)])
def test_minimum_coverage__is_the_decimal_complement(max_loss: float, expected: float) -> None:
    assert minimum_coverage(max_loss) == expected


@pytest.mark.parametrize(
    ("window", "label"),
    [
        (timedelta(days=30), "30-day window"),
        (timedelta(hours=36), "36-hour window"),
        (timedelta(minutes=90), "90-minute window"),
        (timedelta(seconds=45), "45-second window"),
    ],
)
def test_describe_window__names_the_unit(window: timedelta, label: str) -> None:
    assert describe_window(window) == label


def test_should_promote__evidence_names_a_custom_window() -> None:
    config = make_config(windows=WindowsConfig(window=timedelta(days=14)))

    gate = judge("safety", config=config, safety_violations_30d=2)

    assert gate.evidence == "2 safety violations in the 14-day window (must be 0)"


def test_render_pair__equal_numbers_keep_the_short_form() -> None:
    assert render_pair(80.0, 80.0, general_number, 3) == ("80", "80")


# --- skill (SPEC §3.7) -------------------------------------------------------------------------


def test_skill_gate__passes_at_or_above_min_psr() -> None:
    gate = judge("skill", skill=make_skill(psr=0.95))

    assert gate == Gate(
        name="skill", passed=True, value=0.95, threshold=0.95, evidence="PSR 0.95 ≥ 0.95 over 120 days"
    )


def test_skill_gate__fails_below_and_says_when_it_could_be_eligible() -> None:
    gate = judge("skill", skill=make_skill(n=40, psr=0.81, min_track_record_days=97, eligible_in_days=57))

    assert not gate.passed
    assert gate.evidence == "PSR 0.81 < 0.95 over 40 days; eligible in ~57 trading days if its Sharpe holds"


def test_skill_gate__negative_edge_is_never_eligible() -> None:
    gate = judge(
        "skill", skill=make_skill(sharpe=-0.1, psr=0.2, min_track_record_days=None, eligible_in_days=None)
    )

    assert not gate.passed
    assert gate.evidence.endswith("; no positive edge")


def test_skill_gate__a_record_too_short_says_when_it_could_be_eligible() -> None:
    gate = judge("skill", skill=make_skill(n=6, psr=0.99, min_track_record_days=4, eligible_in_days=4))

    assert not gate.passed
    assert gate.evidence == (
        "6 skill days in the 180-day track record (< 10) — fails closed; "
        "eligible in ~4 trading days if its Sharpe holds"
    )


def test_skill_gate__dsr_below_the_deflated_bar_says_so() -> None:
    config = make_config(promotion=PromotionConfig(skill_test="dsr"))
    skill = make_skill(sharpe=0.05, psr=0.97, dsr=0.3, sr0=0.08, trials=8, eligible_in_days=None)

    gate = judge("skill", config=config, skill=skill)

    assert not gate.passed
    assert (
        gate.evidence
        == "DSR 0.30 < 0.95 over 120 days; Sharpe ratio 0.050 ≤ 0.08, what the best of 8 trials shows by luck"
    )


def test_skill_gate__dsr_when_configured() -> None:
    config = make_config(promotion=PromotionConfig(skill_test="dsr"))
    gate = judge("skill", config=config, skill=make_skill(psr=0.99, dsr=0.9))

    assert (gate.passed, gate.value) == (False, 0.9)
    assert gate.evidence.startswith("DSR 0.90 < 0.95")


@pytest.mark.parametrize(
    ("skill", "words"),
    [
        ({"n": 9}, "9 skill days in the 180-day track record (< 10) — fails closed"),
        (
            {"psr": None, "sharpe": None},
            "PSR undefined over 120 days (no variation, or q ≤ 0) — fails closed",
        ),
    ],
)
def test_skill_gate__null_fails_closed(skill: dict[str, Any], words: str) -> None:
    gate = judge("skill", skill=make_skill(**skill))

    assert (gate.passed, gate.value, gate.evidence) == (False, None, words)


def test_skill_gates__without_a_skill_series_fail_closed() -> None:
    promotion = should_promote(make_metrics(), make_config(), make_standing(), None)

    assert [g.name for g in promotion.gates if not g.passed] == ["skill", "prod_correlation"]


def test_prod_correlation_gate__boundary_passes_and_above_fails() -> None:
    assert judge("prod_correlation", skill=make_skill(prod_correlation=0.7)).passed
    gate = judge("prod_correlation", skill=make_skill(prod_correlation=0.93))

    assert not gate.passed
    assert gate.evidence == "ρ with the prod book 0.93 > 0.7 over 110 days"


def test_prod_correlation_gate__no_prod_book_passes() -> None:
    gate = judge("prod_correlation", skill=make_skill(prod_correlation=None, prod_book_days=0, common_days=0))

    assert (gate.passed, gate.value) == (True, None)
    assert gate.evidence.startswith("no prod book")


def test_prod_correlation_gate__too_few_common_days_fail_closed() -> None:
    gate = judge("prod_correlation", skill=make_skill(prod_correlation=None, common_days=4))

    assert not gate.passed
    assert gate.evidence == "correlation with the prod book unknown: 4 common days (< 10) — fails closed"


def test_prod_correlation_gate__a_constant_series_fails_closed_and_says_why() -> None:
    gate = judge("prod_correlation", skill=make_skill(prod_correlation=None, common_days=60))

    assert not gate.passed
    assert gate.evidence == (
        "correlation with the prod book unknown: one of the two series is constant over the 60 common days"
        " — fails closed"
    )
