"""The comment reads in 20 seconds (SPEC §4.2): checked on the HTML GitHub's renderer makes of it.

cmarkgfm is the C library GitHub's own markdown pipeline is built on; raw HTML is kept
(``UNSAFE``) because GitHub keeps ``<details>``/``<summary>``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from metasup.evaluate.findings import collect_findings
from metasup.evaluate.recommendations import excluded, recommend
from metasup.model.config import ArtifactsConfig, Config
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
from metasup.render.comment import TOP_FINDINGS, render_comment
from metasup.render.paths import workspace_roots
from metasup.runner import evaluate, load_workspace

ABOVE_THE_FOLD_LINES = 60
"""SPEC §4.2's budget: what a reader sees before opening any ``<details>``."""

GATES = ("behavioral", "pnl", "confidence_decay", "cost_drift", "kill_list", "safety", "evidence", "skill")


def to_html(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def outside_details(html: str) -> str:
    """The rendered HTML a reader sees with every ``<details>`` closed (its summary stays)."""
    return re.sub(r"<details>\s*<summary>(.*?)</summary>.*?</details>", r"<p>\1</p>", html, flags=re.S)


def rendered_lines(html: str) -> int:
    """Visual lines of rendered HTML: one per block (paragraph, item, heading, row, rule), plus breaks."""
    blocks = len(re.findall(r"<(?:p|li|h[1-6]|tr|hr)\b", html))
    nested = len(re.findall(r"<li>\s*<p>", html))  # a loose list item is one line, not two
    return blocks - nested + len(re.findall(r"<br\b", html))


@pytest.fixture(scope="module")
def demo() -> tuple[Review, Config, str]:
    from metasup.examples import CONFIG_PATH

    workspace = load_workspace(Path(CONFIG_PATH))
    review = evaluate(workspace, None, None)
    return review, workspace.config, render_comment(review, workspace.config).body


def test_demo__result_lines_render_as_separate_blocks(demo: tuple[Review, Config, str]) -> None:
    html = to_html(demo[2])
    results = re.findall(r"<p>(<strong>Result:</strong>.*?)</p>", html)
    assert len(results) == 2
    assert all(result.count("Result:") == 1 for result in results)


def test_demo__findings_beyond_five_are_folded(demo: tuple[Review, Config, str]) -> None:
    review, _, body = demo
    assert len(review.findings) > TOP_FINDINGS
    html = to_html(body)
    folded = re.search(r"<details>\s*<summary>(\d+) more findings</summary>(.*?)</details>", html, re.S)
    assert folded is not None
    assert int(folded.group(1)) == len(review.findings) - TOP_FINDINGS
    for finding in review.findings[TOP_FINDINGS:]:
        title = finding.title.replace("_", "\\_")
        assert title not in outside_details(body)
    top = outside_details(html).split("Top Findings", 1)[1].split("Promotion Gate", 1)[0]
    assert top.count("<li>") == TOP_FINDINGS


def test_demo__above_the_fold_fits_the_budget(demo: tuple[Review, Config, str]) -> None:
    lines = rendered_lines(outside_details(to_html(demo[2])))
    assert lines <= ABOVE_THE_FOLD_LINES, lines


def test_demo__gate_matrix_has_every_gate_and_eligibility(demo: tuple[Review, Config, str]) -> None:
    html = to_html(demo[2])
    matrix = re.search(r"<summary>All 9 gates for (\d+) sandbox agents</summary>(.*?)</details>", html, re.S)
    assert matrix is not None
    sandbox = [a for a in demo[0].agents if a.promotion.result in ("APPROVED", "BLOCKED")]
    assert int(matrix.group(1)) == len(sandbox)
    assert matrix.group(2).count("<tr>") == len(sandbox) + 1
    assert "❌" in matrix.group(2)
    assert "✅" in matrix.group(2)
    assert re.search(r"eligible in ~\d+ trading days", matrix.group(2))


def test_demo__thresholds_as_configured(demo: tuple[Review, Config, str]) -> None:
    assert "- Behavioral score ≥ 80\n" in demo[2]
    assert "80.0" not in demo[2]
    assert "bound +25%" in demo[2]
    assert "+25.0%" not in demo[2]


def test_demo__evidence_names_only_what_failed(demo: tuple[Review, Config, str]) -> None:
    for finding in demo[0].findings:
        assert len(finding.evidence) <= 300, finding.evidence
        if finding.kind == "promotion_blocked":
            assert "≥" not in finding.evidence  # a passing check reads "x ≥ bar"
            assert "coverage 1.00" not in finding.evidence


def test_comment__paths_relative_to_the_workspace(
    tmp_path: Path, base_config: Config, review_factory: Callable[..., Review]
) -> None:
    alpha = tmp_path / "alpha" / "events.jsonl"
    quality = DataQuality(
        rejected=[RejectedLine(file=str(alpha), line=716, reason="invalid JSON")], rejected_total=1
    )
    findings = collect_findings([], [], quality, base_config, None, "main")
    review = review_factory(findings=findings, recommendations=recommend(findings, []))
    roots = workspace_roots(
        base_config, workspace=str(tmp_path), cwd="/elsewhere"
    )  # as the action passes them
    html = to_html(render_comment(review, base_config, roots=roots).body)
    assert "alpha/events.jsonl:716" in html
    assert str(tmp_path) not in html
    assert not re.search(r"(?<![\w.])/(?:tmp|home|github|work|root|Users)/", html)


def test_comment__two_artifacts_of_the_same_name_stay_apart(
    tmp_path: Path, review_factory: Callable[..., Review]
) -> None:
    """The demo's layout: ``alpha/events.jsonl`` and ``telemetry/events.jsonl`` beside the config."""
    config = Config(
        registry=tmp_path / "agents.yaml",
        artifacts=ArtifactsConfig(
            alpha=tmp_path / "alpha" / "events.jsonl",
            telemetry=tmp_path / "telemetry" / "events.jsonl",
            prices=tmp_path / "market" / "prices.csv",
        ),
    )
    rejected = [
        RejectedLine(file=str(tmp_path / folder / "events.jsonl"), line=7, reason="invalid JSON")
        for folder in ("alpha", "telemetry")
    ]
    quality = DataQuality(rejected=rejected, rejected_total=2)
    findings = collect_findings([], [], quality, config, None, "main")
    review = review_factory(findings=findings, recommendations=recommend(findings, []))
    roots = workspace_roots(config, workspace=None, cwd="/elsewhere")  # the CLI outside the workspace

    html = to_html(render_comment(review, config, roots=roots).body)

    assert "alpha/events.jsonl:7" in html
    assert "telemetry/events.jsonl:7" in html
    assert str(tmp_path) not in html


def random_agent(rng: random.Random, index: int, killed_classes: set[str]) -> AgentReport:
    klass = rng.choice(["momentum", "meanrev", "llm_macro"])
    stage = rng.choice(["sandbox", "sandbox", "prod", "retired"])
    kill = rng.random() < 0.3
    gates = [Gate(name=name, passed=rng.random() < 0.7, evidence=f"{name} evidence") for name in GATES]
    if kill or klass in killed_classes:
        gates[4] = Gate(name="kill_list", passed=False, evidence="blocked: killed")
    result = (
        "NOT_APPLICABLE" if stage != "sandbox" else "APPROVED" if all(g.passed for g in gates) else "BLOCKED"
    )
    status = (
        "retired" if stage == "retired" else "killed" if kill else "killed (class)" if klass in killed_classes
        else {"APPROVED": "approved", "BLOCKED": "blocked"}.get(result, "active")
    )  # fmt: skip
    return AgentReport(
        agent=f"agent-{index}",
        strategy_class=klass,
        stage=stage,
        metrics=Metrics(
            cost_drift=rng.choice([None, 0.1, 0.5]),
            safety_violations_30d=rng.choice([0, 0, 1]),
            behavioral_score=80.0,
            cost_30d=100.0,
        ),
        promotion=Promotion(result=result, gates=gates if stage == "sandbox" else []),
        retirement=Retirement(kill=kill, rules=[Rule(name="alpha_negative", triggered=kill)]),
        status=status,
        registered=rng.random() < 0.9,
    )


@pytest.mark.parametrize("seed", range(200))
def test_recommend__never_contradictory_over_generated_fleets(seed: int, base_config: Config) -> None:
    rng = random.Random(seed)
    killed_classes = {c for c in ("momentum", "meanrev", "llm_macro") if rng.random() < 0.3}
    agents = [random_agent(rng, i, killed_classes) for i in range(rng.randint(1, 25))]
    classes = [
        ClassReport(
            name=name,
            status="killed" if name in killed_classes else "active",
            agents=[a.agent for a in agents if a.strategy_class == name],
            metrics=Metrics(),
            retirement=Retirement(kill=name in killed_classes),
        )
        for name in ("momentum", "meanrev", "llm_macro")
    ]
    findings = collect_findings(agents, classes, DataQuality(), base_config, None, "main")
    actions = recommend(findings, agents)
    changes = [a.change for a in actions]
    assert len(changes) == len(set(changes))
    for agent in agents:
        mine = [c for c in changes if re.search(rf"\b{re.escape(agent.agent)}\b", c)]
        retire = any(c.startswith("Retire ") for c in mine)
        assert not (retire and any(c.startswith("Fix the failing gates") for c in mine)), mine
        if excluded(agent) or agent.strategy_class in killed_classes:
            moot = ("Review the running cost", "Fix the", "Review the behavior")
            assert not any(c.startswith(moot) for c in mine), mine
        if agent.status.startswith("killed"):
            assert not any(c.startswith("Promote ") for c in mine)
