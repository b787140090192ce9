"""JSON Lines reading: one pyarrow pass when the file is clean, per-line diagnosis only where not.

Fastest first, so clean data never costs Python work per line:

* lines that do not start with ``{`` are refused before pyarrow sees anything (its reader crashes
  on a ``null`` starting a block: ``ingest.files.scan_json_lines``); the rest is read from a copy
  where they are blanked out;
* the whole file goes through ``pyarrow.json`` with an explicit schema;
* a file that writes a flexible field (``signal_id``, ``direction``, ``horizon``) both as a number
  and as a string gets that field's integers quoted in one RE2 pass (``"direction": -1`` →
  ``"-1"``; the checks read both alike) and is read again in one pass;
* a file pyarrow still refuses (a broken line, a boolean where a number belongs) is read in ~1 MiB
  chunks in parallel; only refused chunks are bisected, and only stretches of at most
  ``LEAF_LINES`` lines that still fail are read line by line with ``json`` to say what is wrong —
  their good lines go back to pyarrow together.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from metasup.ingest.files import Content, Lines, chosen_lines, contains, matches, scan_json_lines
from metasup.ingest.quality import LineAccounts
from metasup.ingest.rows import (
    Column,
    InputSpec,
    Ints,
    Kind,
    Rows,
    concat_rows,
    no_rows,
    object_column,
    rows_from_table,
)

LEAF_LINES: Final = 512
"""A refused JSON stretch this short is read line by line instead of being bisected further.

About where one more bisection (two pyarrow calls) stops paying for itself against ``json.loads``
on the half it would spare; the timings behind it: ``docs/performance.md``, ``ingest.jsonl``.
"""
_CHUNK_BYTES: Final = 1 << 20
"""When pyarrow refuses a whole file, it is read again in stretches of about this size."""
# How much of a file's head is parsed to see how it writes its flexible fields.
_SNIFF_BYTES: Final = 1 << 18
_SNIFF_LINES: Final = 1000


def read_jsonl(data: Content, spec: InputSpec, file_id: int, accounts: LineAccounts) -> Rows:
    """A JSON Lines file: one pyarrow pass when clean; else chunks, bisected down to the bad lines.

    Lines pyarrow must never see (not starting with ``{``: it can crash on them,
    :func:`~metasup.ingest.files.scan_json_lines`) are refused first; the rest is read from a copy
    in which they are blanked out.
    """
    scan = scan_json_lines(data)
    lines = scan.lines
    accounts.set_lines(file_id, lines.total)
    accounts.ignore_lines(file_id, scan.blank)
    if len(scan.refused):
        accounts.reject(np.full(len(scan.refused), file_id, dtype=np.int32), scan.refused, scan.reasons)
    if not len(lines.numbers):
        return no_rows()
    data = original = scan.content
    flexible = [name for name, kind in spec.fields.items() if kind is Kind.FLEXIBLE]
    head = _Head.of(data, spec, flexible)
    numeric = head.numeric
    if head.mixed:
        data, numeric = _quote_integers(data, flexible), set()
    outcome = _read_whole(data, spec, numeric, head.fields)
    if isinstance(outcome, str) and _type_changed(outcome, numeric):
        data, numeric = _quote_integers(data, flexible), set()
        outcome = _read_whole(data, spec, numeric, head.fields)
    if not isinstance(outcome, str) and outcome.num_rows == len(lines.numbers):
        rows = rows_from_table(outcome, file_id, lines.numbers, spec.fields)
    else:
        rows = _read_refused_json(data, lines, _json_schema(spec, numeric), spec, file_id, accounts)
    return _with_nulls_apart(rows, original, spec)


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
    data: Content, spec: InputSpec, numeric: set[str], head_fields: set[str] | None
) -> pa.Table | str:
    """The whole file in one pyarrow pass, or why pyarrow refuses it.

    Each known field a file never writes still costs pyarrow a share of the read (a column of nulls
    per block; ``docs/performance.md``, ``ingest.jsonl``). So when the file's head names only known
    fields, those alone are read and a field outside them is an error, not ignored: if a later line
    has one, nothing is lost, the file is read again with every known field.
    """
    if head_fields is not None:
        outcome = _arrow_json(data.reader(), _json_schema(spec, numeric, head_fields), unexpected="error")
        if not (isinstance(outcome, str) and _UNEXPECTED_FIELD in outcome):
            return outcome
    return _arrow_json(data.reader(), _json_schema(spec, numeric))


def _read_refused_json(
    data: Content, lines: Lines, schema: pa.Schema, spec: InputSpec, file_id: int, accounts: LineAccounts
) -> Rows:
    """Chunks of ~1 MiB in parallel; only the refused ones are bisected and read line by line."""
    starts, ends = lines.ranges(data)
    stretch = _JsonStretch(data, data.bytes(), starts, ends, schema, spec)
    pieces = _JsonPieces(stretch)
    chunks = list(_chunks(starts, _CHUNK_BYTES))
    with ThreadPoolExecutor() as pool:  # pyarrow releases the GIL: chunks parse in parallel
        tables = list(pool.map(lambda chunk: stretch.table(*chunk), chunks))
    for (first, stop), table in zip(chunks, tables, strict=True):
        pieces.add(first, stop, table)
    accounts.reject_each(file_id, lines.numbers[pieces.rejected_rows], pieces.rejected_reasons)
    return pieces.rows(file_id, lines.numbers)


def _json_schema(spec: InputSpec, numeric: set[str], only: set[str] | None = None) -> pa.Schema:
    """The arrow types pyarrow must read, so it never guesses (e.g. ``ts`` as a naive timestamp).

    Every known field, or those in ``only``; unknown fields are not read at all. A flexible field
    is read as a number when the file writes it as one (``numeric``), else as text.
    """
    types: list[tuple[str, pa.DataType]] = []
    for name, kind in spec.fields.items():
        if only is not None and name not in only:
            continue
        if kind is Kind.NUMBER:
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
    ways; ``fields``: the fields the lines name, when all of them are known (else ``None``).
    """

    numeric: set[str]
    mixed: bool
    fields: set[str] | None

    @classmethod
    def of(cls, data: Content, spec: InputSpec, flexible: Sequence[str]) -> _Head:
        lines = data.bytes(0, _SNIFF_BYTES).split(b"\n")
        if len(data) > _SNIFF_BYTES:
            lines = lines[:-1]  # the last piece may be a cut line
        numbers: set[str] = set()
        strings: set[str] = set()
        named: set[str] = set()
        for line in lines[:_SNIFF_LINES]:
            record = _json_object(line) if line.strip() else None
            if not isinstance(record, dict):
                continue
            named.update(record)
            for name in flexible:
                value = record.get(name)
                if isinstance(value, str):
                    strings.add(name)
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    numbers.add(name)
        known = named <= set(spec.fields) and bool(named)
        return cls(numbers - strings, bool(numbers & strings), named if known else None)


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


_UNEXPECTED_FIELD: Final = "unexpected field"
"""How pyarrow says a line names a field outside the schema (``unexpected_field_behavior="error"``)."""


def _arrow_json(
    source: pa.BufferReader, schema: pa.Schema, threads: bool = True, unexpected: str = "ignore"
) -> pa.Table | str:
    """pyarrow's reading of ``source`` (valid UTF-8 included), or why it is refused."""
    # newlines_in_values=False (pyarrow's default, pinned here): blocks are cut only after a line
    # break, which is what makes ``scan_json_lines``' guard against pyarrow's crash on a block
    # starting with ``null`` complete.
    options = pa_json.ParseOptions(
        explicit_schema=schema, unexpected_field_behavior=unexpected, newlines_in_values=False
    )
    try:
        table = pa_json.read_json(
            source, read_options=pa_json.ReadOptions(use_threads=threads), parse_options=options
        )
        table.validate(full=True)  # pyarrow's JSON reader leaves invalid UTF-8 inside strings
    except pa.ArrowException as exc:
        return str(exc)
    return table


def _chunks(starts: Ints, size: int) -> Iterator[tuple[int, int]]:
    """Consecutive stretches of lines of about ``size`` bytes each, cut at line starts."""
    cuts = np.unique(np.searchsorted(starts, np.arange(0, int(starts[-1]) + 1, size)))
    bounds = [*(int(cut) for cut in cuts), len(starts)]
    yield from ((first, stop) for first, stop in itertools.pairwise(bounds) if first < stop)


@dataclass(frozen=True)
class _JsonStretch:
    """A refused JSON Lines file: its non-blank lines (byte ranges) and the schema to read them with.

    ``text`` is one ``bytes`` copy of the content, so cutting out single lines is cheap.
    """

    data: Content
    text: bytes
    starts: Ints
    ends: Ints
    schema: pa.Schema
    spec: InputSpec

    def table(self, first: int, stop: int) -> pa.Table | None:
        """pyarrow's reading of lines ``[first, stop)``, if it yields exactly one row per line.

        Stretches are about one pyarrow block, so its thread pool would only add overhead.
        """
        source = self.data.reader(int(self.starts[first]), int(self.ends[stop - 1]))
        table = _arrow_json(source, self.schema, threads=False)
        return None if isinstance(table, str) or table.num_rows != stop - first else table

    def line(self, row: int) -> bytes:
        return self.text[int(self.starts[row]) : int(self.ends[row])]


@dataclass
class _JsonPieces:
    """What the stretches of a refused file gave: pyarrow tables, per-line records, rejected lines.

    Rows are indices into the file's non-blank lines; tables and records are merged back into line
    order at the end.
    """

    stretch: _JsonStretch
    tables: list[pa.Table] = field(default_factory=list)
    table_rows: list[Ints] = field(default_factory=list)
    records: list[dict[str, object]] = field(default_factory=list)
    record_rows: list[int] = field(default_factory=list)
    rejected_rows: list[int] = field(default_factory=list)
    rejected_reasons: list[str] = field(default_factory=list)

    def read(self, first: int, stop: int) -> None:
        """Lines ``[first, stop)``: pyarrow if it accepts them all, else as a refused stretch."""
        self.add(first, stop, self.stretch.table(first, stop) if stop - first > LEAF_LINES else None)

    def add(self, first: int, stop: int, table: pa.Table | None) -> None:
        """Lines ``[first, stop)`` as pyarrow read them, or as a refused stretch when it did not."""
        if table is None:
            self.read_refused(first, stop)
        else:
            self.add_table(np.arange(first, stop, dtype=np.int64), table)

    def read_refused(self, first: int, stop: int) -> None:
        """A stretch pyarrow refused: each half is tried again, a short one is read line by line."""
        if stop - first <= LEAF_LINES:
            self.read_leaf(first, stop)
            return
        middle = (first + stop) // 2
        self.read(first, middle)
        self.read(middle, stop)

    def read_leaf(self, first: int, stop: int) -> None:
        """``json.loads`` each line to name what is wrong; the good ones go back to pyarrow together."""
        good_rows: list[int] = []
        good_lines: list[bytes] = []
        good_records: list[dict[str, object]] = []
        for row in range(first, stop):
            text = self.stretch.line(row)
            parsed = _json_object(text)
            if isinstance(parsed, str):
                self.rejected_rows.append(row)
                self.rejected_reasons.append(parsed)
            else:
                good_rows.append(row)
                good_lines.append(text)
                good_records.append(parsed)
        if not good_rows:
            return
        source = pa.BufferReader(pa.py_buffer(b"\n".join(good_lines)))
        table = _arrow_json(source, self.stretch.schema, threads=False)
        if not isinstance(table, str) and table.num_rows == len(good_rows):
            self.add_table(np.asarray(good_rows, dtype=np.int64), table)
            return
        # Valid JSON that pyarrow still refuses: a repeated key (json keeps the last value silently)
        # or a field whose type changes between lines. Look for the first, keep the objects otherwise.
        for row, text, record in zip(good_rows, good_lines, good_records, strict=True):
            verdict = _json_object(text, _KEY_CHECKING_DECODER)
            if isinstance(verdict, str):
                self.rejected_rows.append(row)
                self.rejected_reasons.append(verdict)
            else:
                self.records.append(record)
                self.record_rows.append(row)

    def add_table(self, rows: Ints, table: pa.Table) -> None:
        self.tables.append(table)
        self.table_rows.append(rows)

    def rows(self, file_id: int, numbers: Ints) -> Rows:
        """All accepted lines as one ``Rows`` in line order."""
        fields = self.stretch.spec.fields
        parts = []
        if self.tables:
            table = pa.concat_tables(self.tables, promote_options="default")
            parts.append(rows_from_table(table, file_id, numbers[np.concatenate(self.table_rows)], fields))
        if self.records:
            columns = {name: object_column([record.get(name) for record in self.records]) for name in fields}
            lines = numbers[np.asarray(self.record_rows, dtype=np.int64)]
            parts.append(Rows.of_file(file_id, lines, columns))
        return concat_rows(parts).in_line_order()


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads`` hook that refuses an object naming a key twice (which value was meant?)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


_DECODER: Final = json.JSONDecoder()
_KEY_CHECKING_DECODER: Final = json.JSONDecoder(object_pairs_hook=_unique_keys)
"""Slower (a Python call per object), so only used on lines pyarrow refuses and json accepts."""


def _json_object(line: bytes, decoder: json.JSONDecoder = _DECODER) -> dict[str, object] | str:
    """The JSON object on ``line``, or the reason it is not one."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid UTF-8"
    try:
        value = decoder.decode(text)
    except _DuplicateKeyError as exc:
        return f"duplicate key {exc.key!r}"
    except (ValueError, RecursionError):
        return "invalid JSON"
    if not isinstance(value, dict):
        return "not a JSON object"
    return value
