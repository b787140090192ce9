"""What a review compares against: the base's snapshot, else the base commit's artifacts via git.

SPEC §5: ``snapshots/<base>.json`` on the state branch (written by the rolling run on the base)
is the cheap, exact answer; when it is missing, the artifacts as they are at the base commit
are evaluated again; when neither exists the comment says "no baseline". git is only read:
``git archive`` copies the base's files into a temporary folder, so the working tree of the
pull request is never touched.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pydantic import ValidationError

from metasup.model.config import load_config
from metasup.model.errors import InputError
from metasup.model.review import BaseInfo, Review

GIT_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Baseline:
    review: Review | None
    info: BaseInfo
    note: str = ""


def from_snapshot(text: str | None, base_ref: str) -> Baseline | None:
    """The snapshot's review, or None when there is none (or it is not a review any more)."""
    if text is None:
        return None
    try:
        review = Review.model_validate(json.loads(text))
    except (ValueError, ValidationError):
        return None
    return Baseline(review, BaseInfo(ref=base_ref, source="snapshot"))


def _git(repo: Path, *args: str) -> bytes:
    completed = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, timeout=GIT_TIMEOUT_SECONDS, check=False
    )
    if completed.returncode != 0:
        raise LookupError(completed.stderr.decode(errors="replace").strip() or f"git {args[0]} failed")
    return completed.stdout


def resolve_commit(repo: Path, base_ref: str) -> str | None:
    """The commit of ``base_ref``: the remote-tracking branch first (what a PR checkout has)."""
    for candidate in (f"refs/remotes/origin/{base_ref}", f"refs/heads/{base_ref}", base_ref):
        try:
            return _git(repo, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}").decode().strip()
        except (LookupError, OSError, subprocess.TimeoutExpired):
            continue
    return None


def _extract(repo: Path, commit: str, paths: list[str], target: Path) -> None:
    """Copy ``paths`` (files or folders) as they are at ``commit`` into ``target``."""
    archive = _git(repo, "archive", "--format=tar", commit, "--", *paths)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(target, filter="data")
        else:  # Python < 3.11.4: refuse anything that is not a plain file or folder inside target
            members = [m for m in tar.getmembers() if (m.isfile() or m.isdir()) and ".." not in m.name]
            tar.extractall(target, members=members)


def _relative(path: Path, root: Path) -> str:
    return PurePosixPath(path.resolve().relative_to(root.resolve())).as_posix()


Evaluator = Callable[[Path], Review]


def from_git(repo: Path, base_ref: str, config_path: Path, evaluate_config: Evaluator) -> Baseline | None:
    """Evaluate the artifacts as they are at the base commit; None when git cannot provide them.

    ``evaluate_config`` runs a full evaluation of a metasup.yml (injected so this module stays
    free of the evaluation pipeline and tests can observe what was evaluated).
    """
    commit = resolve_commit(repo, base_ref)
    if commit is None:
        return None
    with tempfile.TemporaryDirectory(prefix="metasup-base-") as folder:
        root = Path(folder)
        try:
            config_rel = _relative(config_path, repo)
            _extract(repo, commit, [config_rel], root)
            base_config = load_config(root / config_rel)
            needed = [base_config.registry, base_config.artifacts.alpha, base_config.artifacts.prices]
            if base_config.artifacts.telemetry is not None:
                needed.append(base_config.artifacts.telemetry)
            _extract(repo, commit, [_relative(p, root) for p in needed], root)
            review = evaluate_config(root / config_rel)
        # tarfile.TarError: the "data" filter refused a link out of the folder (to anywhere on the
        # runner); the base is then not evaluated, like any base git cannot provide.
        except (LookupError, OSError, ValueError, subprocess.TimeoutExpired, tarfile.TarError, InputError):
            return None
    return Baseline(review, BaseInfo(ref=base_ref, source="git"), note=f"evaluated at {commit[:12]}")
