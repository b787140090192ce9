"""A GitHub App's installation token: GitHub answers 403 to ``GET /user`` for it exactly as for
GITHUB_TOKEN, so metasup cannot tell from reading who it writes as. With the action's ``app-slug``
it knows (``<slug>[bot]``); without it, the first thing it creates shows the mismatch and the run
stops naming the input, instead of writing a new comment or PR on every run."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fakegithub import PAT_TOKEN, FakeGitHub, Repo

from metasup.action import run
from metasup.action_settings import ActionSettings
from metasup.examples import EXAMPLES_DIR
from metasup.github import (
    WrongIdentity,
    commit_change,
    connect,
    declare_app,
    open_or_find_pull,
    own_login,
    point_branch,
)
from metasup.github.workflow_commands import Console
from metasup.render.comment import MARKER

REPO = "octo-org/fleet"
APP_TOKEN = "ghs_fleetBotAppInstallationToken000001"
APP_LOGIN = "fleet-bot[bot]"


@pytest.fixture
def app_token(fake_github: FakeGitHub) -> str:
    fake_github.add_token(APP_TOKEN, APP_LOGIN, installation=True)
    return APP_TOKEN


@pytest.fixture
def number(fake_github: FakeGitHub, fake_repo: Repo) -> int:
    fake_github.create_branch(REPO, "feature")
    opened: int = fake_github.open_pull(REPO, "feature", title="Tune").number
    return opened


@pytest.fixture
def review(
    fake_github: FakeGitHub, number: int, tmp_path: Path, github_event_path: Callable[..., Path]
) -> Callable[..., tuple[int, str]]:
    """Run the action in review mode on the PR; returns the exit code and what it printed."""
    workspace = tmp_path / "workspace"
    shutil.copytree(
        EXAMPLES_DIR, workspace, ignore=shutil.ignore_patterns("*.py", "__pycache__", "README.md")
    )
    environ = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(github_event_path("pull_request.opened", repo=REPO, number=number)),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": fake_github.url,
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "METASUP_FAIL_ON": "never",
    }

    def once(**env: str) -> tuple[int, str]:
        stream = io.StringIO()
        code = run({**environ, **env}, console=Console(stream))
        return code, stream.getvalue()

    return once


def comments_by(fake: FakeGitHub, number: int) -> list[str]:
    """Who wrote the PR's comments that carry metasup's marker, oldest first."""
    return [c.user for c in fake.comments(REPO, number) if c.body.startswith(MARKER)]


def test_app_token__with_app_slug_one_comment_kept_and_others_left_alone(
    fake_github: FakeGitHub, review: Callable[..., tuple[int, str]], app_token: str, number: int
) -> None:
    fake_github.add_comment(REPO, number, MARKER + "\nthe Actions bot's", user="github-actions[bot]")

    for as_of in ("", "2026-10-29T20:00:00Z"):  # a second run with another body edits, never adds
        code, printed = review(
            METASUP_GITHUB_TOKEN=app_token, METASUP_APP_SLUG="fleet-bot", METASUP_AS_OF=as_of
        )
        assert code == 0, printed

    assert comments_by(fake_github, number) == ["github-actions[bot]", APP_LOGIN]
    assert fake_github.comments(REPO, number)[0].body == MARKER + "\nthe Actions bot's"
    assert len(fake_github.requests("POST", "/repos/*/issues/*/comments")) == 1


def test_app_token__without_app_slug_the_run_fails_naming_the_input(
    fake_github: FakeGitHub, review: Callable[..., tuple[int, str]], app_token: str
) -> None:
    code, printed = review(METASUP_GITHUB_TOKEN=app_token)
    assert code == 1
    error = printed.splitlines()[-1]  # the findings' annotations come first
    assert error.startswith("::error::GitHub wrote comment ")
    assert "as 'fleet-bot[bot]', but metasup took itself for 'github-actions[bot]'" in error
    assert error.endswith("set the action's input app-slug: fleet-bot")
    assert app_token not in printed.removeprefix(f"::add-mask::{app_token}\n")


def test_app_slug_with_a_personal_token_writes_nothing(
    fake_github: FakeGitHub, review: Callable[..., tuple[int, str]], number: int
) -> None:
    code, printed = review(METASUP_GITHUB_TOKEN=PAT_TOKEN, METASUP_APP_SLUG="fleet-bot")
    assert code == 1
    assert "belongs to 'octocat', not to the GitHub App 'fleet-bot[bot]'" in printed
    assert comments_by(fake_github, number) == []


@pytest.mark.parametrize(
    ("given", "expected"), [("fleet-bot", "fleet-bot[bot]"), ("Fleet-Bot[bot]", "fleet-bot[bot]")]
)
def test_app_slug__the_slug_or_the_bot_login(
    fake_github: FakeGitHub, fake_repo: Repo, given: str, expected: str
) -> None:
    settings = ActionSettings.from_environ(
        {
            "METASUP_GITHUB_TOKEN": "t",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_REPOSITORY": REPO,
            "METASUP_APP_SLUG": given,
        }
    )
    gh = connect(APP_TOKEN, fake_github.url)
    fake_github.add_token(APP_TOKEN, expected, installation=True)
    assert settings.app_slug is not None
    declare_app(gh, settings.app_slug)
    assert own_login(gh) == expected


def test_app_slug__not_a_slug_is_an_input_error(review: Callable[..., tuple[int, str]]) -> None:
    code, printed = review(METASUP_GITHUB_TOKEN=APP_TOKEN, METASUP_APP_SLUG="fleet bot; rm")
    assert code == 2
    assert "app-slug: 'fleet bot; rm' is not a GitHub App's slug" in printed


def test_app_token__a_pull_request_opened_as_another_login_stops_the_run(
    fake_github: FakeGitHub, fake_repo: Repo, app_token: str
) -> None:
    """Rolling mode's PRs: without the declaration, the PR it just opened would not be its own on
    the next run (so never merged, never refreshed); the call says so at once."""
    for declared, outcome in ((False, "refused"), (True, "opened")):
        gh = connect(app_token, fake_github.url)
        if declared:
            declare_app(gh, "fleet-bot")
        branch = f"metasup/promote/{'beta' if declared else 'alpha'}"
        sha = commit_change(gh, REPO, fake_github.ref_sha(REPO, "main"), "agents.yaml", "a: prod\n", "m")
        point_branch(gh, REPO, branch, sha, lambda head: False)
        if outcome == "refused":
            with pytest.raises(
                WrongIdentity, match=r"pull request #\d+ as 'fleet-bot\[bot\]'.*app-slug: fleet-bot"
            ):
                open_or_find_pull(gh, REPO, branch, "main", "[AUTO-PROMOTE] alpha", "body", "auto-promote")
        else:
            opened = open_or_find_pull(
                gh, REPO, branch, "main", "[AUTO-PROMOTE] beta", "body", "auto-promote"
            )
            assert opened.created
            assert opened.facts.is_metasups(own_login(gh), sha, "main")
