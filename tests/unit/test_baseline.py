"""Baselines: the snapshot when there is one, else the base commit's artifacts through git."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from metasup.baseline import from_git, from_snapshot, resolve_commit
from metasup.examples import EXAMPLES_DIR
from metasup.model.review import Review
from metasup.runner import evaluate, load_workspace


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def evaluate_config(path: Path) -> Review:
    return evaluate(load_workspace(path), None, None)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repo whose main holds the demo workspace under fleet/, and a PR branch checked out."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES_DIR, root / "fleet", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    git(tmp_path, "init", "-q", "-b", "main", str(root))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "fleet")
    git(root, "checkout", "-qb", "pr")
    prices = root / "fleet" / "market" / "prices.csv"
    rows = prices.read_text().splitlines()
    prices.write_text("\n".join(rows[: len(rows) // 2]) + "\n")  # the PR drops the later half
    git(root, "commit", "-qam", "shorter history")
    return root


def test_from_git__evaluates_the_base_commit_not_the_worktree(repo: Path) -> None:
    baseline = from_git(repo, "main", repo / "fleet" / "metasup.yml", evaluate_config)
    assert baseline is not None
    assert baseline.review is not None
    assert baseline.info.source == "git"
    assert baseline.info.ref == "main"
    assert baseline.review.as_of == "2026-10-30T20:00:00+00:00"  # main's full price history
    head = evaluate_config(repo / "fleet" / "metasup.yml")
    assert head.as_of < baseline.review.as_of
    assert (repo / "fleet" / "market" / "prices.csv").read_text().count("\n") < 3000  # untouched


def test_from_git__unknown_ref_is_none(repo: Path) -> None:
    assert from_git(repo, "no-such-branch", repo / "fleet" / "metasup.yml", evaluate_config) is None


def test_from_git__not_a_repo_is_none(tmp_path: Path) -> None:
    assert resolve_commit(tmp_path, "main") is None


def test_from_git__config_missing_at_base_is_none(repo: Path) -> None:
    (repo / "fleet" / "new.yml").write_text((repo / "fleet" / "metasup.yml").read_text())
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "new config")
    assert from_git(repo, "main", repo / "fleet" / "new.yml", evaluate_config) is None


def test_from_snapshot__valid_invalid_missing(review_factory) -> None:  # type: ignore[no-untyped-def]
    review = review_factory()
    found = from_snapshot(review.to_json(), "main")
    assert found is not None
    assert found.review == review
    assert found.info.source == "snapshot"
    assert from_snapshot("{not json", "main") is None
    assert from_snapshot(None, "main") is None
