"""Rolling mode end to end: state branch, ledger, [AUTO-PROMOTE] with veto, [AUTO-RETIRE], dashboard."""

from __future__ import annotations

import difflib
import io
import json
import re
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from dask_runs import run_on_a_cluster
from fakegithub import ACTIONS_TOKEN, FakeGitHub

from metasup.action import run
from metasup.examples import EXAMPLES_DIR
from metasup.github.workflow_commands import Console
from metasup.rolling.audit_ledger import NewEntry, append_new, parse_ledger, serialize, verify_ledger
from metasup.rolling.registry_edit import set_agent_stage

REPO = "octo-org/fleet"
PROMOTE_BRANCH = "metasup/promote/momo-beta"
STATE = "metasup-state"


def fleet_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for path in EXAMPLES_DIR.rglob("*"):
        if path.is_file() and path.suffix in {".yml", ".yaml", ".jsonl", ".csv"}:
            files[path.relative_to(EXAMPLES_DIR).as_posix()] = path.read_text()
    return files


class Rolling:
    """Runs the action in rolling mode against the fake, with the fake's clock as ``now``."""

    def __init__(self, fake: FakeGitHub, workspace: Path, event: Path) -> None:
        self.fake, self.workspace = fake, workspace
        self.environ = {
            "GITHUB_EVENT_NAME": "workflow_dispatch",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": fake.url,
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_OUTPUT": str(workspace.parent / "output.txt"),
            "GITHUB_STEP_SUMMARY": str(workspace.parent / "summary.md"),
            "GITHUB_RUN_ID": "1",
            "METASUP_GITHUB_TOKEN": ACTIONS_TOKEN,
            "METASUP_FAIL_ON": "never",
        }
        self.runs = 0
        self.stdout = ""
        self.log = ""  # every run's output

    def __call__(self, **env: str) -> int:
        self.runs += 1
        stream = io.StringIO()
        environ = {**self.environ, "GITHUB_RUN_ID": str(self.runs), **env}
        (self.workspace.parent / "output.txt").write_text("")
        code = run(environ, console=Console(stream), clock=self.fake.clock.now)
        self.stdout = stream.getvalue()
        self.log += self.stdout
        return code

    def ledger(self) -> list[dict[str, object]]:
        text = self.fake.read_file(REPO, "ledger.jsonl", ref=STATE)
        assert verify_ledger(text) is None
        return [r.fields() for r in parse_ledger(text)]

    def events(self, event: str, subject: str | None = None) -> list[dict[str, object]]:
        return [
            r for r in self.ledger() if r["event"] == event and (subject is None or r["subject"] == subject)
        ]

    def promote_pulls(self, state: str = "all") -> list[object]:
        return [p for p in self.fake.pulls(REPO, state=state) if p.pull.head_ref == PROMOTE_BRANCH]

    def outputs(self) -> str:
        return (self.workspace.parent / "output.txt").read_text()


@pytest.fixture
def rolling(fake_github: FakeGitHub, tmp_path: Path, github_event_path: Callable[..., Path]) -> Rolling:
    files = fleet_files()
    fake_github.create_repo(REPO, files)
    workspace = tmp_path / "workspace"
    for name, text in files.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text)
    return Rolling(fake_github, workspace, github_event_path("workflow_dispatch", repo=REPO))


def test_rolling__first_run_opens_prs_and_writes_state(rolling: Rolling) -> None:
    assert rolling() == 0
    [pull] = rolling.promote_pulls()
    assert pull.title == "[AUTO-PROMOTE] momo-beta: sandbox → prod"
    assert "auto-promote" in pull.labels
    assert pull.body.startswith("<!-- metasup:promote:momo-beta -->")
    assert "| behavioral | ✅ |" in pull.body
    main_registry = rolling.fake.read_file(REPO, "agents.yaml", ref="main")
    branch_registry = rolling.fake.read_file(REPO, "agents.yaml", ref=PROMOTE_BRANCH)
    diff = [
        line
        for line in difflib.unified_diff(
            main_registry.splitlines(), branch_registry.splitlines(), lineterm="", n=0
        )
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    assert len(diff) == 2
    assert diff[0].startswith("-")
    assert "sandbox" in diff[0]
    assert diff[1] == diff[0].replace("sandbox", "prod").replace("-", "+", 1)

    retire = {p.title for p in rolling.fake.pulls(REPO) if p.pull.head_ref.startswith("metasup/retire/")}
    assert retire == {"[AUTO-RETIRE] meanrev-legacy", "[AUTO-RETIRE] news-sent", "[AUTO-RETIRE] llm_macro"}
    allocation = json.loads(rolling.fake.read_file(REPO, "allocation.json", ref=STATE))
    assert set(allocation["weights"]) == {"momo-alpha", "meanrev-core", "momo-slow"}  # kills excluded at once
    snapshot = json.loads(rolling.fake.read_file(REPO, "snapshots/main.json", ref=STATE))
    assert snapshot["run_id"] == "1"
    assert [r["subject"] for r in rolling.events("killed")] == [
        "class:llm_macro",
        "meanrev-legacy",
        "news-sent",
    ]
    assert [(r["subject"], r["data"]) for r in rolling.events("promotion_proposed")] == [
        ("momo-beta", {"pr": pull.number, "dedupe_key": f"pr#{pull.number}"})
    ]
    outputs = rolling.outputs()
    assert f"[{pull.number}]" in outputs
    issues = [i for i in rolling.fake.repo(REPO).issues.values() if i.pull is None]
    assert [i.title for i in issues] == ["Meta-Supervisor dashboard"]


def test_rolling__registry_pr_changes_only_the_retired_agent(rolling: Rolling) -> None:
    rolling()
    before = rolling.fake.read_file(REPO, "agents.yaml", ref="main").splitlines()
    after = rolling.fake.read_file(REPO, "agents.yaml", ref="metasup/retire/meanrev-legacy").splitlines()
    changed = [line for line in difflib.ndiff(before, after) if line.startswith(("+ ", "- "))]
    assert any("stage: retired" in line for line in changed if line.startswith("+ "))
    assert any("kill_reason:" in line for line in changed if line.startswith("+ "))
    assert all("meanrev-legacy" in line or "kill_reason" in line or "stage" in line for line in changed)


def test_rolling__scenario_refresh_veto_cooldown(rolling: Rolling) -> None:
    rolling()
    [first] = rolling.promote_pulls()
    rolling.fake.advance(hours=6)
    rolling()  # refresh, never a second PR
    assert [p.number for p in rolling.promote_pulls()] == [first.number]

    rolling.fake.close_pull(REPO, first.number, user="alice")  # a person vetoes
    rolling.fake.advance(hours=6)
    rolling()
    assert [p.number for p in rolling.promote_pulls()] == [first.number]  # nothing new
    [veto] = rolling.events("vetoed", "momo-beta")
    assert veto["data"]["pr"] == first.number  # type: ignore[index]
    dashboard = next(
        i for i in rolling.fake.repo(REPO).issues.values() if i.title == "Meta-Supervisor dashboard"
    )
    assert f"vetoed in #{first.number}" in dashboard.body

    rolling.fake.advance(days=29)
    rolling()
    assert len(rolling.promote_pulls()) == 1  # still in cooldown
    rolling.fake.advance(days=1, hours=1)
    rolling()
    pulls = rolling.promote_pulls()
    assert len(pulls) == 2
    assert len(rolling.events("vetoed")) == 1  # recorded once over all these runs


def test_rolling__changes_requested_holds_then_merge_after_window(rolling: Rolling) -> None:
    rolling()
    [pull] = rolling.promote_pulls()
    rolling.fake.submit_review(REPO, pull.number, "CHANGES_REQUESTED", user="alice")
    rolling.fake.advance(hours=25)
    rolling()
    assert rolling.fake.pulls(REPO, state="open")  # not merged
    assert not rolling.events("promoted")
    held = [p for p in rolling.fake.pulls(REPO, state="open") if p.number == pull.number]
    assert "**Held:** a reviewer requested changes" in held[0].body


def test_rolling__merges_unvetoed_pr_after_window(rolling: Rolling) -> None:
    rolling()
    [pull] = rolling.promote_pulls()
    rolling.fake.advance(hours=23)
    rolling()
    assert not rolling.events("promoted")
    rolling.fake.advance(hours=2)
    rolling()
    [merged] = rolling.promote_pulls()
    assert merged.pull.merged
    assert (
        "stage: prod" in rolling.fake.read_file(REPO, "agents.yaml", ref="main").split("momo-beta")[1][:120]
    )
    [promoted] = rolling.events("promoted", "momo-beta")
    assert promoted["data"] == {"pr": pull.number, "merged_by": "metasup", "dedupe_key": f"pr#{pull.number}"}


def test_rolling__a_person_merging_the_pr_is_recorded_by_login(rolling: Rolling) -> None:
    rolling()
    [pull] = rolling.promote_pulls()
    rolling.fake.merge(REPO, pull.number, user="alice")
    rolling.fake.advance(hours=6)
    rolling()
    [promoted] = rolling.events("promoted", "momo-beta")
    assert promoted["data"] == {"pr": pull.number, "merged_by": "alice", "dedupe_key": f"pr#{pull.number}"}
    assert promoted["run_id"] == "2"  # observed by the next run
    # The workspace still has the registry from before the merge (a checkout older than main):
    # momo-beta passes its gates there, but main already has it in prod — no second PR.
    assert [p.number for p in rolling.promote_pulls()] == [pull.number]
    summary = (rolling.workspace.parent / "summary.md").read_text().replace("\\", "")
    assert "momo-beta is prod on main already (this run's checkout is older): no PR" in summary
    rolling.fake.advance(hours=6)
    rolling.fake.reset_log()
    rolling()
    # who merged is asked once, not on every run
    assert rolling.fake.requests("GET", f"/repos/{REPO}/pulls/{pull.number}") == []
    assert len(rolling.events("promoted", "momo-beta")) == 1
    # the checkout still says sandbox, main says prod: nobody took it out of prod
    assert rolling.events("left_prod_by_hand") == []


def test_rolling__a_stage_a_person_edits_is_recorded_once_for_the_funds_record(rolling: Rolling) -> None:
    """The LP report books an agent's signals while the ledger has it in prod (SPEC §6); a person's
    edit of agents.yaml left no record, so an agent taken back out stayed the fund's for ever."""
    rolling()
    rolling.fake.advance(hours=25)
    rolling()  # merges momo-beta's [AUTO-PROMOTE] PR
    [promoted] = rolling.events("promoted", "momo-beta")
    main = rolling.fake.read_file(REPO, "agents.yaml", ref="main")
    (rolling.workspace / "agents.yaml").write_text(main)  # the next run's checkout has the merge
    rolling.fake.advance(hours=6)
    rolling()
    assert rolling.events("left_prod_by_hand") == rolling.events("promoted_by_hand") == []

    edited = set_agent_stage(main, "momo-beta", "sandbox")
    rolling.fake.commit_files(REPO, "main", {"agents.yaml": edited}, user="alice")
    (rolling.workspace / "agents.yaml").write_text(edited)
    rolling.fake.advance(hours=6)
    rolling()
    [moved] = rolling.events("left_prod_by_hand", "momo-beta")
    assert moved["data"] == {"stage": "sandbox", "was": "prod", "dedupe_key": "move#2"}
    assert moved["seq"] > promoted["seq"]  # type: ignore[operator]
    summary = (rolling.workspace.parent / "summary.md").read_text().replace("\\", "")
    assert "momo-beta: prod → sandbox in agents.yaml, by a person: recorded as left_prod_by_hand" in summary

    rolling.fake.advance(hours=6)
    rolling()  # recorded once
    assert len(rolling.events("left_prod_by_hand", "momo-beta")) == 1
    assert rolling.events("promoted_by_hand") == []


def test_rolling__regressed_agent_pr_closed_with_explanation(rolling: Rolling) -> None:
    rolling()
    [pull] = rolling.promote_pulls()
    telemetry = rolling.workspace / "telemetry" / "events.jsonl"
    violation = {
        "type": "safety_violation",
        "ts": "2026-10-29T15:00:00Z",
        "agent": "momo-beta",
        "rule": "max_position",
    }
    telemetry.write_text(telemetry.read_text() + json.dumps(violation) + "\n")
    rolling()
    [closed] = rolling.promote_pulls()
    assert closed.state == "closed"
    assert not closed.pull.merged
    assert "metasup-withdrawn" in closed.labels
    explanation = rolling.fake.comments(REPO, pull.number)[-1].body
    assert "no longer pass" in explanation
    assert "safety" in explanation
    assert [r["event"] for r in rolling.ledger() if r["subject"] == "momo-beta"][-1] == "promotion_withdrawn"
    assert not rolling.events("vetoed")  # our own close is not a veto


def test_rolling__kill_once_over_three_runs(rolling: Rolling) -> None:
    for _ in range(3):
        rolling()
        rolling.fake.advance(hours=6)
    retire = [p for p in rolling.fake.pulls(REPO) if p.pull.head_ref == "metasup/retire/meanrev-legacy"]
    assert len(retire) == 1
    assert len(rolling.events("killed", "meanrev-legacy")) == 1
    assert len([i for i in rolling.fake.repo(REPO).issues.values() if i.pull is None]) == 1  # one dashboard


def test_rolling__state_race_both_records_kept(rolling: Rolling) -> None:
    rolling()
    rolling.fake.advance(hours=6)
    text = rolling.fake.read_file(REPO, "ledger.jsonl", ref=STATE)
    records = parse_ledger(text)

    def other_run_writes_first(fake: FakeGitHub, request: object) -> None:
        extra = append_new(
            records,
            [NewEntry(event="killed", subject="other-run-agent")],
            ts="2026-11-01T00:00:00Z",
            run_id="other",
        )
        fake.commit_files(REPO, STATE, {"ledger.jsonl": serialize([*records, *extra])})

    rolling.fake.before_request(
        other_run_writes_first, method="PATCH", path=f"/repos/{REPO}/git/refs/heads/{STATE}"
    )
    rolling.fake.close_pull(REPO, rolling.promote_pulls()[0].number, user="alice")
    assert rolling() == 0
    ledger = rolling.ledger()  # verify_ledger passed inside
    assert [r["subject"] for r in ledger if r["event"] == "killed"][-1] == "other-run-agent"
    assert len([r for r in ledger if r["event"] == "vetoed"]) == 1
    assert [r["seq"] for r in ledger] == list(range(1, len(ledger) + 1))


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder"])
def test_rolling__tampered_ledger_is_critical_and_writes_nothing(rolling: Rolling, tamper: str) -> None:
    rolling()
    lines = rolling.fake.read_file(REPO, "ledger.jsonl", ref=STATE).splitlines(keepends=True)
    assert len(lines) >= 3
    if tamper == "edit":
        lines[1] = lines[1].replace("meanrev-legacy", "meanrev-legacx")
    elif tamper == "delete":
        del lines[1]
    else:
        lines[1], lines[2] = lines[2], lines[1]
    rolling.fake.commit_files(REPO, STATE, {"ledger.jsonl": "".join(lines)})
    rolling.fake.advance(hours=30)
    rolling.fake.reset_log()
    assert rolling() == 1
    assert rolling.fake.writes() == []
    assert "::error::CRITICAL: Audit ledger chain broken" in rolling.stdout
    summary = (rolling.workspace.parent / "summary.md").read_text()
    assert "**Overall Severity:** CRITICAL" in summary


def test_rolling__pr_creation_forbidden_is_a_clear_error(
    fake_github: FakeGitHub, tmp_path: Path, github_event_path: Callable[..., Path]
) -> None:
    fake_github.create_repo(REPO, fleet_files(), actions_can_create_prs=False)
    workspace = tmp_path / "workspace"
    shutil.copytree(
        EXAMPLES_DIR, workspace, ignore=shutil.ignore_patterns("*.py", "__pycache__", "README.md")
    )
    runner = Rolling(fake_github, workspace, github_event_path("workflow_dispatch", repo=REPO))
    assert runner() == 1
    assert "Allow GitHub Actions to create and approve pull requests" in runner.stdout


def test_rolling__dry_run_writes_nothing(rolling: Rolling) -> None:
    rolling.fake.reset_log()
    assert rolling(METASUP_DRY_RUN="true") == 0
    assert rolling.fake.writes() == []
    summary = re.sub(
        r"\\(.)", r"\1", (rolling.workspace.parent / "summary.md").read_text()
    )  # unescape markdown
    assert "- (dry run) open [AUTO-PROMOTE] PR for momo-beta" in summary


def test_rolling__cooldown_constant_matches_config(rolling: Rolling) -> None:
    """The veto record says when the cooldown ends, so the dashboard can show it."""
    rolling()
    [pull] = rolling.promote_pulls()
    rolling.fake.close_pull(REPO, pull.number, user="alice")
    closed_at = rolling.fake.clock.now()
    rolling()
    [veto] = rolling.events("vetoed")
    until = veto["data"]["cooldown_until"]  # type: ignore[index]
    assert until == (closed_at + timedelta(days=30)).isoformat()


def test_rolling__kill_stays_in_force_until_a_person_lifts_it(rolling: Rolling) -> None:
    rolling()  # meanrev-legacy killed at the end of the data
    early = "2026-10-09T20:00:00Z"  # an as_of where its rules do not fire
    rolling(METASUP_AS_OF=early)
    allocation = json.loads(rolling.fake.read_file(REPO, "allocation.json", ref=STATE))
    assert "meanrev-legacy" not in allocation["weights"]
    [retire] = [p for p in rolling.fake.pulls(REPO) if p.pull.head_ref == "metasup/retire/meanrev-legacy"]
    rolling.fake.close_pull(REPO, retire.number, user="alice")  # a person refuses the retirement
    rolling(METASUP_AS_OF=early)
    allocation = json.loads(rolling.fake.read_file(REPO, "allocation.json", ref=STATE))
    assert "meanrev-legacy" in allocation["weights"]


def test_rolling__base_moved_branch_recut_on_new_head(rolling: Rolling) -> None:
    rolling()
    [pull] = rolling.promote_pulls()
    rolling.fake.commit_files(REPO, "main", {"NOTES.md": "someone else's change\n"})
    rolling.fake.advance(hours=6)
    rolling()
    assert [p.number for p in rolling.promote_pulls()] == [pull.number]  # same PR, refreshed
    branch = rolling.fake.files_at(REPO, PROMOTE_BRANCH)
    assert branch["NOTES.md"] == "someone else's change\n"  # re-cut on the new base head
    main_registry = rolling.fake.read_file(REPO, "agents.yaml", ref="main")
    changed = [
        line
        for line in difflib.ndiff(main_registry.splitlines(), branch["agents.yaml"].splitlines())
        if line.startswith(("+ ", "- "))
    ]
    assert len(changed) == 2  # still only momo-beta's stage line


# --- [AUTO-DEMOTE] (SPEC §3.8) ---

DEMOTE_BRANCH = "metasup/demote/momo-contra"


def with_losing_prod_agent(files: dict[str, str]) -> dict[str, str]:
    """The fleet plus ``momo-contra``, a prod agent that takes the other side of momo-alpha's trades
    since October (~20 trading days of realized, mostly losing signals) at low confidence, so that
    only its demotion rule fires: one retirement rule (negative alpha) is not a kill."""
    signals = []
    for line in files["alpha/events.jsonl"].splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if (
            not isinstance(event, dict)
            or event.get("agent") != "momo-alpha"
            or not isinstance(event.get("ts"), str)
            or event["ts"] < "2026-10-01"
        ):
            continue
        flipped = {"long": "short", "short": "long", 1: -1, -1: 1}[event["direction"]]
        event.pop("strategy_class", None)
        event |= {"agent": "momo-contra", "signal_id": f"contra-{event['signal_id']}"}
        event |= {"direction": flipped, "confidence": 0.25}
        signals.append(json.dumps(event) + "\n")
    assert len(signals) > 40
    registry = files["agents.yaml"].replace(
        "  # --- mean_reversion ---",
        "  - name: momo-contra       # takes the other side of momo-alpha\n"
        "    strategy_class: momentum\n"
        "    stage: prod\n"
        "  # --- mean_reversion ---",
    )
    assert registry != files["agents.yaml"]
    return {
        **files,
        "agents.yaml": registry,
        "alpha/events.jsonl": files["alpha/events.jsonl"] + "".join(signals),
    }


@pytest.fixture
def demoting(fake_github: FakeGitHub, tmp_path: Path, github_event_path: Callable[..., Path]) -> Rolling:
    files = with_losing_prod_agent(fleet_files())
    fake_github.create_repo(REPO, files)
    workspace = tmp_path / "workspace"
    for name, text in files.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text)
    return Rolling(fake_github, workspace, github_event_path("workflow_dispatch", repo=REPO))


def demote_pulls(rolling: Rolling) -> list[Any]:
    return [p for p in rolling.fake.pulls(REPO, state="all") if p.pull.head_ref == DEMOTE_BRANCH]


def allocation(rolling: Rolling) -> dict[str, float]:
    weights: dict[str, float] = json.loads(rolling.fake.read_file(REPO, "allocation.json", ref=STATE))[
        "weights"
    ]
    return weights


def test_rolling__demotion_pr_opened_once_then_vetoed_keeps_allocation(demoting: Rolling) -> None:
    assert demoting() == 0
    [pull] = demote_pulls(demoting)
    assert pull.title == "[AUTO-DEMOTE] momo-contra: prod → sandbox"
    assert "auto-demote" in pull.labels
    assert pull.body.startswith("<!-- metasup:demote:momo-contra -->")
    assert "PSR(0) of the daily skill series" in pull.body
    main_registry = demoting.fake.read_file(REPO, "agents.yaml", ref="main")
    branch_registry = demoting.fake.read_file(REPO, "agents.yaml", ref=DEMOTE_BRANCH)
    changed = [
        line
        for line in difflib.ndiff(main_registry.splitlines(), branch_registry.splitlines())
        if line.startswith(("+ ", "- "))
    ]
    assert changed == ["-     stage: prod", "+     stage: sandbox"]
    assert branch_registry.split("momo-contra")[1].splitlines()[2] == "    stage: sandbox"
    assert [(r["subject"], r["data"]) for r in demoting.events("demotion_proposed", "momo-contra")] == [
        ("momo-contra", {"pr": pull.number, "dedupe_key": f"pr#{pull.number}"})
    ]
    assert "momo-contra" not in allocation(demoting)  # capital first: excluded before the merge
    dashboard = next(
        i for i in demoting.fake.repo(REPO).issues.values() if i.title == "Meta-Supervisor dashboard"
    )
    assert "### Pending demotions (prod → sandbox)\n- #" in dashboard.body
    assert f"#{pull.number} momo-contra" in dashboard.body

    demoting.fake.advance(hours=6)
    assert demoting() == 0
    assert [p.number for p in demote_pulls(demoting)] == [pull.number]  # refreshed, never duplicated
    assert len(demoting.events("demotion_proposed", "momo-contra")) == 1

    demoting.fake.close_pull(REPO, pull.number, user="alice")  # a person vetoes the demotion
    closed_at = demoting.fake.clock.now()
    demoting.fake.advance(hours=1)
    assert demoting() == 0
    [veto] = demoting.events("demotion_vetoed", "momo-contra")
    assert veto["data"]["cooldown_until"] == (closed_at + timedelta(days=30)).isoformat()  # type: ignore[index]
    assert not demoting.events("vetoed")  # not a promotion veto
    assert allocation(demoting).get("momo-contra", 0) > 0  # keeps prod and its allocation
    assert [p.number for p in demote_pulls(demoting)] == [pull.number]  # no new PR in the cooldown
    dashboard = next(
        i for i in demoting.fake.repo(REPO).issues.values() if i.title == "Meta-Supervisor dashboard"
    )
    assert f"momo-contra: demotion vetoed in #{pull.number}" in dashboard.body

    demoting.fake.advance(days=2)
    assert demoting() == 0
    assert len(demote_pulls(demoting)) == 1
    assert len(demoting.events("demotion_vetoed")) == 1


def test_rolling__unvetoed_demotion_merged_after_window(demoting: Rolling) -> None:
    demoting()
    [pull] = demote_pulls(demoting)
    demoting.fake.advance(hours=23)
    demoting()
    assert not demoting.events("demoted")
    demoting.fake.advance(hours=2)
    demoting()  # merges momo-beta's promotion first: the registry on main moved under the demote PR
    demoting.fake.advance(hours=1)
    demoting()  # re-cut on the new base head, then merged
    [merged] = demote_pulls(demoting)
    assert merged.pull.merged
    main_registry = demoting.fake.read_file(REPO, "agents.yaml", ref="main")
    assert main_registry.split("momo-contra")[1].splitlines()[2] == "    stage: sandbox"
    assert main_registry.split("- name: momo-beta")[1].splitlines()[2] == "    stage: prod"  # both kept
    [demoted] = demoting.events("demoted", "momo-contra")
    assert demoted["data"] == {"pr": pull.number, "merged_by": "metasup", "dedupe_key": f"pr#{pull.number}"}


def test_rolling__on_the_dask_scheduler_the_environment_names(rolling: Rolling) -> None:
    """SPEC §8 in rolling mode: ``engine: {kind: dask}`` and METASUP_DASK_SCHEDULER; the partitions run
    on the cluster and the run decides what the local one decides (first-run test above)."""
    address = run_on_a_cluster(rolling.workspace, rolling)
    assert f"rolling run on the dask engine ({address})" in rolling.stdout
    assert [p.title for p in rolling.promote_pulls("open")] == ["[AUTO-PROMOTE] momo-beta: sandbox → prod"]
    retire = {p.title for p in rolling.fake.pulls(REPO) if p.pull.head_ref.startswith("metasup/retire/")}
    assert retire == {"[AUTO-RETIRE] meanrev-legacy", "[AUTO-RETIRE] news-sent", "[AUTO-RETIRE] llm_macro"}
    allocation = json.loads(rolling.fake.read_file(REPO, "allocation.json", ref=STATE))
    assert set(allocation["weights"]) == {"momo-alpha", "meanrev-core", "momo-slow"}


HOSTILE = {
    "momo-beta": 'momo "beta": @octo-org/leads #7',  # promoted: quotes, a colon, a team mention, an issue
    "news-sent": "news/sent..lock",  # retired: what git refuses in a branch name
    "meanrev-legacy": "legacy | <b>x</b> 🤖",  # retired: a table cell, HTML, a wide character
}


def renamed_rolling(
    fake: FakeGitHub, tmp_path: Path, github_event_path: Callable[..., Path], names: dict[str, str]
) -> Rolling:
    """The demo workspace with agents renamed (old → new name), pushed as the repository's main."""
    workspace = tmp_path / "workspace"
    shutil.copytree(EXAMPLES_DIR, workspace, ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.md"))
    _rename_agents(workspace, names)
    fake.create_repo(
        REPO,
        {p.relative_to(workspace).as_posix(): p.read_text() for p in workspace.rglob("*") if p.is_file()},
    )
    return Rolling(fake, workspace, github_event_path("workflow_dispatch", repo=REPO))


def _rename_agents(workspace: Path, names: dict[str, str]) -> None:
    for artifact in ("alpha/events.jsonl", "telemetry/events.jsonl"):
        path = workspace / artifact
        text = path.read_text()
        for old, new in names.items():
            text = text.replace(f'"agent": "{old}"', f'"agent": {json.dumps(new, ensure_ascii=False)}')
        path.write_text(text)
    registry = workspace / "agents.yaml"
    text = registry.read_text()
    for old, new in names.items():
        text = re.sub(
            rf"^(\s+- name: ){re.escape(old)}\b",
            lambda m, new=new: m[1] + json.dumps(new, ensure_ascii=False),
            text,
            flags=re.M,
        )
    registry.write_text(text)


def _stages(registry_text: str) -> dict[str, str]:
    return {agent["name"]: agent.get("stage", "sandbox") for agent in yaml.safe_load(registry_text)["agents"]}


def test_rolling__hostile_agent_names_give_valid_branches_and_change_only_their_agent(
    fake_github: FakeGitHub, tmp_path: Path, github_event_path: Callable[..., Path]
) -> None:
    """Names with quotes, a colon, a mention, ``..``/``.lock`` and HTML: each PR's branch is a valid
    ref, its registry edit parses and changes that agent's stage alone, and its body mentions no one."""
    rolling = renamed_rolling(fake_github, tmp_path, github_event_path, HOSTILE)
    assert rolling() == 0, rolling.stdout
    assert "Internal error" not in rolling.stdout

    main_stages = _stages(fake_github.read_file(REPO, "agents.yaml", ref="main"))
    pulls = {p.pull.head_ref: p for p in fake_github.pulls(REPO)}  # each created as a valid ref
    changes = {ref: _changed_stages(fake_github, ref, main_stages) for ref in pulls}
    assert sorted(tuple(c.items()) for c in changes.values() if c) == sorted(
        [
            ((HOSTILE["momo-beta"], "prod"),),
            (("meanrev-swing", "sandbox"),),  # the demo's [AUTO-DEMOTE]
            ((HOSTILE["news-sent"], "retired"),),
            ((HOSTILE["meanrev-legacy"], "retired"),),
        ]
    )
    [promote] = [ref for ref, change in changes.items() if HOSTILE["momo-beta"] in change]
    # The title and the commit message read the real name, but ping and link nobody: a pushed
    # commit naming "#7" or "owner/repo#7" would cross-reference that issue.
    shown = 'momo "beta": @\u200docto-org/leads #\u20607'
    assert pulls[promote].title == f"[AUTO-PROMOTE] {shown}: sandbox → prod"
    messages = [r.body["message"] for r in fake_github.requests("POST", "/repos/*/git/commits")]
    assert f"Promote {shown}: sandbox → prod" in [m.split("\n")[0] for m in messages]
    assert not any("@octo-org" in m or "#7" in m for m in messages)
    assert all("@octo-org" not in pull.body for pull in pulls.values())
    assert "@\u200docto-org/leads" in pulls[promote].body


def _changed_stages(fake: FakeGitHub, ref: str, main_stages: dict[str, str]) -> dict[str, str]:
    """The agents whose stage ``ref``'s registry changes, with their new stage."""
    stages = _stages(fake.read_file(REPO, "agents.yaml", ref=ref))
    assert set(stages) == set(main_stages)  # no agent lost or renamed by the edit
    return {name: stage for name, stage in stages.items() if stage != main_stages[name]}
