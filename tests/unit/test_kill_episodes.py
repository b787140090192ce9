"""When a kill is a new one (``rolling.kills``): hand-built ledgers and retire-PR histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from metasup.model.pulls import PullState
from metasup.model.registry import Agent, Registry, StrategyClass
from metasup.rolling.audit_ledger import LedgerRecord, NewEntry, append
from metasup.rolling.kills import kill_step, kills_in_force, latest_kills
from metasup.rolling.lifecycle import retire_branch

NOW = datetime(2026, 10, 30, 20, tzinfo=UTC)
COOLDOWN = timedelta(days=30)
BRANCH = retire_branch("x")


def retire_pull(
    number: int, state: str = "open", merged: bool = False, closed_days_ago: float = 0
) -> PullState:
    closed = NOW - timedelta(days=closed_days_ago) if state == "closed" else None
    return PullState(number, BRANCH, state, merged, NOW - timedelta(days=60), closed)  # type: ignore[arg-type]


def killed(**data: object) -> list[LedgerRecord]:
    key = f"after pr#{data['after_pr']}" if "after_pr" in data else None
    entry = NewEntry(
        event="killed", subject="x", data={"reason": "r", "registry": "prod", **data}, dedupe_key=key
    )
    return append([], [entry], "2026-09-01T00:00:00Z", "run-1")


def step(records: list[LedgerRecord], history: list[PullState]) -> tuple[str | None, bool, bool]:
    """(the entry to record — its dedupe key, ``first`` for the first kill, None for nothing —,
    whether to open a retire PR, whether a person's refusal holds)."""
    done = kill_step("x", "r", "prod", latest_kills(records).get("x"), history, NOW, COOLDOWN)
    recorded = None if done.entry is None else (done.entry.dedupe_key or "first")
    return recorded, done.open_pull, done.refused_until is not None


def test_the_first_kill_is_recorded_without_a_key_and_opens_a_pr() -> None:
    assert step([], []) == ("first", True, False)


def test_a_kill_whose_pr_is_open_or_not_opened_yet_goes_on() -> None:
    assert step(killed(), [retire_pull(4)]) == (None, False, False)
    assert step(killed(), []) == (None, True, False)  # the run that recorded it could not open the PR


def test_after_a_merged_pr_the_kill_is_a_new_episode_keyed_by_it() -> None:
    assert step(killed(), [retire_pull(4, "closed", merged=True)]) == ("after pr#4", True, False)
    # recorded: the next run finds the episode's PR (the first numbered above 4) or opens it
    assert step(killed(after_pr=4), [retire_pull(4, "closed", merged=True)]) == (None, True, False)
    assert step(killed(after_pr=4), [retire_pull(4, "closed", merged=True), retire_pull(9)]) == (
        None,
        False,
        False,
    )


def test_a_refused_kill_waits_for_the_cooldown() -> None:
    assert step(killed(), [retire_pull(4, "closed", closed_days_ago=29)]) == (None, False, True)
    assert step(killed(), [retire_pull(4, "closed", closed_days_ago=31)]) == ("after pr#4", True, False)


def test_a_new_ledger_beside_an_open_retire_pr_adopts_it() -> None:
    """The ledger was started anew while a retire PR was open: no second PR."""
    assert step([], [retire_pull(2, "closed", merged=True), retire_pull(5)]) == ("after pr#2", False, False)


def registry(stage: str) -> Registry:
    return Registry(
        strategy_classes=[StrategyClass(name="c")], agents=[Agent(name="x", strategy_class="c", stage=stage)]
    )


def test_kills_in_force__only_the_latest_episode_and_only_while_its_pr_is_open() -> None:
    assert kills_in_force(killed(), [retire_pull(4)], registry("prod")) == {"x"}
    assert kills_in_force(killed(), [retire_pull(4)], registry("sandbox")) == set()  # a person edited it
    assert kills_in_force(killed(), [retire_pull(4, "closed", closed_days_ago=1)], registry("prod")) == set()
    # merged, then set back to prod by a person: a reinstatement, not the old kill again
    assert kills_in_force(killed(), [retire_pull(4, "closed", merged=True)], registry("prod")) == set()


def test_an_open_retire_pr_no_record_covers_is_a_kill_in_force() -> None:
    """The run that opened PR #9 stopped before recording its kill: the PR is the kill. A record
    covering an earlier episode (its merged PR #4) does not cover #9."""
    assert kills_in_force([], [retire_pull(9)], registry("prod")) == {"x"}
    merged_then_open = [retire_pull(4, "closed", merged=True), retire_pull(9)]
    assert kills_in_force(killed(), merged_then_open, registry("prod")) == {"x"}
    assert kills_in_force(killed(after_pr=4), merged_then_open, registry("prod")) == {"x"}  # recorded
    assert kills_in_force([], [retire_pull(9, "closed")], registry("prod")) == set()  # closed: lifted
