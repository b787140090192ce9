"""Paths in what a reader sees: the absolute prefix of the runner's workspace (``/home/runner/work/x/``)
removed from file names in evidence, findings and actions, which the reader knows already.

Pure: the shell passes the workspace and the working folder (``runner.display_roots``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from metasup.model.config import Config
from metasup.model.review import Finding, Recommendation


def workspace_roots(config: Config, workspace: str | None, cwd: str) -> list[str]:
    """Absolute folders whose prefix a reader does not need: the workspace, the config's folder, cwd.

    The config's folder is the deepest one holding the registry and every artifact, not each
    artifact's own folder: ``alpha/events.jsonl`` and ``telemetry/events.jsonl`` must not both read
    ``events.jsonl``. Longest first, so the most specific prefix is removed; ``/`` alone is never a
    root. The shell passes ``workspace`` (``GITHUB_WORKSPACE``) and ``cwd``: this module reads no
    environment.
    """
    candidates = [workspace or "", cwd]
    artifacts = config.artifacts
    paths = (config.registry, artifacts.alpha, artifacts.telemetry, artifacts.prices)
    folders = [str(p.parent) for p in paths if p is not None and p.is_absolute()]
    if folders:
        candidates.append(posixpath.commonpath(folders))
    roots = {posixpath.normpath(c) for c in candidates if c and posixpath.isabs(c)}
    return sorted((r for r in roots if r != "/"), key=len, reverse=True)


def relative_to_workspace(text: str, roots: Sequence[str]) -> str:
    """``text`` with every absolute workspace prefix (``/home/runner/work/x/``) removed."""
    for root in roots:
        text = text.replace(root.rstrip("/") + "/", "")
    return text


def relative_finding(finding: Finding, roots: Sequence[str]) -> Finding:
    fields = ("title", "impact", "evidence")
    return finding.model_copy(update={f: relative_to_workspace(getattr(finding, f), roots) for f in fields})


def relative_action(action: Recommendation, roots: Sequence[str]) -> Recommendation:
    return action.model_copy(update={"change": relative_to_workspace(action.change, roots)})
