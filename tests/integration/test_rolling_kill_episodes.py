"""A subject can be killed more than once in a fund's life (SPEC §3.4, §5 "[AUTO-RETIRE] PRs"): each
kill is an episode — one ``killed`` record and one retire PR — and only the latest one counts.

The demo's ``meanrev-legacy`` (prod) is killed at the end of the data; at ``EARLY`` its rules do not
fire. A person merges the retire PR, then puts the agent back in prod (reinstates it); or closes
the retire PR (lifts the kill). End to end through the action against the fake GitHub.
"""

from __future__ import annotations

import difflib
import io
import json

from fakegithub import FakeGitHub, RequestInfo
from test_action_rolling import REPO, STATE, Rolling
from test_action_rolling_safety import rolling, summary

from metasup.action import run
from metasup.github import connect
from metasup.github.workflow_commands import Console

__all__ = ["rolling"]  # the fixture, shared with test_action_rolling_safety

AGENT = "meanrev-legacy"
BRANCH = f"metasup/retire/{AGENT}"
EARLY = "2026-10-09T20:00:00Z"  # an as_of where meanrev-legacy's rules do not fire
COOLDOWN_DAYS = 30


def retire_pulls(rolling: Rolling) -> list[int]:
    return sorted(p.number for p in rolling.fake.pulls(REPO, state="all") if p.pull.head_ref == BRANCH)


def allocated(rolling: Rolling) -> set[str]:
    return set(json.loads(rolling.fake.read_file(REPO, "allocation.json", ref=STATE))["weights"])


def merged_then_reinstated(rolling: Rolling) -> int:
    """meanrev-legacy killed, its retire PR merged by alice, then put back in prod by a person (the
    registry on main and in the run's checkout as it was before the kill). Returns the PR."""
    original = (rolling.workspace / "agents.yaml").read_text()
    assert rolling() == 0
    [pull] = retire_pulls(rolling)
    rolling.fake.merge(REPO, pull, user="alice")
    rolling.fake.advance(hours=6)
    assert "stage: retired" in rolling.fake.read_file(REPO, "agents.yaml", ref="main")
    rolling.fake.commit_files(REPO, "main", {"agents.yaml": original}, message="Reinstate meanrev-legacy")
    (rolling.workspace / "agents.yaml").write_text(original)
    return pull


def test_an_agent_a_person_reinstates_after_its_retirement_is_not_killed_by_the_old_record(
    rolling: Rolling,
) -> None:
    """The kill recorded ``registry: prod``; the merged PR made it ``retired``; a person set it
    back to ``prod``. Where its rules do not fire, it is allocated again: the old kill was carried
    out by the merge, and the reinstatement is a person's decision."""
    merged_then_reinstated(rolling)

    assert rolling(METASUP_AS_OF=EARLY) == 0

    assert AGENT in allocated(rolling)
    assert len(rolling.events("killed", AGENT)) == 1


def test_a_reinstated_agent_killed_again_gets_a_new_record_and_a_new_retire_pr(rolling: Rolling) -> None:
    first = merged_then_reinstated(rolling)

    assert rolling() == 0  # at the end of the data its rules fire again

    kills = rolling.events("killed", AGENT)
    assert len(kills) == 2
    assert kills[1]["data"]["after_pr"] == first
    [_, second] = retire_pulls(rolling)
    assert rolling.fake.issue(REPO, second).state == "open"
    assert AGENT not in allocated(rolling)

    rolling.fake.advance(hours=6)
    assert rolling() == 0  # the next run: the same episode, nothing twice
    assert len(rolling.events("killed", AGENT)) == 2
    assert retire_pulls(rolling) == [first, second]


def test_a_reinstatement_is_recorded_before_the_kill_of_the_same_run(rolling: Rolling) -> None:
    """The person's edit came first, then this run killed what it found: in the ledger the same way
    round, so when the second retire PR merges, the retirement is the kill's, not a person's (a
    review: it was recorded as "taken out of prod by a person", and the LP report booked the
    killed agent's signals after its kill)."""
    original = (rolling.workspace / "agents.yaml").read_text()
    assert rolling() == 0
    [first] = retire_pulls(rolling)
    rolling.fake.merge(REPO, first, user="alice")
    (rolling.workspace / "agents.yaml").write_text(rolling.fake.read_file(REPO, "agents.yaml", ref="main"))
    rolling.fake.advance(hours=6)
    assert rolling() == 0  # sees it retired
    rolling.fake.commit_files(REPO, "main", {"agents.yaml": original}, message="Reinstate meanrev-legacy")
    (rolling.workspace / "agents.yaml").write_text(original)
    rolling.fake.advance(hours=6)
    assert rolling() == 0  # records the reinstatement, and kills it again (its rules still fire)
    moves = [(r["event"], r["seq"]) for r in rolling.ledger() if r["subject"] == AGENT]
    assert [event for event, _ in moves] == ["killed", "promoted_by_hand", "killed"]
    [_, second] = retire_pulls(rolling)
    rolling.fake.merge(REPO, second, user="alice")
    (rolling.workspace / "agents.yaml").write_text(rolling.fake.read_file(REPO, "agents.yaml", ref="main"))
    for _ in range(2):
        rolling.fake.advance(hours=6)
        assert rolling() == 0
    assert rolling.events("left_prod_by_hand") == []


def test_a_kill_a_person_refused_is_proposed_again_only_after_the_cooldown(rolling: Rolling) -> None:
    """alice closes the retire PR: the kill is lifted. Its rules keep firing; within the veto
    cooldown metasup records and opens nothing (and says why), after it a new episode begins."""
    assert rolling() == 0
    [first] = retire_pulls(rolling)
    rolling.fake.close_pull(REPO, first, user="alice")
    rolling.fake.advance(hours=6)

    assert rolling() == 0
    assert retire_pulls(rolling) == [first]
    assert len(rolling.events("killed", AGENT)) == 1
    assert f"{AGENT}: killed again by this run's rules, but a person closed its last" in summary(rolling)

    rolling.fake.advance(hours=24 * COOLDOWN_DAYS)
    assert rolling() == 0

    [_, second] = retire_pulls(rolling)
    assert rolling.fake.issue(REPO, second).state == "open"
    kills = rolling.events("killed", AGENT)
    assert [k["data"].get("after_pr") for k in kills] == [None, first]


def test_an_open_retire_pr_is_re_cut_when_people_edit_the_registry_on_the_base(rolling: Rolling) -> None:
    """A person edits agents.yaml on main (another agent's comment, near meanrev-legacy's lines)
    while the retire PR is open: the next run re-cuts the PR on main's new head, so it holds the
    person's edit and still changes only meanrev-legacy, and a person can merge it."""
    assert rolling() == 0
    [pull] = retire_pulls(rolling)
    registry = rolling.fake.read_file(REPO, "agents.yaml", ref="main")
    edited = registry.replace("# workhorse range trader", "# workhorse range trader, sized up in November")
    assert edited != registry
    rolling.fake.commit_files(REPO, "main", {"agents.yaml": edited}, message="Resize meanrev-core")
    rolling.fake.advance(hours=6)

    assert rolling() == 0

    assert retire_pulls(rolling) == [pull]  # the same PR, re-cut
    assert f"re-cut [AUTO-RETIRE] PR #{pull} for {AGENT} on the base's new head" in summary(rolling).replace(
        "\\", ""
    )
    branch = rolling.fake.read_file(REPO, "agents.yaml", ref=BRANCH)
    changed = [
        line for line in difflib.ndiff(edited.splitlines(), branch.splitlines()) if line[:2] in ("+ ", "- ")
    ]
    assert [line.split(":")[0] for line in changed] == ["-     stage", "+     stage", "+     kill_reason"]
    assert changed[1] == "+     stage: retired"
    rolling.fake.merge(REPO, pull, user="alice")
    assert "sized up in November" in rolling.fake.read_file(REPO, "agents.yaml", ref="main")

    merged = rolling.fake.read_file(REPO, "agents.yaml", ref="main")
    (rolling.workspace / "agents.yaml").write_text(merged)  # the next run checks out the new base
    rolling.fake.advance(hours=6)
    assert rolling() == 0  # the merge moved the base, but the PR is merged: nothing to re-cut
    last_run = summary(rolling).replace("\\", "").rsplit("## 🤖 Meta-Supervisor rolling run", 1)[1]
    assert f"re-cut [AUTO-RETIRE] PR #{pull} " not in last_run  # the others are, on the new base
    assert "no PR" not in last_run
    assert len(rolling.events("killed", AGENT)) == 1


def test_a_retire_pr_merged_after_the_runs_checkout_is_not_a_second_kill(rolling: Rolling) -> None:
    """alice merges the retire PR while a scheduled run is under way: the run's checkout still says
    ``prod`` (it predates the merge) and the rules fire again. That is the same kill, carried out —
    not a reinstatement killed again: no second ``killed`` record (the LP log would show the agent
    killed twice), no new PR; the summary says the base records it already."""
    assert rolling() == 0
    [pull] = retire_pulls(rolling)
    rolling.fake.merge(REPO, pull, user="alice")
    rolling.fake.advance(hours=6)
    assert "stage: prod" in (rolling.workspace / "agents.yaml").read_text().split(AGENT, 1)[1][:200]

    assert rolling() == 0

    assert len(rolling.events("killed", AGENT)) == 1
    assert retire_pulls(rolling) == [pull]
    last_run = summary(rolling).replace("\\", "").rsplit("## 🤖 Meta-Supervisor rolling run", 1)[1]
    assert f"{AGENT} is retired on main already (this run's checkout is older): no PR" in last_run

    merged = rolling.fake.read_file(REPO, "agents.yaml", ref="main")
    (rolling.workspace / "agents.yaml").write_text(merged)  # the next run checks out the new base
    rolling.fake.advance(hours=6)
    assert rolling() == 0
    assert len(rolling.events("killed", AGENT)) == 1


def test_a_retire_pr_whose_run_stopped_before_recording_it_is_recorded_and_kept(rolling: Rolling) -> None:
    """The run that opened the retire PR stopped before it saved its ledger (GitHub failed every
    state write after the PR was opened), and the next runs' rules do not fire. The open PR is the
    kill: the next run records it and keeps the agent out of the allocation (it was allocated
    again beside its open retire PR). A person edits agents.yaml on main, so the PR is re-cut: it
    keeps the ``kill_reason`` its branch had, not ``kill_reason: ""``."""

    def state_writes_fail(fake: FakeGitHub, request: RequestInfo) -> None:
        if request.body.get("head") == BRANCH:
            fake.fail_next(1000, method="POST", path="/repos/*/git/commits", status=502)

    rolling.fake.before_request(state_writes_fail, method="POST", path=f"/repos/{REPO}/pulls", times=None)
    out = io.StringIO()
    code = run(
        {**rolling.environ, "GITHUB_RUN_ID": "1"},
        console=Console(out),
        connect=lambda token, url: connect(token, url, sleep=lambda _: None),
        clock=rolling.fake.clock.now,
    )
    rolling.fake.clear_faults()
    assert code == 1, out.getvalue()
    [pull] = retire_pulls(rolling)
    assert '"killed"' not in (rolling.fake.read_file(REPO, "ledger.jsonl", ref=STATE) or "")
    reason = reason_on(rolling.fake.read_file(REPO, "agents.yaml", ref=BRANCH))
    assert reason.startswith('"2 of 4 retirement rules fired')

    registry = rolling.fake.read_file(REPO, "agents.yaml", ref="main")
    edited = registry.replace("# workhorse range trader", "# workhorse range trader, sized up in November")
    rolling.fake.commit_files(REPO, "main", {"agents.yaml": edited}, message="Resize meanrev-core")
    rolling.fake.advance(hours=6)
    assert rolling(METASUP_AS_OF=EARLY) == 0

    assert f"re-cut [AUTO-RETIRE] PR #{pull} for {AGENT}" in summary(rolling).replace("\\", "")
    branch = rolling.fake.read_file(REPO, "agents.yaml", ref=BRANCH)
    assert "sized up in November" in branch
    assert reason_on(branch) == reason
    # the open PR is the kill: recorded now, and in force (it was allocated again, its PR open)
    [killed] = rolling.events("killed", AGENT)
    assert killed["data"]["reason"] == (  # type: ignore[index]
        f"the kill of [AUTO-RETIRE] PR #{pull}, whose run stopped before recording it"
    )
    assert AGENT not in allocated(rolling)
    rolling.fake.advance(hours=6)
    assert rolling(METASUP_AS_OF=EARLY) == 0
    assert len(rolling.events("killed", AGENT)) == 1
    assert AGENT not in allocated(rolling)


def reason_on(registry: str) -> str:
    """meanrev-legacy's ``kill_reason`` value, as written in the registry's text."""
    entry = registry.split(f"name: {AGENT}", 1)[1].split("- name:", 1)[0]
    return entry.split("kill_reason: ", 1)[1].split("\n", 1)[0]
