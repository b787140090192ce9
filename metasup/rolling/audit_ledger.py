"""The tamper-evident audit ledger (SPEC §5): hash-chained JSON lines, pure text in, text out.

Each line is one record ``{seq, ts, run_id, event, subject, data, prev_hash, hash}`` where::

    hash = sha256(json.dumps(record_without_hash, sort_keys=True, separators=(",", ":"),
                             ensure_ascii=False).encode("utf-8")).hexdigest()

``seq`` starts at 1 and ``prev_hash`` of the first record is 64 zeros, so editing, deleting,
inserting or reordering a record breaks the chain at a line :func:`verify_ledger` can name.

Decisions the spec leaves open:

- **Canonical lines.** metasup only ever writes each record as the canonical JSON of the whole
  record (the formula above, ``hash`` included), one per line, each ending in ``\\n``. A line in
  any other form (re-indented, ``1E5`` for ``1e5``, a ``\\r``, duplicate keys, no final newline)
  is reported even when its hash still matches: the ledger lives on a branch only metasup
  writes, so a byte that changed is a byte someone changed. This also makes re-serializing a
  parsed ledger byte-identical to its input.
- **Timestamps** are RFC 3339 in UTC (``Z`` or ``+00:00``) and are *not* required to increase:
  a run that lost a race re-applies its entries, with its own (earlier) ``ts``, after the winner.
- **What the chain cannot see.** Cutting whole records off the end, or rewriting every record
  after an edit, leaves a valid chain; that needs a head hash remembered elsewhere (the state
  branch's git history). Everything short of that is caught.

Idempotency (re-runs never write a duplicate record): an entry's identity is
``(event, subject, dedupe_key)``, the key stored in ``data["dedupe_key"]``. :func:`append_new`
(and :func:`extend_ledger_text`) skip every entry whose identity is already recorded, so a
rolling run can always re-submit everything it *would* record. Conventional keys:

- ``promotion_proposed``, ``promoted``, ``vetoed``, ``promotion_withdrawn``: subject the agent,
  key ``pr#<number>`` (a veto is one fact per PR; a later PR for the same agent is a new one);
- ``killed``: subject the agent or ``class:<name>``, key the retire PR (``pr#<number>``) or the
  ``as_of`` date of the run that killed it;
- ``email_sent``: subject ``lp``, key the period (``2026-W40``, ``2026-10-05``).

An entry without a key has the identity ``(event, subject, None)``: it is recorded at most once
ever. Races: the state-branch writer that finds its ref moved re-reads the ledger and calls
:func:`extend_ledger_text` again with the *same entries*; whatever the other run already
recorded is skipped, the rest is chained after it, nothing is lost or doubled.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from metasup.model.errors import MetasupError

LedgerEvent = Literal[
    "promotion_proposed",
    "promoted",
    "vetoed",
    "promotion_withdrawn",
    "killed",
    "email_sent",
]

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first record: there is nothing before it."""

DEDUPE_FIELD = "dedupe_key"
"""The key of ``data`` that holds an entry's de-duplication key."""

RECORD_FIELDS: tuple[str, ...] = ("seq", "ts", "run_id", "event", "subject", "data", "prev_hash", "hash")

HEX_SHA256 = r"^[0-9a-f]{64}$"
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|\+00:00)$")

ProblemKind = Literal[
    "invalid_json",
    "missing_field",
    "invalid_field",
    "hash_mismatch",
    "seq_not_consecutive",
    "prev_hash_mismatch",
    "not_canonical",
    "truncated",
]


class LedgerError(MetasupError):
    """Base of the ledger's errors."""


class LedgerProblem(BaseModel):
    """The first broken record of a ledger: where it is and what is wrong with it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int = Field(ge=1, description="1-based line number in the ledger text")
    seq: int | None = Field(description="the record's seq when it could be read, else None")
    kind: ProblemKind
    detail: str

    def __str__(self) -> str:
        where = f"line {self.line}" + ("" if self.seq is None else f" (seq {self.seq})")
        return f"audit ledger broken at {where}: {self.detail}"


class LedgerCorrupt(LedgerError):
    """The ledger text is not a valid chain; ``problem`` names the first broken line."""

    def __init__(self, problem: LedgerProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def canonical_json(value: object) -> str:
    """The one JSON form the ledger hashes and writes: sorted keys, no spaces, raw UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def record_hash(record_without_hash: Mapping[str, Any]) -> str:
    """Hex sha256 of the canonical JSON of a record's fields other than ``hash`` (SPEC §5)."""
    fields = {key: value for key, value in record_without_hash.items() if key != "hash"}
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


def _rfc3339_utc(value: str) -> str:
    """Accept ``2026-10-05T06:00:00Z`` (or ``+00:00``); a local time would make the log ambiguous."""
    if not RFC3339_UTC.match(value):
        raise ValueError(f"ts must be an RFC 3339 UTC timestamp like 2026-10-05T06:00:00Z, got {value!r}")
    datetime.fromisoformat(value)  # rejects impossible dates such as month 13
    return value


Timestamp = Annotated[str, AfterValidator(_rfc3339_utc)]


def format_ts(moment: datetime) -> str:
    """An aware datetime as the ledger's ``ts``: ``2026-10-05T06:00:00Z`` (microseconds kept if any)."""
    offset = moment.utcoffset()
    if offset is None or offset.total_seconds() != 0:
        raise ValueError(f"ledger timestamps are UTC; got {moment.isoformat()}")
    return moment.replace(tzinfo=None).isoformat() + "Z"


def _json_object(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as it will read back from the ledger (tuples become lists, ...); NaN is refused."""
    try:
        normalized: dict[str, Any] = json.loads(canonical_json(dict(data)))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"data must be a JSON object of finite values: {exc}") from None
    return normalized


class LedgerRecord(BaseModel):
    """One line of the ledger. Treat ``data`` as read-only: changing it breaks the hash."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    seq: int = Field(ge=1)
    ts: Timestamp
    run_id: str = Field(min_length=1)
    event: LedgerEvent
    subject: str = Field(min_length=1)
    data: dict[str, Any]
    prev_hash: str = Field(pattern=HEX_SHA256)
    hash: str = Field(pattern=HEX_SHA256)

    @property
    def dedupe_key(self) -> str | None:
        key = self.data.get(DEDUPE_FIELD)
        return key if isinstance(key, str) else None

    @property
    def identity(self) -> tuple[str, str, str | None]:
        """``(event, subject, dedupe_key)``: two records with one identity are one fact."""
        return (self.event, self.subject, self.dedupe_key)

    def fields(self) -> dict[str, Any]:
        """Every field as a plain dict: what is hashed (without ``hash``) and written."""
        return {name: getattr(self, name) for name in RECORD_FIELDS}


class NewEntry(BaseModel):
    """A fact to record; :func:`append` turns it into a chained :class:`LedgerRecord`.

    ``dedupe_key`` is stored in ``data["dedupe_key"]`` and makes the entry's identity
    ``(event, subject, dedupe_key)`` for :func:`append_new`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event: LedgerEvent
    subject: str = Field(min_length=1)
    data: dict[str, Any] = Field(default_factory=dict)
    dedupe_key: str | None = Field(default=None, min_length=1)

    @field_validator("data")
    @classmethod
    def _data_is_json(cls, data: dict[str, Any]) -> dict[str, Any]:
        if DEDUPE_FIELD in data:
            raise ValueError(f"data.{DEDUPE_FIELD} is reserved: pass dedupe_key= instead")
        return _json_object(data)

    @property
    def identity(self) -> tuple[str, str, str | None]:
        return (self.event, self.subject, self.dedupe_key)

    def record_data(self) -> dict[str, Any]:
        """``data`` as written: with the dedupe key, when there is one."""
        if self.dedupe_key is None:
            return dict(self.data)
        return {**self.data, DEDUPE_FIELD: self.dedupe_key}


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


def serialize_record(record: LedgerRecord) -> str:
    """One ledger line, without its newline."""
    return canonical_json(record.fields())


def serialize(records: Iterable[LedgerRecord]) -> str:
    """Ledger text: one canonical JSON record per line, each ending in a newline."""
    return "".join(serialize_record(record) + "\n" for record in records)


def extend_ledger_text(text: str, entries: Iterable[NewEntry], ts: str, run_id: str) -> str:
    """``text`` with the not-yet-recorded ``entries`` appended: the state-branch writer's step.

    Call it again on the fresh text when the ref moved. Returns ``text`` itself when there is
    nothing new (no write needed). Raises :class:`LedgerCorrupt` on a broken ledger, so nothing
    is ever chained onto one.
    """
    records = parse_ledger(text)
    return text + serialize(append_new(records, entries, ts, run_id))


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
    if not text:
        return [], None
    lines = text.split("\n")
    terminated = lines[-1] == ""
    if terminated:
        lines.pop()
    records: list[LedgerRecord] = []
    for number, line in enumerate(lines, start=1):
        is_last_unterminated = not terminated and number == len(lines)
        checked = _check_line(number, line, records[-1] if records else None, is_last_unterminated)
        if isinstance(checked, LedgerProblem):
            return records, checked
        records.append(checked)
    return records, None


def _check_line(
    number: int, line: str, previous: LedgerRecord | None, unterminated: bool
) -> LedgerRecord | LedgerProblem:
    """One line against the record before it; the checks run from "unreadable" to "reformatted"."""
    parsed = _parse_json_object(line)
    if isinstance(parsed, str):
        if unterminated:
            return LedgerProblem(
                line=number, seq=None, kind="truncated", detail=f"last line is incomplete ({parsed})"
            )
        return LedgerProblem(line=number, seq=None, kind="invalid_json", detail=parsed)
    seq = _readable_seq(parsed)
    record = _validate_record(number, seq, parsed)
    if isinstance(record, LedgerProblem):
        return record
    problem = _chain_problem(record, previous)
    if problem is not None:
        kind, detail = problem
        return LedgerProblem(line=number, seq=seq, kind=kind, detail=detail)
    if serialize_record(record) != line:
        detail = "the line is not in canonical form: it was reformatted or edited by hand"
        return LedgerProblem(line=number, seq=seq, kind="not_canonical", detail=detail)
    if unterminated:
        detail = "the final newline is missing: the ledger was cut short"
        return LedgerProblem(line=number, seq=seq, kind="truncated", detail=detail)
    return record


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json`` would keep the last of two equal keys: a place to hide an edit, so refuse it."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {literal}")
    return value


def _refuse_constant(literal: str) -> Any:
    raise ValueError(f"{literal} is not JSON")


def _parse_json_object(line: str) -> dict[str, Any] | str:
    """The line's JSON object, or a sentence saying why it is not one."""
    if not line.strip():
        return "blank line"
    try:
        value = json.loads(
            line,
            object_pairs_hook=_no_duplicate_keys,
            parse_float=_finite_float,
            parse_constant=_refuse_constant,
        )
    except ValueError as exc:  # json.JSONDecodeError, and the hooks' refusals
        return f"invalid JSON: {exc}"
    except RecursionError:
        return "invalid JSON: nested too deeply"
    if not isinstance(value, dict):
        return f"invalid JSON: expected an object, got {type(value).__name__}"
    return value


def _readable_seq(obj: Mapping[str, Any]) -> int | None:
    seq = obj.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def _validate_record(number: int, seq: int | None, obj: dict[str, Any]) -> LedgerRecord | LedgerProblem:
    missing = [name for name in RECORD_FIELDS if name not in obj]
    if missing:
        detail = f"missing field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
        return LedgerProblem(line=number, seq=seq, kind="missing_field", detail=detail)
    try:
        return LedgerRecord.model_validate(obj)
    except ValidationError as exc:
        return LedgerProblem(line=number, seq=seq, kind="invalid_field", detail=_describe(exc))


def _describe(exc: ValidationError) -> str:
    """``field 'ts': ...; field 'extra': ...``: pydantic's errors in one line."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "record"
        parts.append(f"field {where!r}: {error['msg']}")
    return "; ".join(parts)


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
