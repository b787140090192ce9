"""github_io against the fake: the state branch's compare-and-swap and its permission error."""

from __future__ import annotations

import pytest
from fakegithub import FORK_TOKEN, PAT_TOKEN, FakeGitHub, Repo

from metasup.github import client as github_io

REPO = "octo-org/fleet"


def test_write_state__orphan_then_compare_and_swap(fake_github: FakeGitHub, fake_repo: Repo) -> None:
    gh = github_io.connect(PAT_TOKEN, fake_github.url)
    first = github_io.write_state(gh, REPO, "metasup-state", {"ledger.jsonl": "a\n"}, None)
    assert fake_github.read_file(REPO, "ledger.jsonl", ref="metasup-state") == "a\n"
    second = github_io.write_state(gh, REPO, "metasup-state", {"allocation.json": "{}"}, first)
    state = github_io.read_state(gh, REPO, "metasup-state", ["ledger.jsonl", "allocation.json", "missing"])
    assert state.head == second
    assert state.files == {"ledger.jsonl": "a\n", "allocation.json": "{}"}
    with pytest.raises(github_io.StateMoved):
        github_io.write_state(gh, REPO, "metasup-state", {"ledger.jsonl": "b\n"}, first)  # stale head
    with pytest.raises(github_io.StateMoved):
        github_io.write_state(gh, REPO, "metasup-state", {"ledger.jsonl": "b\n"}, None)  # exists already
    assert fake_github.read_file(REPO, "ledger.jsonl", ref="metasup-state") == "a\n"


def test_write_state__read_only_token_names_the_permission(fake_github: FakeGitHub, fake_repo: Repo) -> None:
    gh = github_io.connect(FORK_TOKEN, fake_github.url)
    with pytest.raises(github_io.NotPermitted, match=r"permissions: contents: write"):
        github_io.write_state(gh, REPO, "metasup-state", {"ledger.jsonl": ""}, None)
