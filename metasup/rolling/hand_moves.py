"""Stages a person changed in agents.yaml, recorded so the fund's record knows from when (SPEC §6).

A person may put an agent in prod, or take it out, by editing its ``stage`` (SPEC §3.4: a kill
stands "until the registry says otherwise"). The LP report books an agent's signals only while
it was in prod, and learns when from the ledger (``lp/prod_spans``); an edit left no record, so
the ledger's last move held: an agent metasup promoted and a person took back out stayed the
fund's for ever, its sandbox returns chained into the fund's record, and an agent a person put
in prod had its whole sandbox history booked.

Each rolling run compares the registry it evaluates with where the ledger's stage moves
(``promoted``, ``demoted`` and these) last left each agent — or, for an agent the ledger never
moved or has killed since its latest move (a retire PR's merge is no record), with the stage the
previous run's snapshot showed — and records a crossing of the prod boundary as
``promoted_by_hand`` or ``left_prod_by_hand``. Its time is the run's, like every record's: up to
one schedule interval after the edit, as for a merge. Not recorded: an agent this run's own
records move (its PR's merge, observed now); an agent now ``retired`` with a ``killed`` record
since its latest stage move (metasup's retire PR; ``prod_spans`` ends its span at the kill); a
first run (no snapshot, no move: nothing to compare with). An agent removed from agents.yaml (or
renamed: its old name) leaves prod then, with stage ``removed``: its prod history stays the fund's
(an audit: a renamed prod agent the ledger never moved lost all of it); restored, it re-enters.

Pure: records, stages and this run's entries in, entries out. The key counts the agent's stage
moves so far, so a re-run records an edit once and a later edit back is a new fact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from metasup.lp.prod_spans import STAGE_MOVES
from metasup.rolling.audit_ledger import LedgerEvent, LedgerRecord, NewEntry

PROD = "prod"
REMOVED = "removed"
"""The stage recorded for an agent a person removed (or renamed) in agents.yaml: out of prod."""


def hand_moves(
    records: Sequence[LedgerRecord],
    stages_now: Mapping[str, str],
    stages_before: Mapping[str, str],
    this_run: Iterable[NewEntry],
) -> list[NewEntry]:
    """Entries for the agents of ``stages_now`` (the registry this run evaluates) whose stage a
    person moved across prod since the ledger's last move, or since ``stages_before`` (the previous
    snapshot's stages) for an agent the ledger never moved."""
    moved_now = {entry.subject for entry in this_run if entry.event in STAGE_MOVES}
    killed: dict[str, str] = {}  # killed since the latest stage move: the run that killed it
    in_prod: dict[str, bool] = {}  # after the agent's latest stage move
    moves: dict[str, int] = {}
    for record in records:
        if record.event == "killed":
            killed[record.subject] = record.run_id
        elif record.event in STAGE_MOVES:
            in_prod[record.subject] = STAGE_MOVES[record.event]
            moves[record.subject] = moves.get(record.subject, 0) + 1
            if killed.get(record.subject) != record.run_id:  # a run's kill follows the edit it saw
                killed.pop(record.subject, None)
    entries: list[NewEntry] = []
    gone = (set(in_prod) | set(stages_before)) - set(stages_now)  # removed or renamed by a person
    for agent, stage in sorted({**dict.fromkeys(gone, REMOVED), **stages_now}.items()):
        was = in_prod.get(agent)
        if was is None or agent in killed:  # a retire PR's merge moves no record: the snapshot knows
            was = stages_before[agent] == PROD if agent in stages_before else None
        if was is None or was == (stage == PROD) or agent in moved_now:
            continue
        if stage == "retired" and agent in killed:
            continue
        event: LedgerEvent = "promoted_by_hand" if stage == PROD else "left_prod_by_hand"
        before = PROD if was else stages_before.get(agent, "sandbox")
        entries.append(
            NewEntry(
                event=event,
                subject=agent,
                data={"stage": stage, "was": before},
                dedupe_key=f"move#{moves.get(agent, 0) + 1}",
            )
        )
    return entries
