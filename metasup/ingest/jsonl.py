"""JSON Lines reading: one pyarrow pass when the file is clean, per-line diagnosis only where not.

Fastest first, so clean data never costs Python work per line:

* lines that do not start with ``{`` are refused before pyarrow sees anything (its reader crashes
  on a ``null`` starting a block: ``ingest.files.scan_json_lines``); the rest is read from a copy
  where they are blanked out;
* the file is read in pieces of about ``PIECE_BYTES``, each in one ``pyarrow.json`` pass with an
  explicit schema, its memory-mapped pages released once read;
* a file that writes a flexible field (``signal_id``, ``direction``, ``horizon``) both as a number
  and as a string gets that field's integers quoted in one RE2 pass (``"direction": -1`` →
  ``"-1"``; the checks read both alike) and is read again in one pass;
* a piece pyarrow still refuses (a broken line, a boolean where a number belongs) goes to
  ``ingest.jsonl_stretches``: ~1 MiB chunks in parallel, only the refused ones bisected, and only
  short stretches that still fail read line by line with ``json`` to say what is wrong.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from metasup.ingest.files import (
    Content,
    Lines,
    chosen_lines,
    contains,
    line_pieces,
    matches,
    scan_json_lines,
)
from metasup.ingest.jsonl_stretches import UNEXPECTED_FIELD, arrow_json, json_object, read_by_stretches
from metasup.ingest.quality import LineAccounts
from metasup.ingest.rows import (
    Column,
    InputSpec,
    Ints,
    Kind,
    Objects,
    Rows,
    no_rows,
    rows_from_table,
)

PIECE_BYTES: Final = 1 << 24
"""A JSON Lines file is read in pieces of about this many bytes (16 MiB), cut after a newline.

Small enough that a piece's copies (refused lines blanked, integers quoted) and its pyarrow
tables stay a fraction of a large file; large enough that pyarrow's threads have blocks to share
and per-piece costs vanish. Measurements: ``docs/performance.md``, ``ingest.jsonl``.
"""
_AHEAD: Final = 2
"""Pieces read ahead, in as many threads, while the caller works on the current one."""
# How much of a file's head is parsed to see how it writes its flexible fields.
_SNIFF_BYTES: Final = 1 << 18
_SNIFF_LINES: Final = 1000


def read_jsonl(data: Content, spec: InputSpec, file_id: int, accounts: LineAccounts) -> Iterator[Rows]:
    """A JSON Lines file, piece after piece of about ``PIECE_BYTES``, each piece's rows as it is read.

    A file is read in pieces so that neither its pages nor a rewritten copy of it (lines refused,
    integers quoted) ever need to be in memory whole: each piece's pages are released once it is
    read (:meth:`~metasup.ingest.files.Content.release_before`). While the caller works on one
    piece's rows, worker threads already read the next ``_AHEAD`` (pyarrow and RE2 release the GIL),
    so both cores stay busy. How the file writes its flexible fields is judged once, from its head,
    for every piece. The pieces are booked in ``accounts`` in order, by this thread; the line
    count once the last is read: consume the iterator to the end.
    """
    flexible = [name for name, kind in spec.fields.items() if kind is Kind.FLEXIBLE]
    reading = _Reading(spec, _Head.of(data, spec, flexible), flexible)
    lines_before = 0
    with ThreadPoolExecutor(max_workers=_AHEAD) as pool:
        queued: deque[tuple[int, Future[_PieceRead]]] = deque()
        pieces = line_pieces(data, PIECE_BYTES)
        while True:
            for start, piece in pieces:  # keep _AHEAD pieces reading beyond the one delivered next
                queued.append((start + len(piece), pool.submit(_read_piece, piece, reading)))
                if len(queued) > _AHEAD:
                    break
            if not queued:
                break
            end, pending = queued.popleft()
            read = pending.result()
            data.release_before(end)  # its pages, and what pyarrow freed, go back to the system
            pa.default_memory_pool().release_unused()
            yield read.booked(file_id, lines_before, accounts)
            lines_before += read.lines
    accounts.set_lines(file_id, lines_before)


@dataclass(frozen=True)
class _Reading:
    """How every piece of one file is read: its input's fields and what the file's head told."""

    spec: InputSpec
    head: _Head
    flexible: list[str]


@dataclass(frozen=True)
class _PieceRead:
    """One piece read, its line numbers its own (1-based), not yet booked in the line accounts."""

    rows: Rows
    lines: int
    blank: int
    rejected: Ints
    reasons: Objects

    def booked(self, file_id: int, lines_before: int, accounts: LineAccounts) -> Rows:
        """Book the piece's blank and rejected lines; its rows, numbered as lines of the file."""
        accounts.ignore_lines(file_id, self.blank)
        if len(self.rejected):
            lines = self.rejected + lines_before
            accounts.reject(np.full(len(lines), file_id, dtype=np.int32), lines, self.reasons)
        return self.rows.in_file(file_id).shifted(lines_before)


def _read_piece(data: Content, reading: _Reading) -> _PieceRead:
    """One piece: one pyarrow pass when clean; else chunks, bisected down to the bad lines.

    Lines pyarrow must never see (not starting with ``{``: it can crash on them,
    :func:`~metasup.ingest.files.scan_json_lines`) are refused first; the rest is read from a copy
    in which they are blanked out. Runs in a worker thread: it books nothing.
    """
    spec = reading.spec
    scan = scan_json_lines(data)
    lines = scan.lines
    if not len(lines.numbers):
        return _PieceRead(no_rows(), lines.total, scan.blank, scan.refused, scan.reasons)
    data = original = scan.content
    numeric, stamps = reading.head.numeric, reading.head.stamps
    if reading.head.mixed:
        data, numeric = _quote_integers(data, reading.flexible), set()
    outcome = _read_whole(data, spec, numeric, reading.head.fields, stamps)
    if isinstance(outcome, str) and _type_changed(outcome, numeric):
        data, numeric = _quote_integers(data, reading.flexible), set()
        outcome = _read_whole(data, spec, numeric, reading.head.fields, stamps)
    if isinstance(outcome, str) and stamps and _stamps_refused(outcome, spec):
        outcome = _read_whole(data, spec, numeric, reading.head.fields, stamps=False)
    rejected, reasons = scan.refused, scan.reasons
    if not isinstance(outcome, str) and outcome.num_rows == len(lines.numbers):
        rows = rows_from_table(outcome, _NO_FILE, lines.numbers, spec.fields)
    else:
        rows, bad, why = _read_refused_json(data, lines, _json_schema(spec, numeric), spec)
        rejected = np.concatenate((rejected, bad))
        reasons = np.concatenate((reasons, np.asarray(why, dtype=object)))
    return _PieceRead(_with_nulls_apart(rows, original, spec), lines.total, scan.blank, rejected, reasons)


_NO_FILE: Final = -1
"""The file id of a piece's rows until they are booked (:meth:`_PieceRead.booked`)."""


def _read_refused_json(
    data: Content, lines: Lines, schema: pa.Schema, spec: InputSpec
) -> tuple[Rows, Ints, list[str]]:
    """A piece pyarrow refused as a whole, read by stretches (``ingest.jsonl_stretches``)."""
    return read_by_stretches(data, lines, schema, spec, _NO_FILE)


def _with_nulls_apart(rows: Rows, data: Content, spec: InputSpec) -> Rows:
    """Rows whose fields in ``spec.null_apart`` say where a missing value was written ``null``.

    pyarrow (and ``json``) read ``"cost_usd": null`` and a line without ``cost_usd`` alike. So the
    raw bytes decide, vectorized: a file that never writes ``"<name>": null`` is not looked at
    further (one RE2 pass); else only the lines whose value is missing are matched against
    ``"<name>"`` followed by ``:`` — a key, since inside a valid JSON string its quotes would be
    escaped — and, the value being missing, it was ``null``. (A key spelled with escapes, such as
    ``"cost\u005fusd"``, is not recognized: that line counts as without the field.)
    """
    columns = dict(rows.columns)
    for name in spec.null_apart:
        column = rows.column(name)
        key = f'"{name}"[ \t\r\n]*:'
        # A literal first: RE2 finds ``null`` ~4× faster than a pattern opening with ``"`` (which
        # every key does), and a file without it needs no closer look (docs/performance.md).
        if (
            not column.missing.any()
            or not contains(data, "null")
            or not contains(data, key + "[ \t\r\n]*null")
        ):
            continue
        suspects = np.flatnonzero(column.missing)
        null = np.zeros(len(rows), dtype=bool)
        null[suspects] = matches(chosen_lines(data, rows.line[suspects]), key)
        columns[name] = Column(column.values, column.missing, null)
    return Rows(rows.file, rows.line, columns)


def _read_whole(
    data: Content, spec: InputSpec, numeric: set[str], head_fields: set[str] | None, stamps: bool
) -> pa.Table | str:
    """The whole file in one pyarrow pass, or why pyarrow refuses it.

    Each known field a file never writes still costs pyarrow a share of the read (a column of nulls
    per block; ``docs/performance.md``, ``ingest.jsonl``). So when the file's head names only known
    fields, those alone are read and a field outside them is an error, not ignored: if a later line
    has one, nothing is lost, the file is read again with every known field.
    """
    if head_fields is not None:
        schema = _json_schema(spec, numeric, head_fields, stamps)
        outcome = arrow_json(data.reader(), schema, unexpected="error")
        if not (isinstance(outcome, str) and UNEXPECTED_FIELD in outcome):
            return outcome
    return arrow_json(data.reader(), _json_schema(spec, numeric, stamps=stamps))


_STAMP: Final = pa.timestamp("ns", tz="UTC")
"""How pyarrow reads a timestamp field when the file's head says it can (:attr:`_Head.stamps`)."""


def _json_schema(
    spec: InputSpec, numeric: set[str], only: set[str] | None = None, stamps: bool = False
) -> pa.Schema:
    """The arrow types pyarrow must read, so it never guesses (e.g. ``ts`` as a naive timestamp).

    Every known field, or those in ``only``; unknown fields are not read at all. A flexible field
    is read as a number when the file writes it as one (``numeric``), else as text. A timestamp
    field is text unless ``stamps``: then pyarrow parses it while it reads (naive as UTC, offsets
    applied: what the checks do with the text), on its own threads, and a value it cannot parse
    fails the read, which is then done again with text (:func:`_stamps_refused`).
    """
    types: list[tuple[str, pa.DataType]] = []
    for name, kind in spec.fields.items():
        if only is not None and name not in only:
            continue
        if kind is Kind.TIMESTAMP and stamps:
            types.append((name, _STAMP))
        elif kind is Kind.NUMBER:
            types.append((name, pa.float64()))
        elif kind is Kind.FLEXIBLE and name in numeric:
            types.append((name, pa.int64() if name == "signal_id" else pa.float64()))
        else:
            types.append((name, pa.large_string()))  # what pandas' str dtype holds: no cast later
    return pa.schema(types)


@dataclass(frozen=True)
class _Head:
    """What the file's first lines tell about how it is written.

    ``numeric``: flexible fields written as numbers only; ``mixed``: whether one is written both
    ways; ``fields``: the fields the lines name, when all of them are known (else ``None``);
    ``stamps``: whether pyarrow parses every timestamp the lines write (``_json_schema``).
    """

    numeric: set[str]
    mixed: bool
    fields: set[str] | None
    stamps: bool

    @classmethod
    def of(cls, data: Content, spec: InputSpec, flexible: Sequence[str]) -> _Head:
        lines = data.bytes(0, _SNIFF_BYTES).split(b"\n")
        if len(data) > _SNIFF_BYTES:
            lines = lines[:-1]  # the last piece may be a cut line
        numbers: set[str] = set()
        strings: set[str] = set()
        named: set[str] = set()
        timed = [name for name, kind in spec.fields.items() if kind is Kind.TIMESTAMP]
        stamps: list[dict[str, Any]] = []
        for line in lines[:_SNIFF_LINES]:
            record = json_object(line) if line.strip() else None
            if not isinstance(record, dict):
                continue
            named.update(record)
            stamps.append({name: record.get(name) for name in timed})
            for name in flexible:
                value = record.get(name)
                if isinstance(value, str):
                    strings.add(name)
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    numbers.add(name)
        known = named <= set(spec.fields) and bool(named)
        parsed = bool(timed) and bool(stamps) and _arrow_parses(stamps)
        return cls(numbers - strings, bool(numbers & strings), named if known else None, parsed)


def _arrow_parses(stamps: list[dict[str, Any]]) -> bool:
    """Whether pyarrow reads these timestamp fields as timestamps: the same reader on the same text."""
    text = "".join(json.dumps(record) + "\n" for record in stamps).encode()
    schema = pa.schema([(name, _STAMP) for name in stamps[0]])
    return not isinstance(arrow_json(pa.BufferReader(text), schema, threads=False), str)


def _stamps_refused(error: str, spec: InputSpec) -> bool:
    """Whether pyarrow refused a piece because a timestamp is one it does not parse (or not text).

    A hint, like :func:`_type_changed`: a piece read again with text timestamps, or by stretches,
    gives the same rows.
    """
    timed = (name for name, kind in spec.fields.items() if kind is Kind.TIMESTAMP)
    return "to timestamp" in error or any(
        f"Column(/{name}) changed from string to" in error for name in timed
    )


def _type_changed(error: str, names: set[str]) -> bool:
    """Whether pyarrow refused the file because a flexible field read as a number is text somewhere.

    Only a hint to pick the faster retry (both paths give the same result), so relying on the
    wording of pyarrow's message is safe.
    """
    return any(f"Column(/{name}) changed from number to string" in error for name in names)


def _quote_integers(data: Content, names: Sequence[str]) -> Content:
    """The file with integer values of ``names`` written as strings (``"direction": -1`` → ``"-1"``).

    Lets one pyarrow string column hold a flexible field that lines write both ways; the checks read
    an integer and its digit string alike. One RE2 pass; a quoted key cannot occur unescaped inside a
    JSON string, so only keys match.
    """
    pattern = '("(?:' + "|".join(names) + r')"[ \t]*:[ \t]*)(-?\d+)([ \t]*[,}])'
    replaced = pc.replace_substring_regex(data.as_binary_array(), pattern=pattern, replacement=r'\1"\2"\3')
    return Content(replaced[0].as_buffer())
