"""Findings: each rule's severity, overall severity, and the recommendations derived."""

from __future__ import annotations

from collections.abc import Callable

from metasup.evaluate.findings import (
    agent_findings,
    baseline_findings,
    class_findings,
    collect_findings,
    data_quality_findings,
    ledger_findings,
    overall_severity,
    regression_findings,
)
from metasup.evaluate.recommendations import recommend
from metasup.model.config import Config
from metasup.model.review import (
    AgentReport,
    ClassReport,
    DataQuality,
    Gate,
    Metrics,
    Promotion,
    RejectedLine,
    Retirement,
    Review,
    Rule,
)

AgentFactory = Callable[..., AgentReport]


def kinds_and_severities(findings: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(f.kind, f.severity) for f in findings]


def test_overall_severity__none_and_highest() -> None:
    assert overall_severity([]) == "NONE"
    found = ledger_findings("record 3: hash mismatch") + baseline_findings(None, "main")
    assert overall_severity(found) == "CRITICAL"


def test_agent_findings__healthy_agent_has_none(base_config: Config, agent_factory: AgentFactory) -> None:
    assert agent_findings(agent_factory(), base_config) == []


def test_agent_findings__safety_is_high(base_config: Config, agent_factory: AgentFactory) -> None:
    report = agent_factory(metrics=Metrics(safety_violations_30d=2))
    found = agent_findings(report, base_config)
    assert kinds_and_severities(found) == [("safety_violation", "HIGH")]
    assert found[0].evidence == "2 safety_violation event(s) in the window"


def test_agent_findings__kill_is_high_and_names_rules(
    base_config: Config, agent_factory: AgentFactory
) -> None:
    retirement = Retirement(
        kill=True,
        rules=[Rule(name="alpha_negative", triggered=True), Rule(name="cost_over_value", triggered=True)],
    )
    found = agent_findings(agent_factory(retirement=retirement), base_config)
    assert kinds_and_severities(found) == [("kill", "HIGH")]
    assert found[0].evidence == "retirement rules fired: alpha_negative, cost_over_value"


def test_agent_findings__blocked_and_cost_drift_are_medium(
    base_config: Config, agent_factory: AgentFactory
) -> None:
    promotion = Promotion(
        result="BLOCKED",
        gates=[
            Gate(name="behavioral", passed=True, evidence="ok"),
            Gate(name="cost_drift", passed=False, evidence="cost drift +40% > +25%"),
        ],
    )
    report = agent_factory(promotion=promotion, metrics=Metrics(cost_drift=0.4))
    found = agent_findings(report, base_config)
    assert kinds_and_severities(found) == [("promotion_blocked", "MEDIUM"), ("cost_drift", "MEDIUM")]
    assert found[0].evidence == "cost drift +40% > +25%"


def test_agent_findings__cost_drift_at_bound_is_fine(
    base_config: Config, agent_factory: AgentFactory
) -> None:
    assert agent_findings(agent_factory(metrics=Metrics(cost_drift=0.25)), base_config) == []


def test_agent_findings__unregistered_is_low(base_config: Config, agent_factory: AgentFactory) -> None:
    found = agent_findings(agent_factory(registered=False), base_config)
    assert kinds_and_severities(found) == [("unregistered_agent", "LOW")]


def test_class_findings__kill_is_high() -> None:
    report = ClassReport(
        name="llm_macro",
        status="killed",
        agents=["a", "b"],
        metrics=Metrics(),
        retirement=Retirement(kill=True, rules=[Rule(name="regime_mismatch", triggered=True)]),
    )
    found = class_findings(report)
    assert kinds_and_severities(found) == [("class_kill", "HIGH")]
    assert found[0].strategy_class == "llm_macro"
    assert recommend(found, [])[0].change == "Retire strategy class llm_macro (merge its [AUTO-RETIRE] PR)"


def test_regression_findings__approved_then_blocked_is_high(agent_factory: AgentFactory) -> None:
    base = agent_factory()
    blocked = agent_factory(
        promotion=Promotion(result="BLOCKED", gates=[Gate(name="pnl", passed=False, evidence="x")])
    )
    found = regression_findings(blocked, base)
    assert kinds_and_severities(found) == [("regression_blocks", "HIGH")]
    assert found[0].evidence == "gates now failing: pnl"


def test_regression_findings__score_and_cost(agent_factory: AgentFactory) -> None:
    base = agent_factory(metrics=Metrics(behavioral_score=90.0, cost_30d=100.0))
    worse = agent_factory(metrics=Metrics(behavioral_score=85.0, cost_30d=126.0))
    assert kinds_and_severities(regression_findings(worse, base)) == [
        ("score_regression", "MEDIUM"),
        ("cost_regression", "MEDIUM"),
    ]
    slightly = agent_factory(metrics=Metrics(behavioral_score=85.1, cost_30d=125.0))
    assert regression_findings(slightly, base) == []


def test_collect_findings__compares_each_agent_with_its_own_base_entry(
    base_config: Config, agent_factory: AgentFactory, review_factory: Callable[..., Review]
) -> None:
    blocked = Promotion(result="BLOCKED", gates=[Gate(name="pnl", passed=False, evidence="x")])
    base = review_factory(agents=[agent_factory(agent=name) for name in ("alpha", "beta", "gamma")])
    now = [
        agent_factory(agent="alpha", promotion=blocked),
        agent_factory(agent="beta"),
        agent_factory(agent="delta", promotion=blocked),  # new on this branch: nothing to compare
    ]
    found = collect_findings(now, [], DataQuality(), base_config, base, "main")
    assert [(f.kind, f.agent) for f in found if f.kind == "regression_blocks"] == [
        ("regression_blocks", "alpha")
    ]


def test_data_quality_findings__names_first_few() -> None:
    quality = DataQuality(
        rejected=[RejectedLine(file="a.jsonl", line=n, reason="invalid JSON") for n in (3, 9, 12, 40)],
        rejected_total=4,
    )
    found = data_quality_findings(quality)
    assert kinds_and_severities(found) == [("data_quality", "LOW")]
    assert (
        found[0].evidence == "first: a.jsonl:3 invalid JSON; a.jsonl:9 invalid JSON; a.jsonl:12 invalid JSON"
    )


def test_collect_findings__sorted_most_severe_first(base_config: Config, agent_factory: AgentFactory) -> None:
    agents = [agent_factory(registered=False), agent_factory("b", metrics=Metrics(safety_violations_30d=1))]
    found = collect_findings(agents, [], DataQuality(), base_config, None, "main", ledger_problem="broken")
    assert [f.severity for f in found] == ["CRITICAL", "HIGH", "LOW", "LOW"]


def test_recommend__priorities_and_approvals(base_config: Config, agent_factory: AgentFactory) -> None:
    agents = [agent_factory("ok"), agent_factory("bad", metrics=Metrics(safety_violations_30d=1))]
    found = collect_findings(agents, [], DataQuality(), base_config, None, "main")
    actions = recommend(found, agents)
    assert [(a.change, a.priority) for a in actions] == [
        ("Investigate the safety violation of bad before any promotion", "P0"),
        ("Promote ok to prod (merge its [AUTO-PROMOTE] PR)", "P1"),
        ("Promote bad to prod (merge its [AUTO-PROMOTE] PR)", "P1"),
        ("Run metasup in rolling mode on the base branch to create a snapshot", "P2"),
    ]


def test_agent_findings__retired_agent_kill_is_not_news(
    base_config: Config, agent_factory: AgentFactory
) -> None:
    retirement = Retirement(kill=True, rules=[Rule(name="alpha_negative", triggered=True)])
    report = agent_factory(
        stage="retired", retirement=retirement, promotion=Promotion(result="NOT_APPLICABLE")
    )
    assert agent_findings(report, base_config) == []


def test_class_findings__already_killed_in_registry_is_not_news() -> None:
    report = ClassReport(
        name="old",
        status="killed",
        registry_status="killed",
        metrics=Metrics(),
        retirement=Retirement(kill=True, rules=[Rule(name="cost_over_value", triggered=True)]),
    )
    assert class_findings(report) == []
