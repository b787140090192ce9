"""Baselines: the snapshot when there is one, else the base commit's artifacts through git."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
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


def _commit_on_main(repo: Path, change: Callable[[Path], None]) -> None:
    git(repo, "checkout", "-q", "main")
    change(repo / "fleet")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base change")
    git(repo, "checkout", "-q", "pr")


def _outside_prices(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(EXAMPLES_DIR / "market" / "prices.csv", outside / "prices.csv")
    return outside


def test_from_git__a_base_whose_prices_link_outside_the_checkout_is_no_baseline(
    repo: Path, tmp_path: Path
) -> None:
    """A base commit can hold a symlink to anywhere on the runner: the base is not evaluated from
    what it points at, and the review goes on without a baseline (it used to raise)."""
    outside = _outside_prices(tmp_path)

    def link_market_outside(fleet: Path) -> None:
        shutil.rmtree(fleet / "market")
        (fleet / "market").symlink_to(outside)

    _commit_on_main(repo, link_market_outside)
    read: list[Path] = []
    assert from_git(repo, "main", repo / "fleet" / "metasup.yml", _recording(read)) is None


def test_from_git__a_base_config_naming_a_path_outside_is_no_baseline(repo: Path, tmp_path: Path) -> None:
    outside = _outside_prices(tmp_path)

    def absolute_prices(fleet: Path) -> None:
        config = fleet / "metasup.yml"
        config.write_text(
            config.read_text().replace("prices: market/prices.csv", f"prices: {outside}/prices.csv")
        )

    _commit_on_main(repo, absolute_prices)
    read: list[Path] = []
    assert from_git(repo, "main", repo / "fleet" / "metasup.yml", _recording(read)) is None
    assert read == []


def _recording(read: list[Path]) -> Callable[[Path], Review]:
    def evaluate_and_record(path: Path) -> Review:
        read.append(path)
        return evaluate_config(path)

    return evaluate_and_record


def test_from_git__a_base_whose_price_folder_links_outside_is_no_baseline(repo: Path, tmp_path: Path) -> None:
    """The same with the folder itself named in the config: git hands over the link itself."""
    outside = _outside_prices(tmp_path)

    def folder_link(fleet: Path) -> None:
        config = fleet / "metasup.yml"
        config.write_text(config.read_text().replace("prices: market/prices.csv", "prices: market"))
        shutil.rmtree(fleet / "market")
        (fleet / "market").symlink_to(outside)

    _commit_on_main(repo, folder_link)
    read: list[Path] = []
    assert from_git(repo, "main", repo / "fleet" / "metasup.yml", _recording(read)) is None
