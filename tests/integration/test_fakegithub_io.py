"""metasup.github against the fake: the state branch's compare-and-swap and its permission error."""

from __future__ import annotations

import pytest
from fakegithub import FORK_TOKEN, PAT_TOKEN, FakeGitHub, Repo

from metasup.github import NotPermitted, StateMoved, connect, read_state, write_state

REPO = "octo-org/fleet"


def test_write_state__orphan_then_compare_and_swap(fake_github: FakeGitHub, fake_repo: Repo) -> None:
    gh = connect(PAT_TOKEN, fake_github.url)
    first = write_state(gh, REPO, "metasup-state", {"ledger.jsonl": "a\n"}, None)
    assert fake_github.read_file(REPO, "ledger.jsonl", ref="metasup-state") == "a\n"
    second = write_state(gh, REPO, "metasup-state", {"allocation.json": "{}"}, first)
    state = read_state(gh, REPO, "metasup-state", ["ledger.jsonl", "allocation.json", "missing"])
    assert state.head == second
    assert state.files == {"ledger.jsonl": "a\n", "allocation.json": "{}"}
    with pytest.raises(StateMoved):
        write_state(gh, REPO, "metasup-state", {"ledger.jsonl": "b\n"}, first)  # stale head
    with pytest.raises(StateMoved):
        write_state(gh, REPO, "metasup-state", {"ledger.jsonl": "b\n"}, None)  # exists already
    assert fake_github.read_file(REPO, "ledger.jsonl", ref="metasup-state") == "a\n"


def test_write_state__read_only_token_names_the_permission(fake_github: FakeGitHub, fake_repo: Repo) -> None:
    gh = connect(FORK_TOKEN, fake_github.url)
    with pytest.raises(NotPermitted, match=r"permissions: contents: write"):
        write_state(gh, REPO, "metasup-state", {"ledger.jsonl": ""}, None)
