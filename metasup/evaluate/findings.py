"""Findings, their severity, and the recommendations that follow from them (SPEC §3.6).

A finding is something a maintainer must read before merging; its severity decides the exit
code (``--fail-on``) and the comment's headline, so every rule here is deliberately simple to
explain: one condition, one severity. The thresholds the spec leaves open are in
``docs/gates.md`` ("Findings").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from metasup.evaluate.findings_missing import benchmark_findings, held_retirement_findings
from metasup.evaluate.findings_names import (
    Seen,
    kill_list_findings,
    regime_findings,
    registered_suggestions,
    silent_agent_findings,
)
from metasup.model.config import Config
from metasup.model.registry import Registry
from metasup.model.review import (
    SEVERITY_ORDER,
    AgentReport,
    ClassReport,
    DataQuality,
    Finding,
    Gate,
    Review,
    Severity,
)

SCORE_REGRESSION_POINTS = 5.0
"""A behavioral score this many points below the base's is a regression (MEDIUM)."""

COST_REGRESSION_SHARE = 0.25
"""A 30-day cost this much above the base's is a regression (MEDIUM)."""

DATA_QUALITY_EXAMPLES = 3
"""How many rejected lines a data-quality finding names; all of them are in the report."""


def overall_severity(findings: Iterable[Finding]) -> Severity:
    """The highest severity among ``findings``; ``NONE`` when there are none."""
    ranks = [SEVERITY_ORDER.index(f.severity) for f in findings]
    return SEVERITY_ORDER[max(ranks, default=0)]


def agent_findings(report: AgentReport, config: Config, suggestion: str | None = None) -> list[Finding]:
    """What is wrong with one agent, judged on this run alone.

    ``suggestion`` ("did you mean …", ``findings_names.registered_suggestions``) ends the
    unregistered-agent finding: the likeliest cause of an unregistered agent is a misspelt name.
    """
    found: list[Finding] = []
    metrics = report.metrics
    if metrics.safety_violations_30d > 0:
        found.append(
            Finding(
                kind="safety_violation",
                title=f"Safety violation by {report.agent}",
                impact="A safety rule was broken in the window; the agent cannot be promoted.",
                evidence=f"{metrics.safety_violations_30d} safety_violation event(s) in the window",
                severity="HIGH",
                agent=report.agent,
            )
        )
    if report.retirement.kill and report.stage != "retired":  # a retired agent's old trades: moot
        fired = ", ".join(r.name for r in report.retirement.rules if r.triggered)
        found.append(
            Finding(
                kind="kill",
                title=f"Kill triggered for {report.agent}",
                impact="The agent is excluded from allocation now; an [AUTO-RETIRE] PR records it.",
                evidence=f"retirement rules fired: {fired}",
                severity="HIGH",
                agent=report.agent,
            )
        )
    if report.demotion is not None and report.demotion.demoted:
        found.append(
            Finding(
                kind="demotion",
                title=f"Demotion: {report.agent} prod → sandbox",
                impact="Its live edge turned negative: it leaves the allocation now; an [AUTO-DEMOTE] PR "
                "records it and a person can veto it by closing that PR.",
                evidence=report.demotion.evidence,
                severity="HIGH",
                agent=report.agent,
            )
        )
    if report.promotion.result == "BLOCKED":
        found.append(
            Finding(
                kind="promotion_blocked",
                title=f"Promotion blocked for {report.agent}",
                impact="The sandbox agent stays in sandbox until every gate passes.",
                evidence=blocked_evidence(report.promotion.gates),
                severity="MEDIUM",
                agent=report.agent,
            )
        )
    drift = metrics.cost_drift
    if drift is not None and drift > config.promotion.max_cost_drift:
        found.append(
            Finding(
                kind="cost_drift",
                title=f"Cost drift out of bounds for {report.agent}",
                impact="Cost per signal rose faster than the configured bound.",
                evidence=f"cost per signal {drift:+.1%} vs the reference window "
                f"(bound +{config.promotion.max_cost_drift * 100:g}%)",
                severity="MEDIUM",
                agent=report.agent,
            )
        )
    if not report.registered:
        found.append(
            Finding(
                kind="unregistered_agent",
                title=f"Unregistered agent {report.agent}",
                impact="The agent emits signals but is not in agents.yaml; it is treated as sandbox.",
                evidence=f"{metrics.signals_emitted} signal(s) in the window, agent not in agents.yaml"
                + (f"; {suggestion}" if suggestion else ""),
                severity="LOW",
                agent=report.agent,
            )
        )
    return found


BLOCKED_EVIDENCE_GATES = 2
"""How many failing gates a "Promotion blocked" finding quotes in full; the rest are named."""


def blocked_evidence(gates: Sequence[Gate]) -> str:
    """What failed, and only that: the first failing gates' evidence, the others by name.

    A killed agent's blocking reason is the kill; its other failing gates are moot and only named.
    """
    failed = [g for g in gates if not g.passed]
    killed = [g for g in failed if g.name == "kill_list"]
    quoted = killed[:1] if killed else failed[:BLOCKED_EVIDENCE_GATES]
    others = [g.name for g in failed if g not in quoted]
    text = "; ".join(g.evidence for g in quoted)
    if others:
        text += f"; also failing: {', '.join(others)}"
    return text


def class_findings(report: ClassReport) -> list[Finding]:
    """A new kill of a registered class (one already killed in the registry is not news)."""
    if not report.retirement.kill or not report.registered or report.registry_status == "killed":
        return []
    fired = ", ".join(r.name for r in report.retirement.rules if r.triggered)
    return [
        Finding(
            kind="class_kill",
            title=f"Kill triggered for strategy class {report.name}",
            impact=f"All {len(report.agents)} agent(s) of the class are excluded from allocation now.",
            evidence=f"retirement rules fired on pooled metrics: {fired}",
            severity="HIGH",
            strategy_class=report.name,
        )
    ]


def regression_findings(report: AgentReport, base: AgentReport) -> list[Finding]:
    """Compare one agent with its entry in the base's review."""
    found: list[Finding] = []
    if base.promotion.result == "APPROVED" and report.promotion.result == "BLOCKED":
        failed = ", ".join(g.name for g in report.promotion.gates if not g.passed)
        found.append(
            Finding(
                kind="regression_blocks",
                title=f"Regression blocks {report.agent}",
                impact="An agent approved on the base is blocked by this change.",
                evidence=f"gates now failing: {failed}",
                severity="HIGH",
                agent=report.agent,
            )
        )
    score, base_score = report.metrics.behavioral_score, base.metrics.behavioral_score
    if score is not None and base_score is not None and base_score - score >= SCORE_REGRESSION_POINTS:
        found.append(
            Finding(
                kind="score_regression",
                title=f"Behavioral score regression for {report.agent}",
                impact="The agent behaves worse than on the base.",
                evidence=f"behavioral score {score:.1f} vs {base_score:.1f} on the base",
                severity="MEDIUM",
                agent=report.agent,
            )
        )
    cost, base_cost = report.metrics.cost_30d, base.metrics.cost_30d
    if base_cost > 0 and cost / base_cost - 1 > COST_REGRESSION_SHARE:
        found.append(
            Finding(
                kind="cost_regression",
                title=f"Cost regression for {report.agent}",
                impact="The agent costs noticeably more than on the base.",
                evidence=f"30-day cost ${cost:,.2f} vs ${base_cost:,.2f} on the base "
                f"({cost / base_cost - 1:+.0%})",
                severity="MEDIUM",
                agent=report.agent,
            )
        )
    return found


def data_quality_findings(data_quality: DataQuality) -> list[Finding]:
    found: list[Finding] = []
    if data_quality.rejected_total:
        examples = "; ".join(
            f"{r.file}:{r.line} {r.reason}" for r in data_quality.rejected[:DATA_QUALITY_EXAMPLES]
        )
        found.append(
            Finding(
                kind="data_quality",
                title=f"{data_quality.rejected_total} input line(s) rejected",
                impact="Rejected lines are left out of every metric.",
                evidence=f"first: {examples}",
                severity="LOW",
            )
        )
    if data_quality.benchmark_missing:
        found.append(
            Finding(
                kind="benchmark_missing",
                title=f"Benchmark bar missing for {data_quality.benchmark_missing} signal(s)",
                impact="Their benchmark return counts as 0, so their excess return equals their return.",
                evidence="no benchmark bar within max_delay of the entry or exit bar",
                severity="LOW",
            )
        )
    return found


def empty_file_findings(data_quality: DataQuality) -> list[Finding]:
    """An artifact file without a single accepted row: empty, a header only, or nothing usable."""
    return [
        Finding(
            kind="empty_file",
            title=f"No data row in {f.path}",
            impact="Nothing from this file enters any metric: an export may have failed or been cut.",
            evidence=f"{f.lines} line(s): {f.accepted} accepted, {f.rejected} rejected, {f.ignored} ignored",
            severity="MEDIUM",
        )
        for f in data_quality.files
        if f.accepted == 0
    ]


def stale_price_findings(
    prices_end: pd.Timestamp | None, as_of: pd.Timestamp | None, config: Config
) -> list[Finding]:
    """``as_of`` more than ``windows.stale_after`` past the latest price bar: judging stale data."""
    if as_of is None:
        return []
    if prices_end is None or pd.isna(prices_end):
        return [
            Finding(
                kind="stale_prices",
                title="No price bars",
                impact="No signal can be reconciled: every PnL and alpha metric is empty, so nothing "
                "is retired for cost over value (that rule needs a realized signal).",
                evidence=f"no valid price bar at or before as_of {as_of.isoformat()}",
                severity="HIGH",
            )
        ]
    gap = as_of - prices_end
    if gap <= pd.Timedelta(config.windows.stale_after):
        return []
    return [
        Finding(
            kind="stale_prices",
            title=f"Prices end at {prices_end.isoformat()}",
            impact="Signals after the last price bar cannot be reconciled; the review judges stale data.",
            evidence=(
                f"as_of {as_of.isoformat()} is {_days(gap)} after the latest price bar"
                f" (windows.stale_after: {_days(pd.Timedelta(config.windows.stale_after))})"
            ),
            severity="HIGH",
        )
    ]


def _days(gap: pd.Timedelta) -> str:
    days = gap.total_seconds() / 86400
    return f"{days:.0f}d" if days >= 1 else f"{gap.total_seconds() / 3600:.1f}h"


def baseline_findings(baseline: Review | None, base_ref: str) -> list[Finding]:
    if baseline is not None:
        return []
    return [
        Finding(
            kind="no_baseline",
            title="No baseline",
            impact="Deltas and regressions against the base cannot be shown.",
            evidence=f"no snapshot or artifacts found for `{base_ref}`",
            severity="LOW",
        )
    ]


def ledger_findings(ledger_problem: str | None) -> list[Finding]:
    if ledger_problem is None:
        return []
    return [
        Finding(
            kind="ledger_broken",
            title="Audit ledger chain broken",
            impact="The audit trail cannot be trusted; this run writes nothing.",
            evidence=ledger_problem,
            severity="CRITICAL",
        )
    ]


def collect_findings(
    agents: Sequence[AgentReport],
    classes: Sequence[ClassReport],
    data_quality: DataQuality,
    config: Config,
    baseline: Review | None,
    base_ref: str,
    ledger_problem: str | None = None,
    *,
    prices_end: pd.Timestamp | None = None,
    as_of: pd.Timestamp | None = None,
    registry: Registry | None = None,
    seen: Seen | None = None,
) -> list[Finding]:
    """Every finding of a run, most severe first (stable within a severity).

    ``as_of`` and ``prices_end`` (the latest price bar at or before it) give the staleness finding;
    without ``as_of`` it is not judged. ``seen`` (what the data holds up to ``as_of``) and
    ``registry`` give the checks of the user's names against the data (``findings_names``) and
    of the benchmark; without them those are not judged.
    """
    found = ledger_findings(ledger_problem)
    found += stale_price_findings(prices_end, as_of, config)
    found += kill_list_findings(config.kill_list, agents, classes)
    for klass in classes:
        found += class_findings(klass)
    suggestions = registered_suggestions(agents, seen) if seen is not None else {}
    base_reports = {a.agent: a for a in baseline.agents} if baseline is not None else {}
    for agent in agents:
        found += agent_findings(agent, config, suggestions.get(agent.agent))
        if (base := base_reports.get(agent.agent)) is not None:
            found += regression_findings(agent, base)
    found += held_retirement_findings(agents, classes, config.retirement.min_rules)
    if seen is not None:
        found += silent_agent_findings(agents, seen)
        if registry is not None:
            found += regime_findings(registry, seen)
    benchmark = benchmark_findings(config, data_quality, seen) if seen is not None else []
    found += benchmark
    found += [
        f for f in data_quality_findings(data_quality) if not (benchmark and f.kind == "benchmark_missing")
    ]
    found += empty_file_findings(data_quality)
    found += baseline_findings(baseline, base_ref)
    return sorted(found, key=lambda f: -SEVERITY_ORDER.index(f.severity))
