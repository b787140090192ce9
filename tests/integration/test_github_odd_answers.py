"""Legal GitHub answers that stopped metasup (found by an audit, 2026-12-08).

* ``user: null``: the OpenAPI description types the author of an issue, comment, PR and review as
  ``nullable-simple-user``; GitHub sends null for some items of deleted accounts. One such issue
  anywhere in the repository stopped every rolling run ("Internal error … 'NoneType' object has no
  attribute 'login'"), before it did anything; such a comment on metasup's own PR left the PR
  labelled but open, run after run. Such an item is nobody's, so never metasup's.
* A 422 on creating one PR (GitHub's transient ``head invalid`` right after the branch, or "No
  commits between") ended the whole run without GitHub's reason: the other PRs, the snapshot and
  the dashboard waited for the next run.
* A run that ended in an internal error wrote no job summary (SPEC §5: "written on every run,
  failed ones included").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fakegithub import FakeGitHub
from test_action_review import ActionRun, our_comments, pull_number, workspace
from test_action_rolling import PROMOTE_BRANCH, REPO, STATE, Rolling
from test_action_rolling_safety import rolling, summary

from metasup.render.comment import MARKER

__all__ = ["pull_number", "rolling", "workspace"]  # fixtures, shared


def clean_exit(rolling: Rolling) -> None:
    assert rolling() == 0, rolling.stdout
    assert "Internal error" not in rolling.stdout


def test_an_open_issue_of_a_deleted_account_is_not_the_dashboard(rolling: Rolling) -> None:
    rolling.fake.create_issue(REPO, "Old question", "<!-- metasup:dashboard -->", user="gone")
    rolling.fake.delete_user("gone")
    clean_exit(rolling)
    [pull] = rolling.promote_pulls()
    assert pull.title.startswith("[AUTO-PROMOTE] momo-beta")
    issues = rolling.fake.repo(REPO).issues.values()
    assert [i.user for i in issues if i.title == "Meta-Supervisor dashboard"] == ["github-actions[bot]"]


def test_a_pr_of_a_deleted_account_on_metasups_branch_is_left_alone(rolling: Rolling) -> None:
    rolling.fake.create_branch(REPO, PROMOTE_BRANCH)
    rolling.fake.commit_files(REPO, PROMOTE_BRANCH, {"NOTES.md": "mine\n"}, user="gone")
    theirs = rolling.fake.open_pull(REPO, PROMOTE_BRANCH, title="[AUTO-PROMOTE] momo-beta", user="gone")
    rolling.fake.delete_user("gone")
    clean_exit(rolling)
    said = f"PR #{theirs.number} ({PROMOTE_BRANCH}) is not metasup's: opened by a deleted account, not"
    assert said in rolling.stdout
    assert rolling.fake.issue(REPO, theirs.number).state == "open"
    assert rolling.events("promotion_proposed") == []
    assert rolling.events("killed")  # the run went on: its kills, snapshot and dashboard
    assert rolling.fake.read_file(REPO, "snapshots/main.json", ref=STATE)


def test_a_deleted_accounts_comment_on_metasups_pr_does_not_stop_its_withdrawal(rolling: Rolling) -> None:
    clean_exit(rolling)
    [pull] = rolling.promote_pulls()
    rolling.fake.add_comment(REPO, pull.number, "Looks good to me", user="gone")
    rolling.fake.delete_user("gone")
    telemetry = rolling.workspace / "telemetry" / "events.jsonl"
    violation = {"type": "safety_violation", "ts": "2026-10-29T15:00:00Z", "agent": "momo-beta", "rule": "x"}
    telemetry.write_text(telemetry.read_text() + json.dumps(violation) + "\n")
    rolling.fake.advance(hours=6)
    clean_exit(rolling)
    [closed] = rolling.promote_pulls()
    assert closed.state == "closed"
    assert "metasup-withdrawn" in closed.labels
    assert [r["event"] for r in rolling.ledger() if r["subject"] == "momo-beta"][-1] == "promotion_withdrawn"


def test_two_deleted_reviewers_changes_requested_still_holds(rolling: Rolling) -> None:
    """Both reviewers' accounts gone: one's approval is not the other's change of mind."""
    clean_exit(rolling)
    [pull] = rolling.promote_pulls()
    rolling.fake.submit_review(REPO, pull.number, "CHANGES_REQUESTED", "not yet", user="erin")
    rolling.fake.submit_review(REPO, pull.number, "APPROVED", user="frank")
    rolling.fake.delete_user("erin")
    rolling.fake.delete_user("frank")
    rolling.fake.advance(hours=25)
    clean_exit(rolling)
    [held] = rolling.promote_pulls()
    assert held.state == "open"
    assert not held.pull.merged


def test_review__a_deleted_accounts_comment_with_the_marker_is_not_ours(
    fake_github: FakeGitHub, workspace: Path, pull_number: int, github_event_path: Callable[..., Path]
) -> None:
    fake_github.add_comment(REPO, pull_number, f"{MARKER}\nan old report", user="gone")
    fake_github.delete_user("gone")
    event = github_event_path("pull_request.opened", repo=REPO, number=pull_number)
    action = ActionRun(fake_github, workspace, event, "pull_request")
    assert action() == 0, action.stdout
    [ours] = [c for c in our_comments(fake_github, pull_number) if c.user == "github-actions[bot]"]
    assert len(our_comments(fake_github, pull_number)) == 2  # the deleted account's is left alone
    assert ours.body != f"{MARKER}\nan old report"


@pytest.mark.parametrize(
    ("errors", "reason"),
    [
        ([{"resource": "PullRequest", "field": "head", "code": "invalid"}], "(head invalid)"),
        (
            [{"resource": "PullRequest", "code": "custom", "message": "No commits between main and x"}],
            "(No commits between main and x)",
        ),
    ],
    ids=["head-invalid", "no-commits"],
)
def test_a_refused_pr_creation_is_that_prs_error_and_the_run_goes_on(
    rolling: Rolling, errors: list[dict[str, str]], reason: str
) -> None:
    rolling.fake.refuse_next(errors, method="POST", path=f"/repos/{REPO}/pulls")
    assert rolling() == 1
    [error] = [line for line in rolling.stdout.splitlines() if line.startswith("::error::GitHub")]
    assert error.startswith(f"::error::GitHub refused the pull request for {PROMOTE_BRANCH}: 422 Validation")
    assert reason in error
    opened = sorted(p.pull.head_ref.split("/")[1] for p in rolling.fake.pulls(REPO))
    assert opened == ["demote", "retire", "retire", "retire"]  # the run's other PRs
    assert rolling.fake.read_file(REPO, "snapshots/main.json", ref=STATE)
    assert "Meta-Supervisor dashboard" in {i.title for i in rolling.fake.repo(REPO).issues.values()}

    rolling.fake.advance(hours=6)
    clean_exit(rolling)  # the next run opens it
    [pull] = rolling.promote_pulls()
    assert [r["data"]["pr"] for r in rolling.events("promotion_proposed", "momo-beta")] == [pull.number]


def test_an_internal_error_still_writes_the_job_summary(
    rolling: Rolling, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("metasup.rolling.run.upsert_issue", broken)
    assert rolling() == 1
    assert "Internal error (a bug in metasup, not in your input): RuntimeError: a bug" in rolling.stdout
    text = summary(rolling)
    assert text.startswith("## 🤖 Meta-Supervisor: run failed\n\n❌ Internal error")
    did = text.split("What it did before (on GitHub now; the next run takes it up):\n", 1)[1]
    assert "momo-beta" in did.split("\n\n", 1)[0]  # its promotion PR, opened before the bug
