"""Recommendations: what to do about each finding, and how urgently (SPEC §3.6).

Separate from ``findings.py`` (what is wrong) because it is a different question: one action per
subject and kind, never contradictory, derived from findings that are already decided.
"""

from __future__ import annotations

from collections.abc import Sequence

from metasup.model.review import AgentReport, Finding, FindingKind, Priority, Recommendation

MOOT_WHEN_EXCLUDED: frozenset[FindingKind] = frozenset(
    {
        "promotion_blocked",
        "regression_blocks",
        "cost_drift",
        "cost_regression",
        "score_regression",
        "registered_no_signals",
    }
)
"""Finding kinds whose action makes no sense for an agent that is killed, retired or in a killed
class: it is retired, not told to fix its gates, review its cost or look for its signals (SPEC §4.2)."""


def excluded(agent: AgentReport) -> bool:
    """Killed (own rules, its class, the kill list) or retired: leaving the fleet, not being tuned."""
    return agent.stage == "retired" or agent.retirement.kill or agent.status.startswith(("killed", "retired"))


def recommend(findings: Sequence[Finding], agents: Sequence[AgentReport]) -> list[Recommendation]:
    """Turn findings (and approvals) into actions, P0 first; one action per subject and kind.

    Never contradictory: an excluded agent (:func:`excluded`) gets no "fix the gates", "review the
    cost" or "review the evals" action, only what its exclusion calls for.
    """
    gone = {a.agent for a in agents if excluded(a)}
    actions: list[Recommendation] = []
    for finding in findings:
        if finding.kind in MOOT_WHEN_EXCLUDED and finding.agent in gone:
            continue
        actions.append(_recommendation_for(finding))
    for agent in agents:
        if agent.promotion.result == "APPROVED":
            actions.append(
                Recommendation(
                    change=f"Promote {agent.agent} to prod (merge its [AUTO-PROMOTE] PR)",
                    priority="P1",
                    agent=agent.agent,
                )
            )
    unique = list(dict.fromkeys(actions))
    return sorted(unique, key=lambda r: r.priority)


ACTIONS: dict[FindingKind, tuple[str, Priority]] = {
    "ledger_broken": ("Restore the audit ledger from the state branch history and investigate", "P0"),
    "safety_violation": ("Investigate the safety violation of {subject} before any promotion", "P0"),
    "kill": ("Retire {subject} (merge its [AUTO-RETIRE] PR)", "P0"),
    "class_kill": ("Retire strategy class {subject} (merge its [AUTO-RETIRE] PR)", "P0"),
    "demotion": ("Demote {subject} to sandbox (merge its [AUTO-DEMOTE] PR, or close it to veto)", "P0"),
    "regression_blocks": ("Fix the regression that blocks {subject} before merging", "P0"),
    "promotion_blocked": ("Fix the failing gates of {subject}", "P1"),
    "cost_drift": ("Review the running cost of {subject}", "P1"),
    "cost_regression": ("Review the running cost of {subject}", "P1"),
    "score_regression": ("Review the behavior evals of {subject}", "P1"),
    "unregistered_agent": ("Register {subject} in agents.yaml", "P2"),
    "data_quality": ("Fix the rejected input lines listed in data_quality", "P2"),
    "benchmark_missing": ("Check the benchmark price feed for gaps", "P2"),
    "stale_prices": ("Refresh the market price feed up to as_of before trusting this review", "P0"),
    "empty_file": ("Check the export of the artifact files that hold no data row", "P1"),
    "no_baseline": ("Run metasup in rolling mode on the base branch to create a snapshot", "P2"),
    "kill_list_unknown": ("Fix the kill_list entries in metasup.yml that name no agent or class", "P0"),
    "registered_no_signals": ("Check that {subject} emits signals under its name in agents.yaml", "P1"),
    "regime_unseen": ("Fix the regimes in agents.yaml that the regime telemetry never reports", "P1"),
    "benchmark_absent": ("Fix `benchmark` in metasup.yml or add its bars to the prices", "P0"),
    "retirement_no_data": ("Check the price feed for the symbols of {subject}", "P1"),
}
"""What to do about each kind of finding, and how urgently."""


def _recommendation_for(finding: Finding) -> Recommendation:
    change, priority = ACTIONS[finding.kind]
    subject = finding.agent or finding.strategy_class or "the fleet"
    return Recommendation(change=change.format(subject=subject), priority=priority, agent=finding.agent)
