"""The shell around the pure core that ``cli`` and ``action`` share: read files, run, gate.

Everything that touches the file system before an evaluation lives here once, so the CLI and
the GitHub Action can never disagree about how a workspace is read or when a run fails.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import ValidationError

from metasup.evaluate.supervisor import Supervision, supervise
from metasup.ingest.load import Progress, load_artifacts
from metasup.model.artifacts import Artifacts
from metasup.model.config import Config, load_config
from metasup.model.errors import ArtifactError, InputError
from metasup.model.registry import Registry, load_registry
from metasup.model.review import SEVERITY_ORDER, BaseInfo, Review
from metasup.model.timestamps import utc

FailOn = Literal["never", "blocked", "high", "critical"]
FAIL_ON_CHOICES: tuple[FailOn, ...] = ("never", "blocked", "high", "critical")


@dataclass(frozen=True)
class Workspace:
    """Everything one evaluation reads from disk, validated."""

    config: Config
    registry: Registry
    artifacts: Artifacts


def load_workspace(config_path: Path, progress: Progress | None = None) -> Workspace:
    config = load_config(config_path)
    registry = load_registry(config.registry)
    artifacts = load_artifacts(config.artifacts, progress=progress)
    return Workspace(config=config, registry=registry, artifacts=artifacts)


def parse_as_of(text: str) -> pd.Timestamp:
    """An RFC 3339 timestamp from the command line; without an offset it is UTC (SPEC §2)."""
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        raise InputError(
            f"--as-of: cannot read {text!r} as a timestamp (use e.g. 2026-10-30T16:00:00Z)"
        ) from None
    if pd.isna(stamp):
        raise InputError(f"--as-of: cannot read {text!r} as a timestamp")
    return utc(stamp)


def default_as_of(artifacts: Artifacts) -> pd.Timestamp:
    """The latest price bar: the last moment for which every signal could be judged."""
    if artifacts.prices.empty:
        raise ArtifactError("no valid price bars: cannot choose as_of (pass --as-of)")
    latest: pd.Timestamp = artifacts.prices["ts"].max()
    return latest


def load_baseline(path: Path) -> Review:
    try:
        return Review.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise InputError(f"{path}: baseline file not found") from None
    except (OSError, ValueError, ValidationError) as exc:
        first_line = str(exc).splitlines()[0]
        raise InputError(f"{path}: not a metasup review JSON ({first_line})") from None


def evaluate(
    workspace: Workspace,
    as_of: pd.Timestamp | None,
    baseline: Review | None,
    run_id: str | None = None,
    base: BaseInfo | None = None,
    ledger_problem: str | None = None,
    standing_kills: Collection[str] = (),
    demotion_vetoes: Collection[str] = (),
) -> Review:
    """The review of ``workspace`` at ``as_of`` (default: the latest price bar)."""
    return supervise_workspace(
        workspace, as_of, baseline, run_id, base, ledger_problem, standing_kills, demotion_vetoes
    ).review


def supervise_workspace(
    workspace: Workspace,
    as_of: pd.Timestamp | None,
    baseline: Review | None,
    run_id: str | None = None,
    base: BaseInfo | None = None,
    ledger_problem: str | None = None,
    standing_kills: Collection[str] = (),
    demotion_vetoes: Collection[str] = (),
) -> Supervision:
    """The review and its reconciliation, for callers that also build the LP report from it."""
    when = as_of if as_of is not None else default_as_of(workspace.artifacts)
    return supervise(
        workspace.artifacts,
        workspace.registry,
        workspace.config,
        when,
        baseline,
        run_id=run_id or f"local-{when:%Y%m%dT%H%M%SZ}",
        base=base,
        ledger_problem=ledger_problem,
        standing_kills=standing_kills,
        demotion_vetoes=demotion_vetoes,
    )


def gate_failed(review: Review, fail_on: FailOn) -> bool:
    """Whether ``review`` should fail the run under ``--fail-on`` (exit code 1)."""
    if fail_on == "never":
        return False
    if fail_on == "blocked":
        return any(a.promotion.result == "BLOCKED" for a in review.agents)
    threshold = SEVERITY_ORDER.index("HIGH" if fail_on == "high" else "CRITICAL")
    return SEVERITY_ORDER.index(review.overall_severity) >= threshold
