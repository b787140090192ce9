"""The whole review on the bundled demo data: the stories of metasup/examples/README.md."""

from __future__ import annotations

import json

import jsonschema
import pandas as pd
import pytest

from metasup.examples import CONFIG_PATH
from metasup.model.review import Review, generated_json_schema, review_json_schema
from metasup.runner import Workspace, evaluate, load_workspace


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    return load_workspace(CONFIG_PATH)


@pytest.fixture(scope="module")
def review(workspace: Workspace) -> Review:
    return evaluate(workspace, None, None)


def agent(review: Review, name: str):  # type: ignore[no-untyped-def]
    return next(a for a in review.agents if a.agent == name)


def test_run_meta_supervisor__one_approved_promotion(review: Review) -> None:
    approved = [a.agent for a in review.agents if a.promotion.result == "APPROVED"]
    assert approved == ["momo-beta"]
    assert all(g.passed for g in agent(review, "momo-beta").promotion.gates)
    assert agent(review, "momo-beta").status == "approved"


def test_run_meta_supervisor__blocked_by_safety_only(review: Review) -> None:
    fast = agent(review, "meanrev-fast")
    assert fast.promotion.result == "BLOCKED"
    assert [g.name for g in fast.promotion.gates if not g.passed] == ["safety"]
    titles = [f.title for f in review.findings if f.severity == "HIGH"]
    assert "Safety violation by meanrev-fast" in titles


def test_run_meta_supervisor__kills(review: Review) -> None:
    killed_agents = {a.agent for a in review.agents if a.retirement.kill}
    assert killed_agents == {"meanrev-legacy", "news-sent"}
    killed_classes = {c.name for c in review.strategy_classes if c.retirement.kill}
    assert killed_classes == {"llm_macro"}
    assert agent(review, "macro-llm").status == "killed (class)"
    assert not agent(review, "macro-llm").retirement.kill  # its own rules do not kill it
    legacy = agent(review, "meanrev-legacy")
    fired = {r.name for r in legacy.retirement.rules if r.triggered}
    assert fired == {"alpha_negative", "cost_over_value"}


def test_run_meta_supervisor__allocation_sensible(review: Review) -> None:
    weights = review.allocation.weights
    assert set(weights) == {"momo-alpha", "meanrev-core", "momo-slow"}
    assert sum(weights.values()) + review.allocation.cash == pytest.approx(1.0, abs=1e-12)
    assert weights["momo-alpha"] > weights["meanrev-core"] > weights["momo-slow"] > 0
    assert review.allocation.effective_agents is not None
    assert 2.0 < review.allocation.effective_agents <= 3.0
    for name, weight in weights.items():
        assert review.allocation.capital_usd[name] == pytest.approx(weight * 1_000_000)


def test_run_meta_supervisor__severity_and_recommendations(review: Review) -> None:
    assert review.overall_severity == "HIGH"
    priorities = [r.priority for r in review.recommendations]
    assert priorities == sorted(priorities)
    changes = [r.change for r in review.recommendations]
    assert "Promote momo-beta to prod (merge its [AUTO-PROMOTE] PR)" in changes
    assert "Retire meanrev-legacy (merge its [AUTO-RETIRE] PR)" in changes
    assert "Retire strategy class llm_macro (merge its [AUTO-RETIRE] PR)" in changes


def test_run_meta_supervisor__data_quality_reported(review: Review) -> None:
    quality = review.data_quality
    assert quality.rejected_total == 13
    assert quality.duplicates == 1
    for file in quality.files:
        assert file.lines == file.accepted + file.rejected + file.ignored
    kinds = {f.kind for f in review.findings}
    assert {"data_quality", "unregistered_agent", "no_baseline"} <= kinds


def test_review_json__validates_against_shipped_schema(review: Review) -> None:
    document = json.loads(review.to_json())
    jsonschema.Draft202012Validator(review_json_schema()).validate(document)
    assert document["schema_version"] == "1.0"
    assert set(document) >= {
        "schema_version",
        "run_id",
        "as_of",
        "base",
        "overall_severity",
        "agents",
        "strategy_classes",
        "allocation",
        "attribution",
        "findings",
        "recommendations",
        "data_quality",
    }


def test_review_json__schema_rejects_nan_and_unknown_keys(review: Review) -> None:
    validator = jsonschema.Draft202012Validator(review_json_schema())
    document = json.loads(review.to_json())
    document["agents"][0]["metrics"]["alpha_30d"] = "NaN"
    assert not validator.is_valid(document)
    document = json.loads(review.to_json())
    document["surprise"] = 1
    assert not validator.is_valid(document)


def test_review_schema__shipped_file_is_current() -> None:
    """Regenerate with: python -m metasup.model.review > metasup/review.schema.json"""
    assert review_json_schema() == json.loads(json.dumps(generated_json_schema(), sort_keys=True))


def test_run_meta_supervisor__baseline_fills_deltas(workspace: Workspace, review: Review) -> None:
    earlier = evaluate(workspace, pd.Timestamp("2026-10-23T20:00:00Z"), None)
    compared = evaluate(workspace, None, earlier)
    beta = agent(compared, "momo-beta")
    before, now = agent(earlier, "momo-beta").metrics, beta.metrics
    assert beta.delta_vs_base["realized_pnl_30d"] == pytest.approx(
        now.realized_pnl_30d - before.realized_pnl_30d
    )
    assert beta.delta_vs_base["cost_30d"] == pytest.approx(now.cost_30d - before.cost_30d)
    assert "no_baseline" not in {f.kind for f in compared.findings}
    assert agent(review, "momo-beta").delta_vs_base == {}


def test_run_meta_supervisor__is_deterministic(workspace: Workspace, review: Review) -> None:
    assert evaluate(workspace, None, None).to_json() == review.to_json()


EARLY = pd.Timestamp("2026-10-09T20:00:00Z")  # before meanrev-legacy's rules fire


def test_run_meta_supervisor__kill_in_force_stays_excluded(workspace: Workspace) -> None:
    free = evaluate(workspace, EARLY, None)
    assert "meanrev-legacy" in free.allocation.weights
    kept = evaluate(workspace, EARLY, None, standing_kills=["meanrev-legacy"])
    legacy = agent(kept, "meanrev-legacy")
    assert legacy.status == "killed"
    assert not legacy.retirement.kill  # its own rules do not fire at this as_of
    assert "meanrev-legacy" not in kept.allocation.weights


def test_run_meta_supervisor__class_kill_in_force(workspace: Workspace) -> None:
    kept = evaluate(workspace, EARLY, None, standing_kills=["class:mean_reversion"])
    assert {agent(kept, n).status for n in ("meanrev-core", "meanrev-fast")} == {"killed (class)"}
    assert "meanrev-core" not in kept.allocation.weights


def test_run_meta_supervisor__a_standing_kill_is_said_to_be_an_earlier_runs(workspace: Workspace) -> None:
    """momo-beta (sandbox) killed by an earlier run, its rules silent now: its gate says the kill
    is an earlier run's and how to lift it, not that this run's rules fired."""
    kept = evaluate(workspace, EARLY, None, standing_kills=["momo-beta", "class:mean_reversion"])
    beta, fast = agent(kept, "momo-beta"), agent(kept, "meanrev-fast")
    assert not beta.retirement.kill
    [gate] = [g for g in beta.promotion.gates if g.name == "kill_list"]
    assert gate.value == [
        "agent momo-beta stays killed by an earlier run's retirement rules"
        " (closing its [AUTO-RETIRE] PR or editing agents.yaml lifts it)"
    ]
    [gate] = [g for g in fast.promotion.gates if g.name == "kill_list"]
    assert "class mean_reversion stays killed by an earlier run's retirement rules" in gate.evidence
    now = evaluate(workspace, None, None)  # at the end of the data news-sent's own rules fire
    [gate] = [g for g in agent(now, "news-sent").promotion.gates if g.name == "kill_list"]
    assert "agent news-sent was killed by the retirement rules in this run" in gate.value


def test_run_meta_supervisor__unregistered_class_never_kills_agents(workspace: Workspace) -> None:
    registry = workspace.registry.model_copy(
        update={
            "strategy_classes": [c for c in workspace.registry.strategy_classes if c.name != "llm_macro"],
            "agents": [a for a in workspace.registry.agents if a.strategy_class != "llm_macro"],
        }
    )
    review = evaluate(Workspace(workspace.config, registry, workspace.artifacts), None, None)
    macro = next(c for c in review.strategy_classes if c.name == "llm_macro")
    assert macro.retirement.kill  # the rules still fire and are reported
    assert macro.status == "active"
    assert not macro.registered
    assert "class_kill" not in {f.kind for f in review.findings}
    assert agent(review, "macro-llm").status != "killed (class)"
