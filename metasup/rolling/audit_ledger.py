"""The tamper-evident audit ledger (SPEC §5): hash-chained JSON lines, pure text in, text out.

A record (fields, hash, canonical line) is :mod:`metasup.rolling.audit_records`; this module
chains records. ``seq`` starts at 1 and ``prev_hash`` of the first record is 64 zeros, so
editing, deleting, inserting or reordering a record breaks the chain at a line
:func:`verify_ledger` can name.

What the chain cannot see: cutting whole records off the end, or rewriting every record after an
edit, leaves a valid chain; that needs a head hash remembered elsewhere (the state branch's git
history). Everything short of that is caught.

Idempotency (re-runs never write a duplicate record): an entry's identity is
``(event, subject, dedupe_key)``, the key stored in ``data["dedupe_key"]``. :func:`append_new`
(and :func:`extend_ledger_text`) skip every entry whose identity is already recorded, so a
rolling run can always re-submit everything it *would* record. Conventional keys:

- ``promotion_proposed``, ``promoted``, ``vetoed``, ``promotion_withdrawn`` and their demotion
  twins ``demotion_proposed``, ``demoted``, ``demotion_vetoed``, ``demotion_withdrawn``: subject
  the agent, key ``pr#<number>`` (a veto is one fact per PR; a later PR for the same agent is a new one);
- ``killed``: subject the agent or ``class:<name>``, key the retire PR (``pr#<number>``) or the
  ``as_of`` date of the run that killed it;
- ``email_sent``: subject ``lp``, key the period (``2026-W40``, ``2026-10-05``).

An entry without a key has the identity ``(event, subject, None)``: it is recorded at most once
ever. Races: the state-branch writer that finds its ref moved re-reads the ledger and calls
:func:`extend_ledger_text` again with the *same entries*; whatever the other run already
recorded is skipped, the rest is chained after it, nothing is lost or doubled.

This module is the ledger's door: the record names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from metasup.rolling.audit_records import (
    DEDUPE_FIELD,
    GENESIS_HASH,
    RECORD_FIELDS,
    LedgerCorrupt,
    LedgerError,
    LedgerEvent,
    LedgerProblem,
    LedgerRecord,
    NewEntry,
    ProblemKind,
    canonical_json,
    format_ts,
    is_blank,
    parse_json_object,
    readable_seq,
    record_hash,
    serialize,
    serialize_record,
    validate_record,
)

__all__ = [
    "DEDUPE_FIELD",
    "GENESIS_HASH",
    "RECORD_FIELDS",
    "LedgerCorrupt",
    "LedgerError",
    "LedgerEvent",
    "LedgerProblem",
    "LedgerRecord",
    "NewEntry",
    "append",
    "append_new",
    "canonical_json",
    "extend_ledger_text",
    "format_ts",
    "has_record",
    "ledger_body",
    "missing_entries",
    "parse_ledger",
    "record_hash",
    "serialize",
    "serialize_record",
    "verify_ledger",
]

# --- writing -------------------------------------------------------------------------------------


def append(
    records: Sequence[LedgerRecord], entries: Iterable[NewEntry], ts: str, run_id: str
) -> list[LedgerRecord]:
    """The records for ``entries``, chained after ``records`` (which are not repeated).

    Every entry is recorded, duplicates included; a rolling run wants :func:`append_new`.
    """
    previous = records[-1] if records else None
    new_records: list[LedgerRecord] = []
    for entry in entries:
        record = _chain(previous, entry, ts, run_id)
        new_records.append(record)
        previous = record
    return new_records


def _chain(previous: LedgerRecord | None, entry: NewEntry, ts: str, run_id: str) -> LedgerRecord:
    fields: dict[str, Any] = {
        "seq": 1 if previous is None else previous.seq + 1,
        "ts": ts,
        "run_id": run_id,
        "event": entry.event,
        "subject": entry.subject,
        "data": entry.record_data(),
        "prev_hash": GENESIS_HASH if previous is None else previous.hash,
    }
    return LedgerRecord(**fields, hash=record_hash(fields))


def missing_entries(records: Iterable[LedgerRecord], entries: Iterable[NewEntry]) -> list[NewEntry]:
    """The entries whose identity is not recorded yet, each identity once, in the given order."""
    seen = {record.identity for record in records}
    missing: list[NewEntry] = []
    for entry in entries:
        if entry.identity not in seen:
            seen.add(entry.identity)
            missing.append(entry)
    return missing


def append_new(
    records: Sequence[LedgerRecord], entries: Iterable[NewEntry], ts: str, run_id: str
) -> list[LedgerRecord]:
    """Like :func:`append`, for only the entries not already recorded (see the module docstring).

    Re-applying the same entries to a ledger that moved on (another run appended meanwhile) is
    how a lost race is resolved: nothing the other run recorded is recorded twice.
    """
    return append(records, missing_entries(records, entries), ts, run_id)


def has_record(
    records: Iterable[LedgerRecord], event: LedgerEvent, subject: str, key: str | None = None
) -> bool:
    """Is there a record of ``event`` about ``subject`` (with dedupe key ``key``, when given)?"""
    return any(
        record.event == event and record.subject == subject and (key is None or record.dedupe_key == key)
        for record in records
    )


def extend_ledger_text(text: str, entries: Iterable[NewEntry], ts: str, run_id: str) -> str:
    """``text`` with the not-yet-recorded ``entries`` appended: the state-branch writer's step.

    Call it again on the fresh text when the ref moved. Returns ``text`` itself when there is
    nothing new (no write needed). Raises :class:`LedgerCorrupt` on a broken ledger, so nothing
    is ever chained onto one.
    """
    records = parse_ledger(text)
    added = append_new(records, entries, ts, run_id)
    return ledger_body(text) + serialize(added) if added else text


def ledger_body(text: str) -> str:
    """``text`` without the whitespace-only lines after its last record (see ``audit_records``):
    what new records are chained after, so the ledger written is canonical again."""
    lines = text.split("\n")
    count = _without_trailing_blanks(lines)
    if count == len(lines):  # no blank line at the end (or a last line cut short: left as it is)
        return text
    return "".join(line + "\n" for line in lines[:count])


def _without_trailing_blanks(lines: list[str]) -> int:
    """How many of ``lines`` are left without the blank ones at the end."""
    count = len(lines)
    while count and is_blank(lines[count - 1]):
        count -= 1
    return count


# --- reading and verifying -----------------------------------------------------------------------


def parse_ledger(text: str) -> list[LedgerRecord]:
    """The records of a verified ledger; raises :class:`LedgerCorrupt` naming the first bad line."""
    records, problem = _read(text)
    if problem is not None:
        raise LedgerCorrupt(problem)
    return records


def verify_ledger(text: str) -> LedgerProblem | None:
    """``None`` when the chain is intact (an empty ledger is), else its first broken record."""
    return _read(text)[1]


def _read(text: str) -> tuple[list[LedgerRecord], LedgerProblem | None]:
    """Records up to the first problem, and that problem (``None`` when every line is sound)."""
    lines = text.split("\n")
    count = _without_trailing_blanks(lines)  # blank lines after the last record carry nothing
    terminated = count < len(lines)  # the last record's line ends in a newline
    records: list[LedgerRecord] = []
    for number, line in enumerate(lines[:count], start=1):
        is_last_unterminated = not terminated and number == count
        checked = _check_line(number, line, records[-1] if records else None, is_last_unterminated)
        if isinstance(checked, LedgerProblem):
            return records, checked
        records.append(checked)
    return records, None


def _check_line(
    number: int, line: str, previous: LedgerRecord | None, unterminated: bool
) -> LedgerRecord | LedgerProblem:
    """One line against the record before it; the checks run from "unreadable" to "reformatted"."""
    if is_blank(line):  # never the last line: blank lines after the last record are not checked
        where = "before the first record"
        if previous is not None:
            where = f"between records (after seq {previous.seq})"
        detail = (
            f"a blank line {where}. metasup never writes one, so the file was edited here; the blank "
            f"line itself changes no record: delete line {number}, and check what else the edit "
            "changed, to restore the chain"
        )
        return LedgerProblem(line=number, seq=None, kind="blank_line", detail=detail)
    parsed = parse_json_object(line)
    if isinstance(parsed, str):
        if unterminated:
            return LedgerProblem(
                line=number, seq=None, kind="truncated", detail=f"last line is incomplete ({parsed})"
            )
        return LedgerProblem(line=number, seq=None, kind="invalid_json", detail=parsed)
    seq = readable_seq(parsed)
    record = validate_record(number, seq, parsed)
    if isinstance(record, LedgerProblem):
        return record
    problem = _chain_problem(record, previous)
    if problem is not None:
        kind, detail = problem
        return LedgerProblem(line=number, seq=seq, kind=kind, detail=detail)
    if serialize_record(record) != line:
        detail = "the line is not in canonical form: it was reformatted or edited by hand"
        if line.endswith("\r") and serialize_record(record) == line[:-1]:  # the record itself is intact
            detail = (
                "the line ends in CR LF (Windows line ends: a checkout with git's core.autocrlf, or an "
                "editor), and metasup writes LF only; check the file as git stores it, e.g. "
                "`git show origin/metasup-state:ledger.jsonl > ledger.jsonl`"
            )
        return LedgerProblem(line=number, seq=seq, kind="not_canonical", detail=detail)
    if unterminated:
        detail = "the final newline is missing: the ledger was cut short"
        return LedgerProblem(line=number, seq=seq, kind="truncated", detail=detail)
    return record


def _chain_problem(record: LedgerRecord, previous: LedgerRecord | None) -> tuple[ProblemKind, str] | None:
    """Own hash first (was *this* record edited?), then its place in the chain."""
    if record.hash != record_hash(record.fields()):
        return "hash_mismatch", "the stored hash does not match the record's content: the record was edited"
    expected_seq = 1 if previous is None else previous.seq + 1
    if record.seq != expected_seq:
        return (
            "seq_not_consecutive",
            f"expected seq {expected_seq}, found {record.seq}: a record was deleted, inserted or reordered",
        )
    expected_prev = GENESIS_HASH if previous is None else previous.hash
    if record.prev_hash != expected_prev:
        before = "64 zeros (first record)" if previous is None else f"the hash of seq {previous.seq}"
        return (
            "prev_hash_mismatch",
            f"prev_hash is not {before}: a record before it was replaced, inserted or reordered",
        )
    return None
