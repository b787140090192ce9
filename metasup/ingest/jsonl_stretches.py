"""JSON Lines that pyarrow refused as a whole: read in stretches, bisected down to the bad lines.

A piece of a file pyarrow refuses (a broken line, a boolean where a number belongs) is read in
~1 MiB chunks in parallel; only refused chunks are bisected, and only stretches of at most
``LEAF_LINES`` lines that still fail are read line by line with ``json`` to say what is wrong —
their good lines go back to pyarrow together. ``ingest.jsonl`` calls it; pyarrow's reading and
``json``'s diagnosis of one line live here for both.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.json as pa_json

from metasup.ingest.files import Content, Lines
from metasup.ingest.rows import InputSpec, Ints, Rows, concat_rows, object_column, rows_from_table

LEAF_LINES: Final = 512
"""A refused JSON stretch this short is read line by line instead of being bisected further.

About where one more bisection (two pyarrow calls) stops paying for itself against ``json.loads``
on the half it would spare; the timings behind it: ``docs/performance.md``, ``ingest.jsonl``.
"""
_CHUNK_BYTES: Final = 1 << 20
"""When pyarrow refuses a whole file, it is read again in stretches of about this size."""
UNEXPECTED_FIELD: Final = "unexpected field"
"""How pyarrow says a line names a field outside the schema (``unexpected_field_behavior="error"``)."""


def arrow_json(
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


def read_by_stretches(
    data: Content, lines: Lines, schema: pa.Schema, spec: InputSpec, file_id: int
) -> tuple[Rows, Ints, list[str]]:
    """Chunks of ~1 MiB in parallel; only the refused ones are bisected and read line by line.

    Returns the accepted rows (at ``lines``' numbers), and the numbers and reasons of the rejected.
    """
    starts, ends = lines.ranges(data)
    stretch = _JsonStretch(data, data.bytes(), starts, ends, schema, spec)
    pieces = _JsonPieces(stretch)
    chunks = list(_chunks(starts, _CHUNK_BYTES))
    with ThreadPoolExecutor() as pool:  # pyarrow releases the GIL: chunks parse in parallel
        tables = list(pool.map(lambda chunk: stretch.table(*chunk), chunks))
    for (first, stop), table in zip(chunks, tables, strict=True):
        pieces.add(first, stop, table)
    rejected = lines.numbers[np.asarray(pieces.rejected_rows, dtype=np.int64)]
    return pieces.rows(file_id, lines.numbers), rejected, pieces.rejected_reasons


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
        table = arrow_json(source, self.schema, threads=False)
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
            parsed = json_object(text)
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
        table = arrow_json(source, self.stretch.schema, threads=False)
        if not isinstance(table, str) and table.num_rows == len(good_rows):
            self.add_table(np.asarray(good_rows, dtype=np.int64), table)
            return
        # Valid JSON that pyarrow still refuses: a repeated key (json keeps the last value silently)
        # or a field whose type changes between lines. Look for the first, keep the objects otherwise.
        for row, text, record in zip(good_rows, good_lines, good_records, strict=True):
            verdict = json_object(text, _KEY_CHECKING_DECODER)
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


def json_object(line: bytes, decoder: json.JSONDecoder = _DECODER) -> dict[str, object] | str:
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
        if "\r" in text.rstrip("\r"):  # classic-Mac line ends: the whole file reads as one line
            return "invalid JSON (carriage returns \\r inside the line: JSON Lines end lines with \\n)"
        return "invalid JSON"
    if not isinstance(value, dict):
        return "not a JSON object"
    if ("\\ud" in text or "\\uD" in text) and _holds_a_lone_surrogate(value):
        return "invalid JSON (lone surrogate)"
    return value


_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _holds_a_lone_surrogate(value: dict[str, Any]) -> bool:
    """``"\\ud800"`` alone is valid JSON syntax but no character (RFC 8259 §8.2): it cannot be
    written as UTF-8 or stored by pyarrow. ``json`` joins escaped pairs, so what is left is lone."""
    return _SURROGATE.search(json.dumps(value, ensure_ascii=False)) is not None
