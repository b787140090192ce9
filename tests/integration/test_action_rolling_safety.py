"""Rolling mode acts only on what metasup provably wrote, and fails cleanly (SPEC §5 "Acting safely",
"Acting reliably", "Ledger head anchor"), end to end through the action against the fake GitHub."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fakegithub import FakeGitHub
from github import InputGitTreeElement
from test_action_rolling import PROMOTE_BRANCH, REPO, STATE, Rolling, fleet_files

from metasup.action import run
from metasup.github import connect
from metasup.github.workflow_commands import Console
from metasup.render.bodies import DASHBOARD_MARKER
from metasup.rolling.audit_ledger import NewEntry, append_new, parse_ledger, serialize
from metasup.runtime import INTERRUPTED

HELD_TEXT = "this PR is now a person's to merge"


@pytest.fixture
def rolling(fake_github: FakeGitHub, tmp_path: Path, github_event_path: Callable[..., Path]) -> Rolling:
    files = fleet_files()
    fake_github.create_repo(REPO, files)
    workspace = tmp_path / "workspace"
    for name, text in files.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text)
    return Rolling(fake_github, workspace, github_event_path("workflow_dispatch", repo=REPO))


ROOT = Path(__file__).resolve().parents[2]


def summary(rolling: Rolling) -> str:
    return (rolling.workspace.parent / "summary.md").read_text()


def next_run_fails_writing_nothing(rolling: Rolling) -> None:
    """Six hours later the next run exits 1 and sends GitHub no write at all."""
    rolling.fake.advance(hours=6)
    rolling.fake.reset_log()
    assert rolling() == 1
    assert rolling.fake.writes() == []


def state_messages(fake: FakeGitHub) -> list[str]:
    repo = fake.client().get_repo(REPO)
    sha: str | None = fake.ref_sha(REPO, STATE)
    messages = []
    while sha is not None:
        commit = repo.get_git_commit(sha)
        messages.append(commit.message)
        sha = commit.parents[0].sha if commit.parents else None
    return messages


# -- 1. only metasup's own PRs -------------------------------------------------------------------


def test_fork_pr_with_a_metasup_branch_name_is_never_touched(rolling: Rolling) -> None:
    fake = rolling.fake
    fork = fake.fork_repo(REPO, "alice")
    fake.commit_files(fork.full_name, PROMOTE_BRANCH, {"agents.yaml": "hijacked\n"}, user="alice")
    forked = fake.open_pull(REPO, f"alice:{PROMOTE_BRANCH}", title="[AUTO-PROMOTE] momo-beta", body="mine")
    assert rolling() == 0
    fake.advance(hours=25)
    assert rolling() == 0
    pull = fake.issue(REPO, forked.number)
    assert pull.state == "open"
    assert pull.pull is not None
    assert not pull.pull.merged
    assert pull.labels == []
    assert pull.body == "mine"
    assert fake.comments(REPO, forked.number) == []
    assert f"::warning::PR #{forked.number} ({PROMOTE_BRANCH}) is not metasup's" in rolling.stdout
    assert f"PR #{forked.number}" in summary(rolling)
    ours = [p for p in rolling.promote_pulls() if p.number != forked.number]
    assert len(ours) == 1
    assert ours[0].pull.merged

    fake.close_pull(REPO, forked.number, user="alice")
    rolling()
    assert not rolling.events("vetoed")  # a fork's close is no veto


def test_same_repo_pr_by_another_user_blocks_the_branch(rolling: Rolling) -> None:
    fake = rolling.fake
    fake.commit_files(REPO, PROMOTE_BRANCH, {"NOTES.md": "bob's work\n"}, user="bob")
    theirs = fake.open_pull(REPO, PROMOTE_BRANCH, title="bob's PR", body="bob", user="bob")
    head = fake.ref_sha(REPO, PROMOTE_BRANCH)
    assert rolling() == 0
    fake.advance(hours=25)
    assert rolling() == 0
    assert fake.ref_sha(REPO, PROMOTE_BRANCH) == head  # never force-pushed over
    pull = fake.issue(REPO, theirs.number)
    assert pull.state == "open"
    assert pull.labels == []
    assert pull.body == "bob"
    assert pull.pull is not None
    assert not pull.pull.merged
    assert "opened by bob" in rolling.stdout
    assert not rolling.events("promotion_proposed", "momo-beta")


# -- 2. a moved head is held, once ------------------------------------------------------------------


def test_moved_head_is_never_merged_and_held_once(rolling: Rolling) -> None:
    fake = rolling.fake
    assert rolling() == 0
    [pull] = rolling.promote_pulls()
    fake.push_to_pull(REPO, pull.number, {"NOTES.md": "a person's change\n"}, user="bob")
    fake.advance(hours=25)
    assert rolling() == 0
    assert not fake.issue(REPO, pull.number).pull.merged  # type: ignore[union-attr]
    held = [c for c in fake.comments(REPO, pull.number) if HELD_TEXT in c.body]
    assert len(held) == 1
    assert [r["data"] for r in rolling.events("promotion_held", "momo-beta")] == [
        {"pr": pull.number, "dedupe_key": f"pr#{pull.number}"}
    ]
    fake.advance(hours=6)
    assert rolling() == 0
    assert len([c for c in fake.comments(REPO, pull.number) if HELD_TEXT in c.body]) == 1
    assert len(rolling.events("promotion_held")) == 1
    assert not fake.issue(REPO, pull.number).pull.merged  # type: ignore[union-attr]
    assert [p.number for p in rolling.promote_pulls()] == [pull.number]  # no second PR either


def test_merge_sends_the_recorded_head(rolling: Rolling) -> None:
    rolling()
    [pull] = rolling.promote_pulls()
    recorded = json.loads(rolling.fake.read_file(REPO, "pulls.json", ref=STATE))[PROMOTE_BRANCH]
    assert recorded[-1] == rolling.fake.ref_sha(REPO, PROMOTE_BRANCH)
    rolling.fake.advance(hours=25)
    rolling()
    (merge,) = rolling.fake.requests("PUT", f"/repos/*/pulls/{pull.number}/merge")
    assert merge.body["sha"] == recorded[-1]
    assert rolling.fake.issue(REPO, pull.number).pull.merged  # type: ignore[union-attr]


# -- 3. a refused PR creation still writes state and summary -----------------------------------------


def test_pr_creation_refused_still_writes_state_and_summary(
    fake_github: FakeGitHub, tmp_path: Path, github_event_path: Callable[..., Path]
) -> None:
    files = fleet_files()
    fake_github.create_repo(REPO, files, actions_can_create_prs=False)
    workspace = tmp_path / "workspace"
    for name, text in files.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text)
    runner = Rolling(fake_github, workspace, github_event_path("workflow_dispatch", repo=REPO))
    assert runner() == 1
    assert runner.stdout.count("Allow GitHub Actions to create and approve pull requests") == 1
    assert fake_github.read_file(REPO, "snapshots/main.json", ref=STATE)
    assert [r["subject"] for r in runner.events("killed")]  # the kills are recorded all the same
    assert "Allow GitHub Actions to create and approve pull requests" in summary(runner)


# -- 4. retries run out: ::error::, exit 1, nothing half-written, a summary --------------------------


@pytest.mark.parametrize("fault", ["5xx", "rate-limit"])
def test_exhausted_retries_end_the_run_cleanly(rolling: Rolling, fault: str) -> None:
    rolling()
    rolling.fake.advance(hours=6)
    before = rolling.fake.ref_sha(REPO, STATE)
    if fault == "5xx":
        rolling.fake.fail_next(100, method="POST", path="/repos/*/git/commits", status=502)
    else:
        rolling.fake.primary_rate_limit(100, method="POST", path="/repos/*/git/commits", reset_in=3600)
    stream = io.StringIO()
    environ = {**rolling.environ, "GITHUB_RUN_ID": "2"}
    code = run(
        environ,
        console=Console(stream),
        connect=lambda token, url: connect(token, url, sleep=lambda _: None),
        clock=rolling.fake.clock.now,
    )
    out = stream.getvalue()
    assert code == 1
    assert f"::error::GitHub call POST /repos/{REPO}/git/commits failed" in out
    assert "Traceback" not in out
    assert rolling.fake.ref_sha(REPO, STATE) == before  # nothing half-written
    assert "run failed" in summary(rolling)
    assert "POST /repos/octo-org/fleet/git/commits" in summary(rolling).replace("\\", "")


# -- 5. bodies fit, labels exist ---------------------------------------------------------------------


def test_huge_dashboard_is_fitted_and_labels_exist(rolling: Rolling, monkeypatch: pytest.MonkeyPatch) -> None:
    huge = DASHBOARD_MARKER + "\n" + "\n".join(f"- line {i} " + "x" * 60 for i in range(1000))
    assert len(huge) > 70_000
    monkeypatch.setattr("metasup.rolling.run.render_dashboard", lambda *args: huge)
    assert rolling() == 0
    [dashboard] = [i for i in rolling.fake.repo(REPO).issues.values() if i.pull is None]
    assert dashboard.body is not None
    assert len(dashboard.body) <= 65_536
    assert "job summary" in dashboard.body.splitlines()[-1]
    labels = rolling.fake.repo(REPO).labels
    assert {"auto-promote", "auto-retire"} <= set(labels)


# -- 6. ledger head anchor -----------------------------------------------------------------------------


def test_state_commits_carry_the_ledger_head(rolling: Rolling) -> None:
    rolling()
    records = parse_ledger(rolling.fake.read_file(REPO, "ledger.jsonl", ref=STATE))
    anchored = [m for m in state_messages(rolling.fake) if "Ledger-Head:" in m]
    assert f"Ledger-Head: {records[-1].seq} {records[-1].hash}" in anchored[0]


def test_cut_ledger_tail_is_critical_and_writes_nothing(rolling: Rolling) -> None:
    rolling()
    rolling.fake.advance(hours=6)
    rolling()
    lines = rolling.fake.read_file(REPO, "ledger.jsonl", ref=STATE).splitlines(keepends=True)
    assert len(lines) >= 3
    rolling.fake.commit_files(REPO, STATE, {"ledger.jsonl": "".join(lines[:-2])}, user="mallory")
    next_run_fails_writing_nothing(rolling)
    assert "::error::CRITICAL: Audit ledger chain broken" in rolling.stdout
    assert "tail was cut off" in rolling.stdout
    assert "**Overall Severity:** CRITICAL" in summary(rolling)


# -- 6b. the state branch deleted or replaced: the dashboard issue's anchor tells ------------------


def dashboard(rolling: Rolling) -> object:
    return next(
        i
        for i in rolling.fake.repo(REPO).issues.values()
        if i.pull is None and i.state == "open" and i.body.startswith(DASHBOARD_MARKER)
    )


def test_a_deleted_state_branch_is_critical_until_it_is_restored(rolling: Rolling) -> None:
    assert rolling() == 0
    records = parse_ledger(rolling.fake.read_file(REPO, "ledger.jsonl", ref=STATE))
    state_commit = rolling.fake.ref_sha(REPO, STATE)
    body = dashboard(rolling).body  # type: ignore[attr-defined]
    assert f"<!--\nLedger-Head: {len(records)} {records[-1].hash}\nState-Commit: {state_commit}\n-->" in body
    assert f"Audit ledger: {len(records)} records, last `{records[-1].hash[:12]}`" in body
    repo = rolling.fake.client().get_repo(REPO)  # a person, through the API
    repo.get_git_ref(f"heads/{STATE}").delete()

    next_run_fails_writing_nothing(rolling)  # no fresh ledger, no PR, no dashboard edit
    assert "::error::CRITICAL: Audit ledger chain broken" in rolling.stdout
    assert (
        f"record seq {len(records)} ({records[-1].hash[:12]}…), anchored by the dashboard issue #"
        in rolling.stdout
    )
    assert "The metasup-state branch was deleted or replaced" in rolling.stdout
    assert f"restore it at commit {state_commit}" in rolling.stdout

    repo.create_git_ref(f"refs/heads/{STATE}", state_commit)  # restored where the message says
    rolling.fake.advance(hours=6)
    assert rolling() == 0
    assert [r["seq"] for r in rolling.ledger()][: len(records)] == [r.seq for r in records]


def test_a_state_branch_replaced_by_a_fresh_one_is_critical(rolling: Rolling) -> None:
    assert rolling() == 0
    repo = rolling.fake.client().get_repo(REPO)
    tree = repo.create_git_tree([InputGitTreeElement("ledger.jsonl", "100644", "blob", content="")])
    orphan = repo.create_git_commit("a fresh start", tree, [])
    repo.get_git_ref(f"heads/{STATE}").edit(orphan.sha, force=True)
    next_run_fails_writing_nothing(rolling)
    assert "The metasup-state branch was deleted or replaced" in rolling.stdout


def test_another_run_saving_as_this_one_starts_is_no_false_alarm(rolling: Rolling) -> None:
    """The dashboard is read before the state branch. Read after it, a run could find the
    dashboard of another run that saved meanwhile anchoring a record its older read of the
    ledger lacks: a CRITICAL "branch deleted or replaced" for nothing."""
    assert rolling() == 0
    rolling.fake.advance(hours=6)
    records = parse_ledger(rolling.fake.read_file(REPO, "ledger.jsonl", ref=STATE))

    def other_run_saves(fake: FakeGitHub, request: object) -> None:
        [extra] = append_new(records, [NewEntry(event="killed", subject="x")], "2026-11-01T00:00:00Z", "9")
        head = f"Ledger-Head: {extra.seq} {extra.hash}"
        sha = fake.commit_files(
            REPO, STATE, {"ledger.jsonl": serialize([*records, extra])}, message=f"metasup: state\n\n{head}\n"
        )
        issue: Any = dashboard(rolling)
        anchor = f"{head}\nState-Commit: {sha}"
        with fake.lock:
            issue.body = re.sub(r"Ledger-Head: .*\nState-Commit: .*", anchor, issue.body)

    rolling.fake.before_request(other_run_saves, method="GET", path=f"/repos/{REPO}/issues")
    assert rolling() == 0
    assert "CRITICAL" not in rolling.stdout
    assert rolling.events("killed", "x")  # the other run's record, kept


def test_closing_the_dashboard_starts_a_new_ledger_on_purpose(rolling: Rolling) -> None:
    assert rolling() == 0
    old = dashboard(rolling)
    rolling.fake.client().get_repo(REPO).get_git_ref(f"heads/{STATE}").delete()
    rolling.fake.client().get_repo(REPO).get_issue(old.number).edit(state="closed")  # type: ignore[attr-defined]
    rolling.fake.advance(hours=6)
    assert rolling() == 0
    assert dashboard(rolling).number != old.number  # type: ignore[attr-defined]
    assert rolling.ledger()[0]["seq"] == 1


def test_a_branch_named_like_a_folder_of_metasups_is_named_and_the_rest_goes_on(rolling: Rolling) -> None:
    """git cannot hold `metasup/promote` and `metasup/promote/momo-beta` at once: GitHub answers
    422 "Reference update failed" to creating the second."""
    rolling.fake.create_branch(REPO, "metasup/promote")
    assert rolling() == 1
    assert (
        "::error::GitHub refused to create the branch metasup/promote/momo-beta (Reference update "
        "failed). A branch named metasup or metasup/promote would block it" in rolling.stdout
    )
    assert "[AUTO-PROMOTE] momo-beta: sandbox → prod" not in [p.title for p in rolling.fake.pulls(REPO)]
    assert len(rolling.fake.pulls(REPO)) == 4  # the demotion and the three retirements
    assert rolling.events("killed")  # the state was written all the same


# -- 7. a state file of 5 MB ---------------------------------------------------------------------------


def test_rolling_run_with_a_5_mb_ledger(rolling: Rolling) -> None:
    entries = [
        NewEntry(event="killed", subject=f"old-agent-{i}", data={"note": "x" * 100_000}) for i in range(54)
    ]
    text = serialize(append_new([], entries, "2026-01-01T00:00:00Z", "old"))
    assert len(text.encode()) >= 5 * 1024 * 1024
    rolling.fake.commit_files(REPO, STATE, {"ledger.jsonl": text}, create_from="main")
    assert rolling() == 0
    ledger = rolling.ledger()
    assert len(ledger) > 54
    assert rolling.events("promotion_proposed", "momo-beta")


# -- 3b. 422 "already exists": metasup adopts its own PR, never another's -------------------------


def test_pr_already_exists__its_own_is_adopted(rolling: Rolling) -> None:
    """Another run of metasup opened the PR between this run's push and its POST (a race)."""
    fake = rolling.fake
    raced: list[int] = []

    def open_it_first(fake: FakeGitHub, _info: object) -> None:
        pull = fake.open_pull(
            REPO, PROMOTE_BRANCH, title="[AUTO-PROMOTE] momo-beta", user="github-actions[bot]"
        )
        raced.append(pull.number)

    fake.before_request(open_it_first, method="POST", path="/repos/*/pulls")
    assert rolling() == 0

    [number] = raced
    assert [p.number for p in rolling.promote_pulls()] == [number]  # adopted, not duplicated
    proposed = rolling.events("promotion_proposed", "momo-beta")
    assert [r["data"]["pr"] for r in proposed] == [number]  # type: ignore[index]
    assert "A pull request already exists" not in rolling.stdout


def test_pr_already_exists__another_users_is_not_adopted(rolling: Rolling) -> None:
    fake = rolling.fake
    raced: list[int] = []

    def open_it_first(fake: FakeGitHub, _info: object) -> None:
        raced.append(fake.open_pull(REPO, PROMOTE_BRANCH, title="mine", user="alice").number)

    fake.before_request(open_it_first, method="POST", path="/repos/*/pulls")
    rolling()

    [number] = raced
    assert not rolling.events("promotion_proposed", "momo-beta")
    assert fake.issue(REPO, number).labels == []
    assert f"PR #{number}" in summary(rolling)


# -- 8. a damaged state file: a named error, nothing written -----------------------------------------


DAMAGED_STATE = [
    ("pulls.json", b'{"metasup/promote/momo-beta": ["abc"'),
    ("pulls.json", b"[]"),
    ("pulls.json", b""),
    ("email-claims.json", b"not json"),
    ("email-claims.json", b'{"2026-W43": 7}'),
    ("email-claims.json", b"\xf8\xb8 binary"),
]


@pytest.mark.parametrize(
    ("path", "content"), DAMAGED_STATE, ids=[f"{p}={c[:12]!r}" for p, c in DAMAGED_STATE]
)
def test_a_damaged_state_file_stops_the_run_before_it_acts(
    rolling: Rolling, path: str, content: bytes
) -> None:
    """pulls.json says which PRs metasup may merge, email-claims.json whether an e-mail went out:
    metasup does not guess either. It names the file and how to mend it, and writes nothing."""
    assert rolling() == 0
    rolling.fake.commit_files(REPO, STATE, {path: content}, user="mallory")
    next_run_fails_writing_nothing(rolling)
    assert f"::error::state branch {STATE}: {path} is not what metasup writes" in rolling.stdout
    assert "Restore it from the branch's history, or delete it" in rolling.stdout
    assert "Internal error" not in rolling.stdout
    assert "run failed" in summary(rolling)


def test_a_ledger_that_is_not_utf8_is_a_broken_chain(rolling: Rolling) -> None:
    rolling()
    text = rolling.fake.read_file(REPO, "ledger.jsonl", ref=STATE).encode()
    rolling.fake.commit_files(REPO, STATE, {"ledger.jsonl": text[:40] + b"\xb8" + text[41:]}, user="mallory")
    next_run_fails_writing_nothing(rolling)
    assert "::error::CRITICAL: Audit ledger chain broken" in rolling.stdout


def test_a_snapshot_that_is_not_utf8_is_no_snapshot(rolling: Rolling) -> None:
    """The base's snapshot is a cache: damaged, the base is evaluated from git as without one."""
    rolling()
    rolling.fake.commit_files(REPO, STATE, {"snapshots/main.json": b"\xf8{ damaged"}, user="mallory")
    rolling.fake.advance(hours=6)
    assert rolling() == 0
    assert "Internal error" not in rolling.stdout
    snapshot = json.loads(rolling.fake.read_file(REPO, "snapshots/main.json", ref=STATE))
    assert snapshot["run_id"] == "2"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_run_stopped_by_a_signal_says_so_in_one_line_and_the_next_run_finishes(
    rolling: Rolling, signum: signal.Signals
) -> None:
    """A cancelled job (SIGINT, then SIGTERM, to the container's PID 1) stopped as it opened its first
    PR: one ``::error::`` line, exit 130, no traceback; the next run finishes the work once."""
    process: subprocess.Popen[str] | None = None

    def stop(_fake: object, _info: object) -> None:
        assert process is not None
        process.send_signal(signum)
        time.sleep(0.5)  # the signal lands while this request is in flight

    rolling.fake.before_request(stop, method="POST", path=re.compile(r"/repos/[^/]+/[^/]+/pulls"))
    environ = {**os.environ, **rolling.environ, "GITHUB_RUN_ID": "1"}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "entrypoint.py")],
        env=environ,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = process.communicate(timeout=300)
    assert process.returncode == INTERRUPTED, out + err
    assert "Traceback" not in out + err
    assert "::error::metasup was stopped before it finished" in out
    stopped = (rolling.workspace.parent / "summary.md").read_text().replace("\\", "")
    assert "The state branch holds only whole commits" in stopped
    assert "- open [AUTO-PROMOTE] PR for momo-beta (it stopped here)" in stopped

    rolling.fake.advance(hours=1)
    assert rolling() == 0, rolling.stdout
    assert len(rolling.promote_pulls()) == 1
    assert len(rolling.events("promotion_proposed", "momo-beta")) == 1


def test_a_rolling_run_started_from_another_branch_does_nothing(rolling: Rolling) -> None:
    """workflow_dispatch from a branch whose metasup.yml loosened the gates opened [AUTO-PROMOTE]
    PRs into main under that branch's rules (found by an audit). Only a run on the base acts."""
    rolling.fake.reset_log()
    assert rolling(GITHUB_REF="refs/heads/loosen") == 2
    said = (
        "rolling mode acts for the base branch main, but this workflow_dispatch run is on refs/heads/loosen"
    )
    assert f"::error::{said}" in rolling.stdout
    assert rolling.fake.writes() == []
    assert rolling(GITHUB_REF="refs/heads/main") == 0
    assert rolling.fake.pulls(REPO)


@pytest.mark.parametrize("lag", [1.0, 30.0])
def test_a_pr_head_github_has_not_moved_yet_is_waited_for_not_held(
    rolling: Rolling, monkeypatch: pytest.MonkeyPatch, lag: float
) -> None:
    """GitHub shows a PR's new head seconds after its branch moves. metasup re-cut its PRs on a
    base a person had moved and merged at once: the PR still showed metasup's previous commit,
    read as "someone pushed", and both PRs were held for good (found by an audit). Now the run
    waits for the PR to show its push (up to 15 s), else leaves it to the next run, never held."""
    monkeypatch.setattr("metasup.github.pr_branches.HEAD_CATCH_UP_SECONDS", 3)
    fake = rolling.fake
    assert rolling() == 0
    stage_prs = [
        p.number
        for p in fake.pulls(REPO)
        if p.pull is not None and p.pull.head_ref.startswith(("metasup/promote", "metasup/demote"))
    ]
    assert len(stage_prs) == 2
    fake.advance(hours=1)
    fake.commit_files(REPO, "main", {"README.md": "# a person's change\n"}, user="alice")  # the base moves
    fake.advance(hours=25)
    fake.repo(REPO).pull_head_lag = lag
    assert rolling() == 0
    assert not [r for r in rolling.ledger() if str(r["event"]).endswith("_held")]
    assert not [c for n in stage_prs for c in fake.comments(REPO, n) if HELD_TEXT in c.body]
    merged = [n for n in stage_prs if fake.issue(REPO, n).pull.merged]
    if lag < 3:
        assert merged == stage_prs  # waited for, merged in this run
        return
    assert merged == []
    assert "GitHub has not caught up with metasup's push yet; merging next run" in summary(rolling)
    fake.repo(REPO).pull_head_lag = 0.0
    fake.advance(hours=6)
    assert rolling() == 0
    assert [n for n in stage_prs if fake.issue(REPO, n).pull.merged] == stage_prs


def test_a_merge_github_refuses_says_why_on_every_run(rolling: Rolling) -> None:
    """Squash merging disabled in the repository: GitHub answers 405 "Squash merges are not
    allowed on this repository.", and each run said only "not mergeable yet; will retry next run",
    so the 24 h auto-merge never happened and nobody learned why (found by an audit)."""
    fake = rolling.fake
    assert rolling() == 0
    fake.repo(REPO).allow_squash_merge = False
    fake.advance(hours=25)
    for _ in range(2):
        assert rolling() == 0
        assert "Squash merges are not allowed on this repository." in rolling.stdout  # a ::warning::
        assert "Squash merges are not allowed on this repository." in summary(rolling)
        fake.advance(hours=6)
    assert not [p for p in fake.pulls(REPO, state="all") if p.pull is not None and p.pull.merged]
    fake.repo(REPO).allow_squash_merge = True
    assert rolling() == 0
    assert [p for p in fake.pulls(REPO, state="all") if p.pull is not None and p.pull.merged]
