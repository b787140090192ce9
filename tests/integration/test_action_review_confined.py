"""Review mode writes and says only what it should, whatever the PR or its trigger holds: no write
through a link the PR committed, no token in an error line, no comment on another repository's
PR number (SPEC §2.6, §4.3, §5)."""

from __future__ import annotations

import io
import json
import shutil
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import test_action_review
from fakegithub import ACTIONS_TOKEN, FORK_TOKEN, FakeGitHub
from test_action_review import REPO, ActionRun, our_comments

from metasup.action import run
from metasup.examples import EXAMPLES_DIR
from metasup.github import GitHubClient
from metasup.github.workflow_commands import Console
from metasup.model.errors import InputError
from metasup.runner import load_workspace

workspace, pull_number, action = (
    test_action_review.workspace,
    test_action_review.pull_number,
    test_action_review.action,
)
"""The review tests' fixtures: the demo fleet checked out, a PR on the fake GitHub, the action."""


@pytest.mark.parametrize(
    ("name", "flag", "token"),
    [
        ("metasup-review.json", "report-path", ACTIONS_TOKEN),
        ("metasup-comment.md", "comment file", FORK_TOKEN),
    ],
)
@pytest.mark.parametrize("inside", [False, True])
def test_review__a_committed_link_where_the_action_writes_is_refused_before_any_work(
    action: ActionRun, pull_number: int, tmp_path: Path, name: str, flag: str, token: str, inside: bool
) -> None:
    """The report, and the comment file of a read-only (fork) token, were written over the link's
    target: any file the runner can write, outside the workspace or (``.git/config``) inside."""
    target = (action.workspace / "notes.txt") if inside else (tmp_path / "victim.txt")
    target.write_text("precious\n")
    link = action.workspace / name
    link.symlink_to(target)
    action.fake.reset_log()
    assert action(METASUP_GITHUB_TOKEN=token) == 2
    assert target.read_text() == "precious\n"
    assert (
        f"::error::{flag}: {link} is a symbolic link (to {target}): refused (the action writes only"
        " regular files inside GITHUB_WORKSPACE, never through a link" in action.stdout
    )
    assert action.fake.writes() == []
    assert our_comments(action.fake, pull_number) == []


def test_review__a_token_pasted_with_its_line_end_works_and_is_masked_exactly(
    action: ActionRun, pull_number: int
) -> None:
    """It ended as an internal error quoting ``token ghs_…\\n`` in clear: the mask covered ``…%0A``."""
    assert action(METASUP_GITHUB_TOKEN=ACTIONS_TOKEN + "\n") == 0
    assert len(our_comments(action.fake, pull_number)) == 1
    lines_with_token = [line for line in action.stdout.splitlines() if ACTIONS_TOKEN in line]
    assert lines_with_token == [f"::add-mask::{ACTIONS_TOKEN}"]


def test_review__an_internal_error_quoting_the_token_does_not_print_it(
    action: ActionRun, pull_number: int
) -> None:
    """requests' ``InvalidHeader`` (and others) quote the header value; the mask may not match it."""

    def quoting(token: str, api_url: str) -> GitHubClient:
        raise ValueError(f"Invalid header value: 'token {token}\\n' for {api_url}")

    for value in (ACTIONS_TOKEN, ACTIONS_TOKEN + "\n"):
        stream = io.StringIO()
        assert run({**action.environ, "METASUP_GITHUB_TOKEN": value}, Console(stream), quoting) == 1
        errors = [line for line in stream.getvalue().splitlines() if line.startswith("::error::")]
        assert len(errors) == 1
        assert (
            "Internal error (a bug in metasup, not in your input): ValueError: Invalid header value:"
            in (errors[0])
        )
        assert "'token ***" in errors[0]
        assert ACTIONS_TOKEN not in errors[0]


def test_review__the_debug_traceback_does_not_print_the_token(
    action: ActionRun, pull_number: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """``METASUP_DEBUG=1`` printed the traceback as is: the exception's quote of the token with it."""

    def quoting(token: str, api_url: str) -> GitHubClient:
        raise ValueError(f"Invalid header value: 'token {token}' for {api_url}")

    assert run({**action.environ, "METASUP_DEBUG": "1"}, Console(io.StringIO()), quoting) == 1
    printed = capsys.readouterr().err
    assert "Traceback (most recent call last)" in printed
    assert "ValueError: Invalid header value: 'token ***'" in printed
    assert ACTIONS_TOKEN not in printed


def _pull(number: int, base_repo_url: str) -> dict[str, Any]:
    """A ``workflow_run.pull_requests`` entry in GitHub's short form (no owner but in the URLs)."""
    repo = {"id": 2, "url": base_repo_url, "name": base_repo_url.rsplit("/", 1)[-1]}
    return {
        "url": f"{base_repo_url}/pulls/{number}",
        "id": 999,
        "number": number,
        "head": {"ref": "main", "sha": "0" * 40, "repo": repo},
        "base": {"ref": "main", "sha": "0" * 40, "repo": repo},
    }


def _workflow_run(
    action: ActionRun,
    webhook_payload: Callable[[str], dict[str, Any]],
    tmp_path: Path,
    pulls: list[dict[str, Any]],
) -> int:
    payload = webhook_payload("workflow_run.completed")
    payload["workflow_run"]["pull_requests"] = pulls
    path = tmp_path / "workflow_run.json"
    path.write_text(json.dumps(payload))
    return action(GITHUB_EVENT_NAME="workflow_run", GITHUB_EVENT_PATH=str(path))


def test_review__workflow_run_for_another_repositorys_pr_comments_nowhere(
    action: ActionRun, pull_number: int, webhook_payload: Callable[[str], dict[str, Any]], tmp_path: Path
) -> None:
    """A fork's PR alice/fleet#N from our branch: metasup commented on octo-org/fleet#N."""
    theirs = _pull(pull_number, f"{action.fake.url}/repos/alice/fleet")
    action.fake.reset_log()
    assert _workflow_run(action, webhook_payload, tmp_path, [theirs]) == 0
    assert "workflow_run event → skip mode" in action.stdout
    assert our_comments(action.fake, pull_number) == []
    assert action.fake.writes() == []


def test_review__workflow_run_reviews_our_pr_listed_after_another_repositorys(
    action: ActionRun,
    pull_number: int,
    fake_github: FakeGitHub,
    webhook_payload: Callable[[str], dict[str, Any]],
    tmp_path: Path,
) -> None:
    """Theirs first, numbered as one of our PRs: the comment goes to ours, the one GitHub listed."""
    fake_github.create_branch(REPO, "second")
    fake_github.commit_files(REPO, "second", {"MORE.md": "x\n"})
    ours: int = fake_github.open_pull(REPO, "second", title="Second").number
    theirs = _pull(pull_number, f"{action.fake.url}/repos/alice/fleet")
    pulls = [theirs, _pull(ours, f"{action.fake.url}/repos/{REPO}")]
    assert _workflow_run(action, webhook_payload, tmp_path, pulls) == 0
    assert len(our_comments(action.fake, ours)) == 1
    assert our_comments(action.fake, pull_number) == []


@pytest.mark.parametrize(
    "url", ["file://../../outside/events.jsonl", "http://127.0.0.1:9/e.jsonl", "memory://x/e.jsonl"]
)
def test_workspace__an_artifact_url_that_is_not_object_storage_is_refused(tmp_path: Path, url: str) -> None:
    """``file://`` passed the workspace check (URLs were left to their credentials) and read a file
    outside it into the PR comment; ``http://`` would have been fetched. The CLI still reads any
    fsspec URL (``test_engine_sources``); the action, whose config comes from the PR, does not."""
    workspace = tmp_path / "ws"
    shutil.copytree(EXAMPLES_DIR, workspace, ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.md"))
    config = workspace / "metasup.yml"
    config.write_text(config.read_text().replace("alpha/events.jsonl", url, 1))
    assert url in config.read_text()

    with pytest.raises(InputError, match=r"artifacts\.alpha: .*not object storage: refused"):
        load_workspace(config, confine_to=workspace)


def test_review__never_connects_to_a_scheduler_the_prs_config_names(
    action: ActionRun, pull_number: int
) -> None:
    """A PR's metasup.yml named its own "scheduler": a Dask client unpickles what that host sends,
    so the PR's code would have run in the action beside the token (found by an audit). The
    review runs on a local cluster instead, with a warning, and nothing ever connects there."""
    connections: list[object] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)

    def accept() -> None:
        while not stop.is_set():
            try:
                connections.append(listener.accept()[0])
            except TimeoutError:
                continue

    stop = threading.Event()
    watcher = threading.Thread(target=accept, daemon=True)
    watcher.start()
    port = listener.getsockname()[1]
    config = action.workspace / "metasup.yml"
    config.write_text(config.read_text() + f"engine: {{kind: dask, address: 'tcp://127.0.0.1:{port}'}}\n")
    try:
        assert action() == 0
    finally:
        stop.set()
        watcher.join()
        listener.close()
    assert connections == []
    assert "::warning::metasup.yml: engine.address is not used by the action" in action.stdout
    assert "dask engine (a local cluster)" in action.stdout
    assert len(our_comments(action.fake, pull_number)) == 1
