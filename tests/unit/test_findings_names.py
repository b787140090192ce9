"""A typo in agents.yaml or kill_list is reported, with the name it probably meant (demo data)."""

from __future__ import annotations

from typing import Any

import pytest

from metasup.evaluate.findings_names import closest
from metasup.examples import CONFIG_PATH
from metasup.model.registry import Agent
from metasup.model.review import Finding, Review
from metasup.runner import Workspace, evaluate, load_workspace


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    return load_workspace(CONFIG_PATH)


def with_config(workspace: Workspace, **update: Any) -> Workspace:
    return Workspace(workspace.config.model_copy(update=update), workspace.registry, workspace.artifacts)


def with_agents(workspace: Workspace, *agents: Agent) -> Workspace:
    registry = workspace.registry.model_copy(update={"agents": list(agents)})
    return Workspace(workspace.config, registry, workspace.artifacts)


def renamed(workspace: Workspace, old: str, **update: Any) -> list[Agent]:
    return [a.model_copy(update=update) if a.name == old else a for a in workspace.registry.agents]


def of_kind(review: Review, kind: str) -> list[Finding]:
    return [f for f in review.findings if f.kind == kind]


def test_kill_list__typo_is_high_and_suggests_the_agent(workspace: Workspace) -> None:
    """Registry agents and classes and agents seen only in the data are known; the typo is not."""
    entries = ["momo_alpha", "meanrev-legacy", "llm_macro", "scalper-x"]

    review = evaluate(with_config(workspace, kill_list=entries), None, None)

    [finding] = of_kind(review, "kill_list_unknown")
    assert finding.severity == "HIGH"
    assert "momo_alpha" in finding.title
    assert finding.evidence.endswith("did you mean momo-alpha?")
    assert "momo-alpha" in review.allocation.weights  # what the finding warns about
    changes = [r.change for r in review.recommendations if r.priority == "P0"]
    assert "Fix the kill_list entries in metasup.yml that name no agent or class" in changes


def test_registered_agent_without_signals__both_halves_of_a_rename_point_at_each_other(
    workspace: Workspace,
) -> None:
    gone = Agent(name="momo-v0", strategy_class="momentum", stage="retired")  # silent, and rightly so
    agents = [*renamed(workspace, "momo-alpha", name="Momo_Alpha"), gone]

    review = evaluate(with_agents(workspace, *agents), None, None)

    [silent] = of_kind(review, "registered_no_signals")
    assert (silent.severity, silent.agent) == ("MEDIUM", "Momo_Alpha")
    assert "(stage prod)" in silent.evidence
    assert "did you mean momo-alpha (192 signal(s), not in agents.yaml)?" in silent.evidence
    unregistered = next(f for f in of_kind(review, "unregistered_agent") if f.agent == "momo-alpha")
    assert unregistered.evidence.endswith("did you mean Momo_Alpha (in agents.yaml, which has no signal)?")
    scalper = next(f for f in of_kind(review, "unregistered_agent") if f.agent == "scalper-x")
    assert "did you mean" not in scalper.evidence  # no registered name is close to it


def test_regime_typo__medium_names_declarer_and_observed_regime(workspace: Workspace) -> None:
    agents = renamed(workspace, "momo-alpha", regimes=["trendng"])

    review = evaluate(with_agents(workspace, *agents), None, None)

    [finding] = of_kind(review, "regime_unseen")
    assert (finding.severity, finding.agent) == ("MEDIUM", "momo-alpha")
    assert "trendng" in finding.title
    assert "declared by momo-alpha in agents.yaml" in finding.evidence
    assert finding.evidence.endswith("did you mean trending?")


def test_regime_not_observed_yet__low(workspace: Workspace) -> None:
    agents = renamed(workspace, "momo-alpha", regimes=["trending", "crisis"])

    review = evaluate(with_agents(workspace, *agents), None, None)

    [finding] = of_kind(review, "regime_unseen")
    assert finding.severity == "LOW"
    assert "did you mean" not in finding.evidence


@pytest.mark.parametrize(
    ("name", "candidates", "expected"),
    [
        ("TrendBot-v2", ["trendbot_v2", "TrendBot-v1"], "trendbot_v2"),  # case and separators first
        ("TrendBot_v3", ["TrendBot_v2", "momo"], "TrendBot_v2"),
        ("momo-rookie", ["momo-slow"], None),  # a sibling, not a typo
        ("momo", ["momo"], None),  # never itself
    ],
)
def test_closest__typo_not_sibling(name: str, candidates: list[str], expected: str | None) -> None:
    assert closest(name, candidates) == expected
