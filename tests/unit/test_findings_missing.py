"""No retirement rests on missing prices, and a benchmark without bars is loud (demo data)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from metasup.evaluate.findings_missing import prices_files
from metasup.examples import CONFIG_PATH
from metasup.model.review import DataQuality, FileQuality, Finding, Review
from metasup.runner import Workspace, evaluate, load_workspace

AS_OF = pd.Timestamp("2026-11-02T00:00:00Z")


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    return load_workspace(CONFIG_PATH)


def of_kind(review: Review, kind: str) -> list[Finding]:
    return [f for f in review.findings if f.kind == kind]


@pytest.fixture(scope="module")
def no_prices(workspace: Workspace) -> Review:
    """The demo with an empty prices file, judged at an explicit ``as_of``."""
    artifacts = replace(workspace.artifacts, prices=workspace.artifacts.prices.iloc[:0])
    return evaluate(Workspace(workspace.config, workspace.registry, artifacts), AS_OF, None)


def test_empty_prices__nothing_is_retired(no_prices: Review) -> None:
    assert [a.agent for a in no_prices.agents if a.retirement.kill] == []
    assert [c.name for c in no_prices.strategy_classes if c.retirement.kill] == []
    assert not {"kill", "class_kill"} & {f.kind for f in no_prices.findings}
    assert not [r for r in no_prices.recommendations if "[AUTO-RETIRE]" in r.change]


def test_empty_prices__says_the_prices_are_missing_and_what_was_held(no_prices: Review) -> None:
    [stale] = of_kind(no_prices, "stale_prices")
    assert (stale.severity, stale.title) == ("HIGH", "No price bars")
    assert "nothing is retired for cost over value" in stale.impact
    [held] = of_kind(no_prices, "retirement_no_data")  # the class whose rules fired on cost and regimes
    assert (held.severity, held.strategy_class) == ("MEDIUM", "llm_macro")
    assert "0 signals realized" in held.evidence
    assert "without a price bar" in held.evidence
    assert held.evidence.endswith("also fired: regime_mismatch")


def test_benchmark_without_bars__high_names_symbol_and_file(workspace: Workspace) -> None:
    config = workspace.config.model_copy(update={"benchmark": "SPX"})

    review = evaluate(Workspace(config, workspace.registry, workspace.artifacts), None, None)

    [finding] = of_kind(review, "benchmark_absent")
    assert finding.severity == "HIGH"
    assert "SPX" in finding.title
    assert "market/prices.csv: every excess return is the raw return" in finding.evidence
    assert of_kind(review, "benchmark_missing") == []  # one finding, not a count of every signal
    assert review.data_quality.benchmark_missing > 0


def test_prices_files__as_data_quality_names_them() -> None:
    quality = DataQuality(
        files=[
            FileQuality(path="alpha/events.jsonl"),
            FileQuality(path="market/prices/2026-10.csv"),
            FileQuality(path="market/prices/2026-11.csv"),
        ]
    )

    assert (
        prices_files(quality, Path("/ws/market/prices"))
        == "market/prices/2026-10.csv, market/prices/2026-11.csv"
    )
    assert prices_files(DataQuality(), Path("/ws/p.csv")) == "/ws/p.csv"
