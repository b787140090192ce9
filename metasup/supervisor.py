"""``run_meta_supervisor``: artifacts in, a complete Review out — pure orchestration.

The order matters and is the spec's: strategy classes are judged before agents because a
class killed in this run fails its agents' ``kill_list`` gate and takes them out of
allocation; promotions are decided after kills for the same reason.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from metasup.artifacts import Artifacts
from metasup.config import Config
from metasup.findings import collect_findings, overall_severity, recommend
from metasup.metrics import MetricsTable, compute_metrics
from metasup.portfolio import allocate, allocation_score, attribute
from metasup.promotion import AgentStanding, should_promote
from metasup.reconcile import reconcile
from metasup.registry import Registry
from metasup.retirement import evaluate_retirement
from metasup.review import (
    AgentReport,
    Allocation,
    BaseInfo,
    ClassReport,
    Metrics,
    Promotion,
    Retirement,
    Review,
)

DELTA_METRICS = (
    "realized_pnl_30d",
    "alpha_30d",
    "hit_rate",
    "confidence_decay",
    "volatility",
    "behavioral_score",
    "cost_30d",
    "cost_drift",
    "coverage",
)
"""Metrics whose change against the base is reported (and shown in the PR comment)."""


def run_meta_supervisor(
    artifacts: Artifacts,
    registry: Registry,
    config: Config,
    as_of: pd.Timestamp,
    baseline: Review | None = None,
    *,
    run_id: str = "local",
    base: BaseInfo | None = None,
    ledger_problem: str | None = None,
) -> Review:
    """Evaluate every agent and class at ``as_of`` and decide what metasup recommends."""
    visible = artifacts.until(as_of)
    reconciliation = reconcile(visible.signals, visible.prices, config.reconcile, as_of, config.benchmark)
    table = compute_metrics(reconciliation.signals, visible, registry, config, as_of)

    class_reports = [
        _class_report(name, metrics, table, registry, config) for name, metrics in table.classes.items()
    ]
    excluded_classes = {c.name for c in class_reports if c.status == "killed"}
    agent_reports = [
        _agent_report(name, metrics, table, registry, config, excluded_classes, baseline)
        for name, metrics in table.agents.items()
    ]
    class_reports = [_with_class_delta(c, baseline) for c in class_reports]

    allocation = _allocate(agent_reports, config)
    attribution = attribute(
        reconciliation.signals, visible.costs, table.agent_class, as_of - config.windows.window, as_of
    )
    data_quality = artifacts.data_quality.model_copy(
        update={
            "benchmark_missing": artifacts.data_quality.benchmark_missing + reconciliation.benchmark_missing
        }
    )
    base_info = base or BaseInfo(ref=config.base, source="none" if baseline is None else "snapshot")
    findings = collect_findings(
        agent_reports, class_reports, data_quality, config, baseline, base_info.ref, ledger_problem
    )
    return Review(
        run_id=run_id,
        as_of=as_of.isoformat(),
        base=base_info,
        overall_severity=overall_severity(findings),
        agents=agent_reports,
        strategy_classes=class_reports,
        allocation=allocation,
        attribution=attribution,
        findings=findings,
        recommendations=recommend(findings, agent_reports),
        data_quality=data_quality,
    )


def _class_report(
    name: str, metrics: Metrics, table: MetricsTable, registry: Registry, config: Config
) -> ClassReport:
    declared = registry.strategy_class(name)
    retirement = evaluate_retirement(metrics, config.retirement)
    if declared is not None and declared.status == "killed":
        status = "killed"
    elif retirement.kill or name in config.kill_list:
        status = "killed"
    else:
        status = declared.status if declared is not None else "active"
    return ClassReport(
        name=name,
        status=status,
        registered=declared is not None,
        agents=sorted(agent for agent, klass in table.agent_class.items() if klass == name),
        metrics=metrics,
        retirement=retirement,
    )


def _agent_report(
    name: str,
    metrics: Metrics,
    table: MetricsTable,
    registry: Registry,
    config: Config,
    excluded_classes: set[str],
    baseline: Review | None,
) -> AgentReport:
    registered = registry.agent(name)
    klass_name = table.agent_class[name]
    klass = registry.strategy_class(klass_name)
    stage = registered.stage if registered is not None else "sandbox"
    retirement = evaluate_retirement(metrics, config.retirement)
    standing = AgentStanding(
        name=name,
        strategy_class=klass_name,
        stage=stage,
        class_status=klass.status if klass is not None else None,
        agent_killed_this_run=retirement.kill,
        class_killed_this_run=klass_name in excluded_classes,
    )
    promotion = should_promote(metrics, config, standing)
    return AgentReport(
        agent=name,
        strategy_class=klass_name,
        stage=stage,
        registered=registered is not None,
        metrics=metrics,
        promotion=promotion,
        retirement=retirement,
        status=_status(
            stage, retirement, promotion, klass_name in excluded_classes, name in config.kill_list
        ),
        delta_vs_base=_delta(metrics, _base_metrics(baseline, name, agent=True)),
    )


def _status(
    stage: str, retirement: Retirement, promotion: Promotion, class_killed: bool, listed: bool
) -> str:
    """One word a maintainer can scan in the table; exclusions win over everything else."""
    if stage == "retired":
        return "retired"
    if retirement.kill or listed:
        return "killed"
    if class_killed:
        return "killed (class)"
    if promotion.result == "APPROVED":
        return "approved"
    if promotion.result == "BLOCKED":
        return "blocked"
    return "active"


def _allocate(agents: list[AgentReport], config: Config) -> Allocation:
    """Scores of the agents eligible under SPEC §3.5, then the capped softmax."""
    scores: dict[str, float] = {}
    for report in agents:
        metrics = report.metrics
        eligible = (
            report.stage == "prod"
            and report.status == "active"
            and metrics.signals_realized >= config.portfolio.min_signals
            and metrics.volatility is not None
            and metrics.alpha_30d is not None
            and metrics.mean_confidence is not None
        )
        if eligible:
            assert metrics.alpha_30d is not None and metrics.mean_confidence is not None
            assert metrics.volatility is not None
            scores[report.agent] = allocation_score(
                metrics.alpha_30d, metrics.mean_confidence, metrics.volatility, config.portfolio.vol_floor
            )
    return allocate(scores, config.portfolio)


def _base_metrics(baseline: Review | None, name: str, *, agent: bool) -> Metrics | None:
    if baseline is None:
        return None
    if agent:
        return next((a.metrics for a in baseline.agents if a.agent == name), None)
    return next((c.metrics for c in baseline.strategy_classes if c.name == name), None)


def _delta(current: Metrics, base: Metrics | None) -> dict[str, float | None]:
    if base is None:
        return {}
    now: Mapping[str, object] = current.model_dump()
    then: Mapping[str, object] = base.model_dump()
    deltas: dict[str, float | None] = {}
    for key in DELTA_METRICS:
        a, b = now[key], then[key]
        deltas[key] = (
            float(a) - float(b) if isinstance(a, int | float) and isinstance(b, int | float) else None
        )
    return deltas


def _with_class_delta(report: ClassReport, baseline: Review | None) -> ClassReport:
    return report.model_copy(
        update={"delta_vs_base": _delta(report.metrics, _base_metrics(baseline, report.name, agent=False))}
    )
