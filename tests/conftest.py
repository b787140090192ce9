"""Fixtures shared by every test layer: factories with overridable defaults."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from metasup.model.config import Config, config_from_mapping
from metasup.model.review import (
    AgentReport,
    Allocation,
    BaseInfo,
    Finding,
    Gate,
    Metrics,
    Promotion,
    Recommendation,
    Retirement,
    Review,
)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's or CI's GitHub/SMTP variables."""
    import os

    for name in list(os.environ):
        if name.startswith(("GITHUB_", "METASUP_", "INPUT_", "RUNNER_", "SMTP_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def base_config(tmp_path: Any) -> Config:
    return config_from_mapping({"artifacts": {"alpha": "a.jsonl", "prices": "p.csv"}}, tmp_path)


def make_agent(name: str = "momo-v2", **overrides: Any) -> AgentReport:
    """An agent report with plausible values; override any field."""
    metrics = overrides.pop("metrics", None) or Metrics(
        realized_pnl_30d=1234.5,
        alpha_30d=0.0123,
        behavioral_score=86.0,
        cost_30d=321.0,
        signals_realized=40,
        signals_emitted=44,
    )
    promotion = overrides.pop("promotion", None) or Promotion(
        result="APPROVED",
        gates=[Gate(name="behavioral", passed=True, value=86.0, threshold=80.0, evidence="86.0 ≥ 80")],
    )
    fields: dict[str, Any] = {
        "agent": name,
        "strategy_class": "momentum",
        "stage": "sandbox",
        "metrics": metrics,
        "promotion": promotion,
        "retirement": Retirement(),
        "status": "approved",
    }
    fields.update(overrides)
    return AgentReport(**fields)


def make_review(agents: list[AgentReport] | None = None, **overrides: Any) -> Review:
    fields: dict[str, Any] = {
        "run_id": "run-42",
        "as_of": "2026-10-30T16:00:00+00:00",
        "base": BaseInfo(ref="main", source="snapshot"),
        "overall_severity": "MEDIUM",
        "agents": agents if agents is not None else [make_agent()],
        "allocation": Allocation(capital=1_000_000.0, cash=1.0),
        "findings": [
            Finding(
                kind="cost_drift",
                title="Cost drift out of bounds for momo-v2",
                impact="Cost per signal rose faster than the configured bound.",
                evidence="cost per signal +40.0% vs the reference window",
                severity="MEDIUM",
                agent="momo-v2",
            )
        ],
        "recommendations": [Recommendation(change="Review the running cost of momo-v2", priority="P1")],
    }
    fields.update(overrides)
    return Review(**fields)


@pytest.fixture
def review_factory() -> Callable[..., Review]:
    return make_review


@pytest.fixture
def agent_factory() -> Callable[..., AgentReport]:
    return make_agent
