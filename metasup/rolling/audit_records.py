"""One audit-ledger record (SPEC §5): its fields, its hash, its one canonical line, reading it back.

Each line of the ledger is one record ``{seq, ts, run_id, event, subject, data, prev_hash, hash}``
where::

    hash = sha256(json.dumps(record_without_hash, sort_keys=True, separators=(",", ":"),
                             ensure_ascii=False).encode("utf-8")).hexdigest()

How records chain (``seq``, ``prev_hash``), de-duplicate and verify is :mod:`metasup.rolling.audit_ledger`.

Decisions the spec leaves open:

- **Canonical lines.** metasup only ever writes each record as the canonical JSON of the whole
  record (the formula above, ``hash`` included), one per line, each ending in ``\\n``. A line in
  any other form (re-indented, ``1E5`` for ``1e5``, a ``\\r``, duplicate keys, no final newline)
  is reported even when its hash still matches: the ledger lives on a branch only metasup
  writes, so a byte that changed is a byte someone changed. This also makes re-serializing a
  parsed ledger byte-identical to its input, up to the one exception below.
- **Blank lines at the end** (whitespace only, after the last record's newline: ``...}\n\n``, as
  an editor or GitHub's web editor may leave) carry nothing and are ignored; the next write drops
  them (``audit_ledger.ledger_body``), so records are always chained directly after the last one.
  A blank line *between* records (or before the first) stays a broken chain, ``blank_line``, named
  by its line: metasup never writes one, so the file was edited there, and the records after it
  are verified only once it is removed.
- **Timestamps** are RFC 3339 in UTC (``Z`` or ``+00:00``) and are *not* required to increase:
  a run that lost a race re-applies its entries, with its own (earlier) ``ts``, after the winner.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from metasup.model.errors import MetasupError

LedgerEvent = Literal[
    "promotion_proposed",
    "promoted",
    "vetoed",
    "promotion_withdrawn",
    "demotion_proposed",
    "demoted",
    "demotion_vetoed",
    "demotion_withdrawn",
    "promotion_held",
    "demotion_held",
    "promoted_by_hand",
    "left_prod_by_hand",
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
    "blank_line",
    "missing_field",
    "invalid_field",
    "hash_mismatch",
    "seq_not_consecutive",
    "prev_hash_mismatch",
    "not_canonical",
    "truncated",
    "anchor_missing",
    "anchor_mismatch",
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
    """A fact to record; ``audit_ledger.append`` turns it into a chained :class:`LedgerRecord`.

    ``dedupe_key`` is stored in ``data["dedupe_key"]`` and makes the entry's identity
    ``(event, subject, dedupe_key)`` for ``audit_ledger.append_new``.
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


def serialize_record(record: LedgerRecord) -> str:
    """One ledger line, without its newline."""
    return canonical_json(record.fields())


def serialize(records: Iterable[LedgerRecord]) -> str:
    """Ledger text: one canonical JSON record per line, each ending in a newline."""
    return "".join(serialize_record(record) + "\n" for record in records)


# --- reading one line back ------------------------------------------------------------------


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


def is_blank(line: str) -> bool:
    """A line of whitespace only (or nothing): it carries no record."""
    return not line.strip()


def parse_json_object(line: str) -> dict[str, Any] | str:
    """The line's JSON object, or a sentence saying why it is not one."""
    if is_blank(line):
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


def readable_seq(obj: Mapping[str, Any]) -> int | None:
    """The object's ``seq`` when it is an integer, so a problem can name it; else None."""
    seq = obj.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def validate_record(number: int, seq: int | None, obj: dict[str, Any]) -> LedgerRecord | LedgerProblem:
    """The object as a :class:`LedgerRecord`, or the problem of line ``number`` (its own fields only)."""
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
