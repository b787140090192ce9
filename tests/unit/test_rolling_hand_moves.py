"""A stage a person changes in agents.yaml is recorded by the next rolling run (``promoted_by_hand``
/ ``left_prod_by_hand``), so the LP report books the agent's signals from then on, and only then;
before, the ledger's last move held for ever (an agent metasup promoted and a person took back out
stayed the fund's, its sandbox returns chained into the fund's record)."""

from __future__ import annotations

from metasup.rolling.audit_ledger import NewEntry, append, append_new
from metasup.rolling.hand_moves import hand_moves


def ledger(*entries: NewEntry) -> list:  # type: ignore[type-arg]
    return append([], entries, "2026-10-01T00:00:00Z", "run-1")


def promoted(agent: str, pr: int = 7) -> NewEntry:
    return NewEntry(event="promoted", subject=agent, data={"pr": pr}, dedupe_key=f"pr#{pr}")


def moves(entries: list[NewEntry]) -> list[tuple[str, str, dict[str, object], str | None]]:
    return [(e.event, e.subject, dict(e.data), e.dedupe_key) for e in entries]


def test_a_person_takes_out_an_agent_metasup_promoted() -> None:
    found = hand_moves(ledger(promoted("a")), {"a": "sandbox"}, {"a": "prod"}, [])
    assert moves(found) == [("left_prod_by_hand", "a", {"stage": "sandbox", "was": "prod"}, "move#2")]


def test_a_person_puts_in_prod_an_agent_the_ledger_never_moved() -> None:
    found = hand_moves([], {"a": "prod", "b": "sandbox"}, {"a": "sandbox", "b": "sandbox"}, [])
    assert moves(found) == [("promoted_by_hand", "a", {"stage": "prod", "was": "sandbox"}, "move#1")]


def test_the_ledger_outranks_the_snapshot() -> None:
    """The snapshot is the previous run's registry; a merge recorded since moved the agent."""
    assert hand_moves(ledger(promoted("a")), {"a": "prod"}, {"a": "sandbox"}, []) == []


def test_nothing_to_compare_with_on_a_first_run() -> None:
    assert hand_moves([], {"a": "prod", "b": "sandbox"}, {}, []) == []


def test_a_merge_this_run_records_is_not_a_persons_move() -> None:
    """metasup merged its PR this run: the registry it evaluated predates the merge."""
    assert hand_moves([], {"a": "sandbox"}, {"a": "sandbox"}, [promoted("a")]) == []
    assert hand_moves(ledger(promoted("a")), {"a": "sandbox"}, {"a": "sandbox"}, [promoted("a")]) == []


def test_a_retire_pr_merged_after_a_kill_is_metasups() -> None:
    kill = NewEntry(event="killed", subject="a", data={"registry": "prod"}, dedupe_key="2026-10-02")
    assert hand_moves(ledger(kill), {"a": "retired"}, {"a": "prod"}, []) == []
    found = hand_moves([], {"a": "retired"}, {"a": "prod"}, [])  # no kill: retired by a person
    assert moves(found) == [("left_prod_by_hand", "a", {"stage": "retired", "was": "prod"}, "move#1")]


def test_a_change_within_or_outside_prod_is_not_a_move() -> None:
    assert hand_moves([], {"a": "retired", "b": "prod"}, {"a": "sandbox", "b": "prod"}, []) == []


def test_recorded_once_and_a_later_edit_back_is_a_new_fact() -> None:
    records = ledger(promoted("a"))
    out = hand_moves(records, {"a": "sandbox"}, {"a": "prod"}, [])
    records += append_new(records, out, "2026-10-02T00:00:00Z", "run-2")
    assert append_new(records, hand_moves(records, {"a": "sandbox"}, {"a": "prod"}, []), "t", "r") == []
    assert hand_moves(records, {"a": "sandbox"}, {"a": "sandbox"}, []) == []  # the next run: nothing

    back = hand_moves(records, {"a": "prod"}, {"a": "sandbox"}, [])
    assert moves(back) == [("promoted_by_hand", "a", {"stage": "prod", "was": "sandbox"}, "move#3")]
    assert len(append_new(records, back, "2026-10-03T00:00:00Z", "run-3")) == 1


def test_a_kill_before_a_persons_reinstatement_does_not_explain_a_later_retirement() -> None:
    """Killed, retired by its PR, put back in prod by a person, retired again by a person: the old
    kill is not why; the move out of prod is recorded (an audit: it was not, and the next edit,
    retired → sandbox, was recorded as leaving prod instead)."""
    kill = NewEntry(event="killed", subject="a", data={"registry": "prod"}, dedupe_key="2026-10-02")
    records = ledger(promoted("a"), kill)
    back = hand_moves(records, {"a": "prod"}, {"a": "retired"}, [])
    assert moves(back) == [("promoted_by_hand", "a", {"stage": "prod", "was": "retired"}, "move#2")]
    records += append_new(records, back, "2026-10-05T00:00:00Z", "run-5")

    out = hand_moves(records, {"a": "retired"}, {"a": "prod"}, [])
    assert moves(out) == [("left_prod_by_hand", "a", {"stage": "retired", "was": "prod"}, "move#3")]
    records += append_new(records, out, "2026-10-06T00:00:00Z", "run-6")
    assert hand_moves(records, {"a": "sandbox"}, {"a": "retired"}, []) == []  # not prod either side


def test_a_kill_in_the_run_that_recorded_the_reinstatement_explains_the_retirement() -> None:
    """Whatever the order of one run's records, its kill came after the edit it saw (a review)."""
    kill_1 = NewEntry(event="killed", subject="a", data={"registry": "prod"}, dedupe_key="k1")
    records = ledger(promoted("a"), kill_1)
    kill_2 = NewEntry(event="killed", subject="a", data={"registry": "prod"}, dedupe_key="k2")
    back = hand_moves(records, {"a": "prod"}, {"a": "retired"}, [kill_2])
    for run in ([kill_2, *back], [*back, kill_2]):
        later = records + append_new(records, run, "2026-10-04T00:00:00Z", "run-4")
        assert hand_moves(later, {"a": "retired"}, {"a": "prod"}, []) == []  # its retire PR merged


def test_an_agent_removed_from_the_registry_leaves_prod() -> None:
    """Renamed or removed: its old name leaves prod, so its history stays the fund's (an audit)."""
    found = hand_moves([], {"b": "prod"}, {"a": "prod", "b": "prod"}, [])
    assert moves(found) == [("left_prod_by_hand", "a", {"stage": "removed", "was": "prod"}, "move#1")]
    assert hand_moves([], {"b": "prod"}, {"a": "sandbox", "b": "prod"}, []) == []  # never in prod
    records = ledger(promoted("a"))
    assert [e.event for e in hand_moves(records, {}, {}, [])] == ["left_prod_by_hand"]
