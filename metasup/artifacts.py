"""Load and validate the artifacts: signals, telemetry and prices (SPEC §2).

The frames' columns are documented in ``docs/data-model.md``.

A bad line is never fatal and never silently dropped: every line of every file ends up accepted,
rejected (with file, line number and a short reason, in ``DataQuality``) or ignored (blank lines,
events of another type). Only a file that cannot be used at all — missing, unreadable, of an
unsupported type, a csv/parquet without a required column — raises :class:`ArtifactError`.

How a file is read, fastest first, so clean data never costs Python work per line:

* the whole file goes through pyarrow's columnar reader (``pyarrow.json``, ``pyarrow.csv`` or
  ``pyarrow.parquet``) with an explicit schema, and every check after it is a vectorized mask over
  whole columns (text work is done by pyarrow kernels under pandas' ``str`` dtype);
* a JSON Lines file that writes a flexible field (``signal_id``, ``direction``, ``horizon``) both as
  a number and as a string gets that field's integers quoted in one RE2 pass (``"direction": -1`` →
  ``"-1"``; the checks read both alike) and is read again in one pass;
* a JSON Lines file pyarrow still refuses (a broken line, a boolean where a number belongs) is read
  in ~1 MiB chunks in parallel; only refused chunks are bisected, and only stretches of at most
  ``LEAF_LINES`` lines that still fail are read line by line with ``json`` to say what is wrong —
  their good lines go back to pyarrow together;
* a csv file pyarrow cannot map line by line (invalid UTF-8, a quoted field spanning lines) is read
  with Python's ``csv`` module, which knows the line every record starts on.

Decisions where the SPEC is silent:

* ``lines`` of a JSON Lines file counts its physical lines; blank (whitespace-only) lines are
  counted as ``ignored``. A csv's header is not counted: ``lines`` counts the records after it
  (blank lines included, as ``ignored``), and line numbers are physical, the header being line 1.
  A parquet file's "lines" are its rows, numbered from 1.
* The first reason found is reported, checking fields in the order of the SPEC's tables.
* ``signal_id`` may be a string or an integer (kept as its decimal string); an empty string is
  rejected. Required text fields must not be empty; an empty optional one counts as absent.
* Duplicates are looked for among otherwise valid signals only (a broken line cannot claim an id),
  across all the files of the input, in file order then line order; the first is kept.
* ``direction``: ±1 as a number or the strings ``"1"``, ``"+1"``, ``"-1"``, or ``long``/``buy``/
  ``short``/``sell`` in any case. ``horizon``: a positive whole number of seconds (number or digit
  string) or a duration such as ``"4h"`` / ``"1.5h"`` (``config.DURATION_PATTERN``), at most
  ``MAX_HORIZON``.
* Timestamps outside what ``datetime64[ns]`` holds (years ~1677–2262) are rejected.
* A line's ``type`` is compared exactly (``"signal"``, not ``"Signal"``); a non-string ``type`` is
  "another type" and ignored. A telemetry line without ``type`` is rejected.
* Optional telemetry fields that no frame holds (``tokens``, ``latency_ms``, ``status``) are not
  validated. Optional text fields that a frame holds (``severity``, ``detail``, ``symbol``) must be
  strings when present.
* A JSON object with a repeated key is rejected (``duplicate key 'x'``): which value was meant is
  ambiguous. A leading UTF-8 byte order mark is skipped.
* A directory is read non-recursively in sorted file-name order; hidden entries and sub-directories
  are skipped, any other file must have a supported extension, and an empty directory is an error.
  ``.csv.gz`` is accepted as well.
* File paths in messages and in ``DataQuality`` are relative to the working directory when the file
  lies under it, else as configured.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import json
import re
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any, Final, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pa_parquet

from metasup.config import DURATION_PATTERN, UNIT_SECONDS, ArtifactsConfig
from metasup.errors import ArtifactError
from metasup.review import MAX_REJECTED_LISTED, DataQuality, FileQuality, RejectedLine

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
FileIds = npt.NDArray[np.int32]
Floats = npt.NDArray[np.float64]
Objects = npt.NDArray[np.object_]
Progress = Callable[[str], None]

UTC_NS: Final = "datetime64[ns, UTC]"
FRAME_DTYPES: Final[Mapping[str, Mapping[str, str]]] = {
    "signals": {
        "ts": UTC_NS,
        "signal_id": "str",
        "agent": "str",
        "strategy_class": "str",
        "symbol": "str",
        "direction": "int8",
        "confidence": "float64",
        "horizon_s": "int64",
        "notional": "float64",
    },
    "costs": {"ts": UTC_NS, "agent": "str", "cost_usd": "float64", "kind": "str"},
    "evals": {"ts": UTC_NS, "agent": "str", "score": "float64"},
    "violations": {"ts": UTC_NS, "agent": "str", "rule": "str", "severity": "str", "detail": "str"},
    "regimes": {"ts": UTC_NS, "regime": "str", "symbol": "str"},
    "prices": {"ts": UTC_NS, "symbol": "str", "price": "float64"},
}
"""Columns and dtypes of every frame of :class:`Artifacts` (``docs/data-model.md``), empty or not."""

SUPPORTED_SUFFIXES: Final = (".jsonl.gz", ".csv.gz", ".jsonl", ".csv", ".parquet")
LEAF_LINES: Final = 512
"""A refused JSON stretch this short is read line by line instead of being bisected further.

About where one more bisection (two pyarrow calls, ~0.15 ms each) stops paying for itself against
``json.loads`` (~3 µs a line) on the half it would spare.
"""
MAX_HORIZON: Final = 100 * 366 * 86400
"""Longest accepted horizon in seconds: beyond it ``ts + horizon`` leaves what datetime64[ns] holds."""

_CHUNK_BYTES: Final = 1 << 20
"""When pyarrow refuses a whole file, it is read again in stretches of about this size."""
_SNIFF_BYTES: Final = 1 << 18
_SNIFF_LINES: Final = 1000
_TELEMETRY_TYPES: Final = ("run", "cost", "behavioral_eval", "safety_violation", "regime")
_DIRECTION_WORDS: Final[Mapping[str, int]] = {
    "1": 1,
    "+1": 1,
    "-1": -1,
    "long": 1,
    "buy": 1,
    "short": -1,
    "sell": -1,
}
_INTEGER_TEXT: Final = re.compile(r"-?[0-9]+")
_NS_MIN: Final = pd.Timestamp.min.tz_localize("UTC")
_NS_MAX: Final = pd.Timestamp.max.tz_localize("UTC")


@dataclass(frozen=True)
class Artifacts:
    """Validated inputs of one evaluation; every rejected line is accounted for in ``data_quality``."""

    signals: pd.DataFrame
    costs: pd.DataFrame
    evals: pd.DataFrame
    violations: pd.DataFrame
    regimes: pd.DataFrame
    prices: pd.DataFrame
    data_quality: DataQuality

    def until(self, as_of: pd.Timestamp) -> Artifacts:
        """The same artifacts as if the data ended at ``as_of`` (SPEC §3: nothing later exists)."""

        def cut(frame: pd.DataFrame) -> pd.DataFrame:
            return frame.loc[frame["ts"] <= as_of]

        return replace(
            self,
            signals=cut(self.signals),
            costs=cut(self.costs),
            evals=cut(self.evals),
            violations=cut(self.violations),
            regimes=cut(self.regimes),
            prices=cut(self.prices),
        )


def load_artifacts(config: ArtifactsConfig, progress: Progress | None = None) -> Artifacts:
    """Read and validate every artifact file of ``config``.

    Raises :class:`ArtifactError` when a file cannot be used at all; bad lines only end up in
    ``data_quality``. ``progress`` receives short messages (``"reading alpha/events.jsonl"``).
    """
    say: Progress = progress if progress is not None else _quiet
    alpha_files = _data_files(config.alpha)
    telemetry_files = None if config.telemetry is None else _data_files(config.telemetry)
    price_files = _data_files(config.prices)

    ledger = _Ledger()
    signals = _signals(_read_input(alpha_files, _SIGNALS, ledger, say), ledger)
    if telemetry_files is None:
        telemetry = {name: empty_frame(name) for name in ("costs", "evals", "violations", "regimes")}
    else:
        telemetry = _telemetry(_read_input(telemetry_files, _TELEMETRY, ledger, say), ledger)
    prices = _prices(_read_input(price_files, _PRICES, ledger, say), ledger)
    return Artifacts(
        signals=signals,
        costs=telemetry["costs"],
        evals=telemetry["evals"],
        violations=telemetry["violations"],
        regimes=telemetry["regimes"],
        prices=prices,
        data_quality=ledger.report(),
    )


def empty_frame(name: str) -> pd.DataFrame:
    """Frame ``name`` of :class:`Artifacts` without rows, with its documented columns and dtypes."""
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in FRAME_DTYPES[name].items()})


def _quiet(_message: str) -> None:
    """Progress sink when nobody listens."""


# --------------------------------------------------------------------------------------------
# What each input holds


class _Kind(Enum):
    """How a field is stored by the readers and which checks interpret it."""

    TIMESTAMP = "timestamp"
    TEXT = "text"
    NUMBER = "number"
    FLEXIBLE = "flexible"  # a string or a number, both meaningful (signal_id, direction, horizon)


@dataclass(frozen=True)
class _Input:
    """The fields one artifact may carry, and the columns a csv/parquet file of it must have."""

    fields: Mapping[str, _Kind]
    required_columns: tuple[str, ...]


_T, _X, _N, _F = _Kind.TIMESTAMP, _Kind.TEXT, _Kind.NUMBER, _Kind.FLEXIBLE
_SIGNALS: Final = _Input(
    {
        "type": _X,
        "ts": _T,
        "signal_id": _F,
        "agent": _X,
        "strategy_class": _X,
        "symbol": _X,
        "direction": _F,
        "confidence": _N,
        "horizon": _F,
        "notional": _N,
    },
    ("ts", "signal_id", "agent", "symbol", "direction", "confidence", "horizon"),
)
_TELEMETRY: Final = _Input(
    {
        "type": _X,
        "ts": _T,
        "agent": _X,
        "cost_usd": _N,
        "score": _N,
        "rule": _X,
        "severity": _X,
        "detail": _X,
        "regime": _X,
        "symbol": _X,
    },
    ("ts", "type"),
)
_PRICES: Final = _Input({"ts": _T, "symbol": _X, "price": _N}, ("ts", "symbol", "price"))


# --------------------------------------------------------------------------------------------
# Files


def _suffix_of(path: Path) -> str | None:
    """The supported extension ``path`` ends with, if any (``.jsonl.gz`` before ``.jsonl``)."""
    name = path.name.lower()
    return next((suffix for suffix in SUPPORTED_SUFFIXES if name.endswith(suffix)), None)


def _supported() -> str:
    return ", ".join(SUPPORTED_SUFFIXES[::-1])


def _display(path: Path) -> str:
    """How a file is named to the user: relative to the working directory when it lies under it."""
    try:
        return path.absolute().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def _data_files(path: Path) -> list[Path]:
    """The files behind one configured path: the file itself, or a directory's data files in order."""
    if path.is_dir():
        entries = sorted(
            (entry for entry in path.iterdir() if not entry.name.startswith(".") and not entry.is_dir()),
            key=lambda entry: entry.name,
        )
        for entry in entries:
            if _suffix_of(entry) is None:
                raise ArtifactError(
                    f"{_display(entry)}: unsupported file type in an artifact directory"
                    f" (expected {_supported()})"
                )
        if not entries:
            raise ArtifactError(f"{_display(path)}: directory holds no data files (expected {_supported()})")
        return entries
    if not path.exists():
        raise ArtifactError(f"{_display(path)}: file not found")
    if _suffix_of(path) is None:
        raise ArtifactError(f"{_display(path)}: unsupported file type (expected {_supported()})")
    return [path]


@dataclass(frozen=True)
class _Content:
    """A file's bytes without a copy: a memory map (or the decompressed gzip), seen as uint8 by numpy."""

    buffer: pa.Buffer

    def __len__(self) -> int:
        return int(self.buffer.size)

    @property
    def array(self) -> npt.NDArray[np.uint8]:
        return np.frombuffer(self.buffer, dtype=np.uint8)

    def bytes(self, start: int = 0, stop: int | None = None) -> bytes:
        return bytes(self.array[start:stop].tobytes())

    def reader(self, start: int = 0, stop: int | None = None) -> pa.BufferReader:
        """A pyarrow input over ``[start, stop)`` sharing the memory (nothing is copied)."""
        end = len(self) if stop is None else stop
        return pa.BufferReader(self.buffer.slice(start, end - start))

    def without_bom(self) -> _Content:
        """A leading UTF-8 byte order mark is not part of the first line."""
        bom = len(codecs.BOM_UTF8)
        return _Content(self.buffer.slice(bom)) if self.bytes(0, bom) == codecs.BOM_UTF8 else self


def _read_content(path: Path, suffix: str) -> _Content:
    """The file's content, decompressed when gzipped; an unreadable file is an ``ArtifactError``."""
    try:
        if suffix.endswith(".gz"):
            return _Content(pa.py_buffer(_gunzip(path, path.read_bytes())))
        if path.stat().st_size == 0:
            return _Content(pa.py_buffer(b""))
        return _Content(pa.memory_map(str(path)).read_buffer())
    except FileNotFoundError:
        raise ArtifactError(f"{_display(path)}: file not found") from None
    except OSError as exc:
        raise ArtifactError(f"{_display(path)}: cannot read file ({exc.strerror or exc})") from None


def _gunzip(path: Path, data: bytes) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ArtifactError(f"{_display(path)}: not a valid gzip file ({exc})") from None


# --------------------------------------------------------------------------------------------
# Rows as read, before validation


@dataclass(frozen=True)
class _Column:
    """One field of many rows as a reader produced it.

    ``values`` keeps the reader's dtype (object when types were mixed, e.g. after a per-line read);
    ``missing`` is kept apart because a float column cannot tell an absent value from a NaN one.
    """

    values: pd.Series
    missing: Bools


@dataclass(frozen=True)
class _Rows:
    """Rows of one input (all its files), with the file id and line number that locate each row."""

    file: FileIds
    line: Ints
    columns: Mapping[str, _Column]

    def __len__(self) -> int:
        return len(self.line)

    def column(self, name: str) -> _Column:
        """The field ``name``; a field no row had is a column of missing values."""
        found = self.columns.get(name)
        return found if found is not None else _absent_column(len(self))

    def take(self, keep: Bools) -> _Rows:
        """Only the rows where ``keep`` is true, in the same order."""
        return self if keep.all() else self.select(np.flatnonzero(keep).astype(np.int64))

    def in_line_order(self) -> _Rows:
        """The rows sorted by line (rows of one file only, where line numbers are unique)."""
        if len(self) < 2 or bool(np.all(self.line[1:] > self.line[:-1])):
            return self
        return self.select(np.argsort(self.line, kind="stable").astype(np.int64))

    def select(self, positions: Ints) -> _Rows:
        """The rows at ``positions``, in that order."""
        return _Rows(
            file=self.file[positions],
            line=self.line[positions],
            columns={
                name: _Column(column.values.iloc[positions].reset_index(drop=True), column.missing[positions])
                for name, column in self.columns.items()
            },
        )


def _absent_column(rows: int) -> _Column:
    return _Column(pd.Series(np.full(rows, np.nan)), np.ones(rows, dtype=bool))


def _no_rows() -> _Rows:
    return _Rows(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64), {})


def _concat_rows(parts: Sequence[_Rows]) -> _Rows:
    """Rows of several files (or pieces of one file) one after the other."""
    parts = [part for part in parts if len(part)]
    if not parts:
        return _no_rows()
    if len(parts) == 1:
        return parts[0]
    names = list(dict.fromkeys(name for part in parts for name in part.columns))
    return _Rows(
        file=np.concatenate([part.file for part in parts]),
        line=np.concatenate([part.line for part in parts]),
        columns={name: _concat_columns([part.columns.get(name) for part in parts], parts) for name in names},
    )


def _concat_columns(columns: Sequence[_Column | None], parts: Sequence[_Rows]) -> _Column:
    """One field across pieces; a piece without it gets missing values of the others' dtype."""
    template = next(column.values for column in columns if column is not None)
    filled = [
        column
        if column is not None
        else _Column(template.iloc[:0].reindex(range(len(part))), np.ones(len(part), dtype=bool))
        for column, part in zip(columns, parts, strict=True)
    ]
    return _Column(
        pd.concat([column.values for column in filled], ignore_index=True),
        np.concatenate([column.missing for column in filled]),
    )


_NULLABLE_INTEGERS: Final[Mapping[pa.DataType, Any]] = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def _column_from_arrow(array: pa.ChunkedArray) -> _Column:
    """An arrow column as pandas without losing integers to floats or nulls to NaN.

    Strings become pandas ``str`` sharing pyarrow's buffers (``to_pandas`` would copy them).
    """
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    if pa.types.is_decimal(array.type):
        array = array.cast(pa.float64())
    missing = np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return _Column(pd.Series(pd.array(array, dtype="str")), missing)
    values = array.to_pandas(types_mapper=_NULLABLE_INTEGERS.get)
    return _Column(values.reset_index(drop=True), missing)


def _rows_from_table(table: pa.Table, file_id: int, lines: Ints, fields: Mapping[str, _Kind]) -> _Rows:
    names = [name for name in fields if name in table.column_names]
    return _Rows(
        file=np.full(len(lines), file_id, dtype=np.int32),
        line=lines,
        columns={name: _column_from_arrow(table.column(name)) for name in names},
    )


def _object_column(values: list[object]) -> _Column:
    """A field gathered from Python objects (per-line reads): ``None`` is missing.

    Typed through pyarrow when the values share one plain type (ints and floats together count as
    numbers); a field that really mixes types stays an object column, checked value by value.
    (pyarrow alone would turn ``True`` among floats into 1.0, hiding a wrong type.)
    """
    kinds = {type(value) for value in values} - {type(None)}
    if (len(kinds) <= 1 and kinds <= {str, int, float, bool}) or kinds == {int, float}:
        try:
            return _column_from_arrow(pa.chunked_array([pa.array(values)]))
        except (pa.ArrowException, OverflowError):
            pass  # an integer beyond 64 bits, say: keep the Python objects
    return _Column(
        pd.Series(values, dtype=object),
        np.fromiter((value is None for value in values), dtype=bool, count=len(values)),
    )


# --------------------------------------------------------------------------------------------
# Reading one input


def _read_input(files: Sequence[Path], spec: _Input, ledger: _Ledger, say: Progress) -> _Rows:
    """All files of one input, registered in ``ledger`` and concatenated in order."""
    parts = []
    for path in files:
        shown = _display(path)
        say(f"reading {shown}")
        suffix = _suffix_of(path)
        assert suffix is not None  # _data_files only lets supported files through
        file_id = ledger.add_file(shown)
        data = _read_content(path, suffix).without_bom()
        if suffix.startswith(".jsonl"):
            parts.append(_read_jsonl(data, spec, file_id, ledger))
        elif suffix.startswith(".csv"):
            parts.append(_read_csv(data, spec, file_id, ledger, shown))
        else:
            parts.append(_read_parquet(data, spec, file_id, ledger, shown))
    return _concat_rows(parts)


@dataclass(frozen=True)
class _Lines:
    """The lines of a text file: how many, and the 1-based numbers of the non-blank ones."""

    total: int
    numbers: Ints

    def ranges(self, data: _Content) -> tuple[Ints, Ints]:
        """Byte ranges of the non-blank lines of ``data`` (this file, possibly rewritten).

        Scanned on demand: the fast path never needs them.
        """
        starts, ends = _line_offsets(data)
        return starts[self.numbers - 1], ends[self.numbers - 1]


_JSON_BLANK_HINT: Final = "\n[\n\r \t]"
_CSV_BLANK_HINT: Final = "\n[\n\r]"


def _scan_lines(data: _Content, whitespace_is_blank: bool) -> _Lines:
    """Count lines and find the blank ones: one RE2 pass first, numpy only when there may be some.

    JSON Lines treats whitespace-only lines as blank (as pyarrow does); csv only empty ones
    (pyarrow reports whitespace-only csv lines as rows with too few columns).
    """
    raw = data.array
    newlines = sum(int(np.count_nonzero(block == ord("\n"))) for block in _blocks(raw))
    total = newlines + (1 if len(raw) and raw[-1] != ord("\n") else 0)
    hint = _JSON_BLANK_HINT if whitespace_is_blank else _CSV_BLANK_HINT
    first_line_hint = _Content(pa.py_buffer(b"\n" + data.bytes(0, 1)))
    if not _contains(first_line_hint, hint) and not _contains(data, hint):
        return _Lines(total, np.arange(1, total + 1, dtype=np.int64))
    starts, ends = _line_offsets(data)
    blank = _blank_lines(data, starts, ends, whitespace_is_blank)
    return _Lines(total, np.flatnonzero(~blank).astype(np.int64) + 1)


def _contains(data: _Content, pattern: str) -> bool:
    """Whether ``pattern`` (RE2) matches somewhere in ``data``: pyarrow's RE2 scans ~10 GB/s."""
    return bool(pc.count_substring_regex(_whole(data), pattern)[0].as_py())


def _whole(data: _Content) -> pa.Array:
    """The content as a one-value binary array (no copy), for pyarrow's string kernels."""
    offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
    return pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, data.buffer])


def _blocks(raw: npt.NDArray[np.uint8], size: int = 1 << 22) -> Iterator[npt.NDArray[np.uint8]]:
    """``raw`` in cache-sized views: comparing a whole 200 MB file at once costs a 200 MB temporary."""
    for start in range(0, len(raw), size):
        yield raw[start : start + size]


def _line_offsets(data: _Content) -> tuple[Ints, Ints]:
    """Start and end (exclusive, without the newline) of every line."""
    raw = data.array
    found = [
        np.flatnonzero(block == ord("\n")) + start
        for start, block in zip(range(0, len(raw), 1 << 22), _blocks(raw), strict=True)
    ]
    newlines = np.concatenate([np.zeros(0, dtype=np.int64), *found]).astype(np.int64)
    starts = np.concatenate((np.zeros(1, dtype=np.int64), newlines + 1))
    ends = np.concatenate((newlines, np.array([len(raw)], dtype=np.int64)))
    if not len(raw) or raw[-1] == ord("\n"):
        starts, ends = starts[:-1], ends[:-1]
    return starts, ends


def _blank_lines(data: _Content, starts: Ints, ends: Ints, whitespace_is_blank: bool) -> Bools:
    """Which lines are blank; only lines that start with whitespace are looked at one by one."""
    raw = data.array
    empty: Bools = np.equal(ends, starts)
    first = np.zeros(len(starts), dtype=np.uint8)
    first[~empty] = raw[starts[~empty]]
    blank_bytes = b" \t\r" if whitespace_is_blank else b"\r"
    candidates = empty | np.isin(first, np.frombuffer(blank_bytes, dtype=np.uint8))
    blank = empty.copy()
    for index in np.flatnonzero(candidates & ~empty):
        blank[index] = not data.bytes(int(starts[index]), int(ends[index])).strip(blank_bytes)
    return blank


# JSON Lines ----------------------------------------------------------------------------------


def _read_jsonl(data: _Content, spec: _Input, file_id: int, ledger: _Ledger) -> _Rows:
    """A JSON Lines file: one pyarrow pass when clean; else chunks, bisected down to the bad lines."""
    lines = _scan_lines(data, whitespace_is_blank=True)
    ledger.set_lines(file_id, lines.total)
    ledger.ignore_lines(file_id, lines.total - len(lines.numbers))
    if not len(lines.numbers):
        return _no_rows()
    flexible = [name for name, kind in spec.fields.items() if kind is _Kind.FLEXIBLE]
    numeric, mixed = _flexible_forms(data, flexible)
    if mixed:
        data, numeric = _quote_integers(data, flexible), set()
    outcome = _arrow_json(data.reader(), _json_schema(spec, numeric))
    if isinstance(outcome, str) and _type_changed(outcome, numeric):
        data, numeric = _quote_integers(data, flexible), set()
        outcome = _arrow_json(data.reader(), _json_schema(spec, numeric))
    if not isinstance(outcome, str) and outcome.num_rows == len(lines.numbers):
        return _rows_from_table(outcome, file_id, lines.numbers, spec.fields)
    return _read_refused_json(data, lines, _json_schema(spec, numeric), spec, file_id, ledger)


def _read_refused_json(
    data: _Content, lines: _Lines, schema: pa.Schema, spec: _Input, file_id: int, ledger: _Ledger
) -> _Rows:
    """Chunks of ~1 MiB in parallel; only the refused ones are bisected and read line by line."""
    starts, ends = lines.ranges(data)
    stretch = _JsonStretch(data, data.bytes(), starts, ends, schema, spec)
    pieces = _JsonPieces(stretch)
    chunks = list(_chunks(starts, _CHUNK_BYTES))
    with ThreadPoolExecutor() as pool:  # pyarrow releases the GIL: chunks parse in parallel
        tables = list(pool.map(lambda chunk: stretch.table(*chunk), chunks))
    for (first, stop), table in zip(chunks, tables, strict=True):
        if table is None:
            pieces.read_refused(first, stop)
        else:
            pieces.add_table(np.arange(first, stop, dtype=np.int64), table)
    ledger.reject_each(file_id, lines.numbers[pieces.rejected_rows], pieces.rejected_reasons)
    return pieces.rows(file_id, lines.numbers)


def _json_schema(spec: _Input, numeric: set[str]) -> pa.Schema:
    """The arrow types pyarrow must read, so it never guesses (e.g. ``ts`` as a naive timestamp).

    Unknown fields are not read at all. A flexible field is read as a number when the file writes
    it as one (``numeric``), else as text.
    """
    types: list[tuple[str, pa.DataType]] = []
    for name, kind in spec.fields.items():
        if kind is _Kind.NUMBER:
            types.append((name, pa.float64()))
        elif kind is _Kind.FLEXIBLE and name in numeric:
            types.append((name, pa.int64() if name == "signal_id" else pa.float64()))
        else:
            types.append((name, pa.large_string()))  # what pandas' str dtype holds: no cast later
    return pa.schema(types)


def _flexible_forms(data: _Content, names: Sequence[str]) -> tuple[set[str], bool]:
    """Flexible fields the file's first lines write as numbers only, and whether any is mixed."""
    if not names:
        return set(), False
    head = data.bytes(0, _SNIFF_BYTES).split(b"\n")
    if len(data) > _SNIFF_BYTES:
        head = head[:-1]  # the last piece may be a cut line
    numbers: set[str] = set()
    strings: set[str] = set()
    for line in head[:_SNIFF_LINES]:
        record = _json_object(line) if line.strip() else None
        if not isinstance(record, dict):
            continue
        for name in names:
            value = record.get(name)
            if isinstance(value, str):
                strings.add(name)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                numbers.add(name)
    return numbers - strings, bool(numbers & strings)


def _type_changed(error: str, names: set[str]) -> bool:
    """Whether pyarrow refused the file because a flexible field read as a number is text somewhere.

    Only a hint to pick the faster retry (both paths give the same result), so relying on the
    wording of pyarrow's message is safe.
    """
    return any(f"Column(/{name}) changed from number to string" in error for name in names)


def _quote_integers(data: _Content, names: Sequence[str]) -> _Content:
    """The file with integer values of ``names`` written as strings (``"direction": -1`` → ``"-1"``).

    Lets one pyarrow string column hold a flexible field that lines write both ways; the checks read
    an integer and its digit string alike. One RE2 pass; a quoted key cannot occur unescaped inside a
    JSON string, so only keys match.
    """
    pattern = '("(?:' + "|".join(names) + r')"[ \t]*:[ \t]*)(-?\d+)([ \t]*[,}])'
    replaced = pc.replace_substring_regex(_whole(data), pattern=pattern, replacement=r'\1"\2"\3')
    return _Content(replaced[0].as_buffer())


def _arrow_json(source: pa.BufferReader, schema: pa.Schema, threads: bool = True) -> pa.Table | str:
    """pyarrow's reading of ``source`` (valid UTF-8 included), or why it is refused."""
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
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

    data: _Content
    text: bytes
    starts: Ints
    ends: Ints
    schema: pa.Schema
    spec: _Input

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
        table = self.stretch.table(first, stop) if stop - first > LEAF_LINES else None
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

    def rows(self, file_id: int, numbers: Ints) -> _Rows:
        """All accepted lines as one ``_Rows`` in line order."""
        fields = self.stretch.spec.fields
        parts = []
        if self.tables:
            table = pa.concat_tables(self.tables, promote_options="default")
            parts.append(_rows_from_table(table, file_id, numbers[np.concatenate(self.table_rows)], fields))
        if self.records:
            columns = {name: _object_column([record.get(name) for record in self.records]) for name in fields}
            lines = numbers[np.asarray(self.record_rows, dtype=np.int64)]
            parts.append(_Rows(np.full(len(lines), file_id, dtype=np.int32), lines, columns))
        return _concat_rows(parts).in_line_order()


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


# csv -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _InvalidCsvRow:
    number: int | None  # pyarrow's count of non-empty rows, the header being 1
    text: str
    expected: int
    actual: int


def _read_csv(data: _Content, spec: _Input, file_id: int, ledger: _Ledger, shown: str) -> _Rows:
    """A csv file read by pyarrow as text columns; numbers are converted vectorized afterwards."""
    lines = _scan_lines(data, whitespace_is_blank=False)
    if not len(lines.numbers):
        ledger.set_lines(file_id, lines.total)
        ledger.ignore_lines(file_id, lines.total)
        return _no_rows()
    header = _csv_header(data, lines, shown)
    wanted = _check_columns(header, spec, shown)
    invalid: list[_InvalidCsvRow] = []

    def on_invalid_row(row: Any) -> str:
        invalid.append(_InvalidCsvRow(row.number, row.text, row.expected_columns, row.actual_columns))
        return "skip"

    try:
        table = pa_csv.read_csv(
            data.reader(),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=on_invalid_row),
            convert_options=pa_csv.ConvertOptions(
                include_columns=wanted,
                column_types=dict.fromkeys(wanted, pa.large_string()),
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowException:
        table = None
    located = None if table is None else _locate_csv_rows(lines, table.num_rows, invalid)
    if table is None or located is None:
        rows = _read_csv_slowly(data, spec, wanted, file_id, ledger, shown)
    else:
        row_lines, invalid_lines = located
        after_header = lines.total - int(lines.numbers[0])
        ledger.set_lines(file_id, after_header)
        ledger.ignore_lines(file_id, after_header - (len(lines.numbers) - 1) + _blank_count(invalid))
        rejected = [(line, row) for line, row in zip(invalid_lines, invalid, strict=True) if row.text.strip()]
        ledger.reject_each(
            file_id,
            np.asarray([line for line, _ in rejected], dtype=np.int64),
            [f"wrong number of columns (expected {row.expected}, got {row.actual})" for _, row in rejected],
        )
        rows = _rows_from_table(table, file_id, row_lines, spec.fields)
    return _numbers_from_text(rows, spec)


def _blank_count(invalid: Sequence[_InvalidCsvRow]) -> int:
    return sum(1 for row in invalid if not row.text.strip())


def _csv_header(data: _Content, lines: _Lines, shown: str) -> list[str]:
    """Column names from the first non-blank line."""
    if lines.numbers[0] > 1:  # blank lines before the header
        starts, ends = lines.ranges(data)
        raw = data.bytes(int(starts[0]), int(ends[0]))
    else:
        newlines = np.flatnonzero(data.array[: 1 << 20] == ord("\n"))
        raw = data.bytes(0, int(newlines[0]) if len(newlines) else None)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ArtifactError(f"{shown}: csv header is not valid UTF-8") from None
    return [name.strip() for name in next(csv.reader([text.rstrip("\r")]), [])]


def _check_columns(header: Sequence[str], spec: _Input, shown: str) -> list[str]:
    """The known columns present; a missing required or a repeated column makes the file unusable."""
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ArtifactError(f"{shown}: repeated column(s) {', '.join(repeated)}")
    missing = [name for name in spec.required_columns if name not in header]
    if missing:
        raise ArtifactError(
            f"{shown}: missing required column(s) {', '.join(missing)} (found: {', '.join(header) or 'none'})"
        )
    return [name for name in spec.fields if name in header]


def _locate_csv_rows(
    lines: _Lines, table_rows: int, invalid: Sequence[_InvalidCsvRow]
) -> tuple[Ints, list[int]] | None:
    """Line numbers of pyarrow's rows and of the rows it skipped, or ``None`` if they cannot be mapped.

    pyarrow numbers non-empty rows (header = 1); with no record spanning lines that is the index into
    the non-blank lines. Anything inconsistent (a quoted newline, a threaded read that did not
    number its rows) returns ``None`` and the slow reader takes over.
    """
    if not invalid and table_rows == len(lines.numbers) - 1:
        return lines.numbers[1:], []  # the common case: every non-blank line after the header is a row
    if any(row.number is None or not 1 < row.number <= len(lines.numbers) for row in invalid):
        return None
    skipped = np.asarray([row.number for row in invalid], dtype=np.int64) - 1
    data_rows = np.ones(len(lines.numbers), dtype=bool)
    data_rows[0] = False
    data_rows[skipped] = False
    if int(data_rows.sum()) != table_rows:
        return None
    return lines.numbers[data_rows], [int(line) for line in lines.numbers[skipped]]


def _read_csv_slowly(
    data: _Content, spec: _Input, wanted: Sequence[str], file_id: int, ledger: _Ledger, shown: str
) -> _Rows:
    """Python's csv reader, record by record: only for files pyarrow cannot map to lines."""
    text = data.bytes().decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    position: dict[str, int] = {}
    values: dict[str, list[object]] = {name: [] for name in wanted}
    row_lines: list[int] = []
    records = blank = 0
    previous = 0
    try:
        for record in reader:
            line, previous = previous + 1, reader.line_num
            if header is None:
                if record:
                    header = [name.strip() for name in record]
                    position = {name: header.index(name) for name in wanted}
                continue
            records += 1
            if not record or (len(record) == 1 and not record[0].strip()):
                blank += 1
            elif len(record) != len(header):
                ledger.reject_each(
                    file_id,
                    np.asarray([line], dtype=np.int64),
                    [f"wrong number of columns (expected {len(header)}, got {len(record)})"],
                )
            elif not _is_valid_utf8(record):
                ledger.reject_each(file_id, np.asarray([line], dtype=np.int64), ["invalid UTF-8"])
            else:
                row_lines.append(line)
                for name in wanted:
                    values[name].append(record[position[name]] or None)
    except csv.Error as exc:
        raise ArtifactError(f"{shown}: malformed csv at line {reader.line_num} ({exc})") from None
    ledger.set_lines(file_id, records)
    ledger.ignore_lines(file_id, blank)
    lines = np.asarray(row_lines, dtype=np.int64)
    columns = {name: _object_column(column) for name, column in values.items()}
    return _Rows(np.full(len(lines), file_id, dtype=np.int32), lines, columns)


def _is_valid_utf8(record: Sequence[str]) -> bool:
    """False when ``surrogateescape`` decoding had to smuggle in undecodable bytes."""
    try:
        for value in record:
            value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _numbers_from_text(rows: _Rows, spec: _Input) -> _Rows:
    """csv cells are text: numeric fields become floats; a cell that is no number stays text (wrong type)."""
    columns = dict(rows.columns)
    for name, kind in spec.fields.items():
        if kind is _Kind.NUMBER and name in columns:
            columns[name] = _parse_numbers(columns[name])
    return replace(rows, columns=columns)


def _parse_numbers(column: _Column) -> _Column:
    """Vectorized text → float: pyarrow's cast first, pandas' coercion when a cell is not a number."""
    text = column.values.astype("str")
    try:
        numbers = pa.array(text, from_pandas=True).cast(pa.float64()).to_pandas()
        return _Column(pd.Series(numbers).reset_index(drop=True), column.missing)
    except pa.ArrowException:
        pass
    coerced = pd.to_numeric(text.str.strip(), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    spelled_nan = (
        text.str.strip().str.lower().isin(["nan", "+nan", "-nan"]).to_numpy(dtype=bool, na_value=False)
    )
    not_a_number = np.isnan(coerced) & ~column.missing & ~spelled_nan
    mixed = coerced.astype(object)
    mixed[not_a_number] = text.to_numpy(dtype=object)[not_a_number]
    return _Column(pd.Series(mixed, dtype=object), column.missing)


# parquet -------------------------------------------------------------------------------------


def _read_parquet(data: _Content, spec: _Input, file_id: int, ledger: _Ledger, shown: str) -> _Rows:
    """A parquet file: typed columns as written; its "lines" are its rows, numbered from 1."""
    if not len(data):
        ledger.set_lines(file_id, 0)
        return _no_rows()
    try:
        parquet = pa_parquet.ParquetFile(data.reader())
        wanted = _check_columns(list(parquet.schema_arrow.names), spec, shown)
        table = parquet.read(columns=wanted)
    except (pa.ArrowException, OSError) as exc:
        raise ArtifactError(f"{shown}: not a valid parquet file ({exc})") from None
    ledger.set_lines(file_id, table.num_rows)
    return _rows_from_table(table, file_id, np.arange(1, table.num_rows + 1, dtype=np.int64), spec.fields)


# --------------------------------------------------------------------------------------------
# Checks: vectorized over whole columns, the first failure of a row gives its reason


class _Checks:
    """The verdict on each row: the first check a row fails gives its reason, later checks keep it."""

    def __init__(self, rows: int) -> None:
        self.ok: Bools = np.ones(rows, dtype=bool)
        self.reasons: Objects = np.full(rows, None, dtype=object)

    def fail(self, bad: Bools, reason: str | Objects) -> None:
        """Reject the rows where ``bad`` is true (unless an earlier check did) with ``reason``."""
        new = bad & self.ok
        if not new.any():
            return
        self.reasons[new] = reason if isinstance(reason, str) else reason[new]
        self.ok &= ~new


@dataclass(frozen=True)
class _Types:
    """Which present values of a column are strings and which are numbers (booleans are neither)."""

    text: Bools
    number: Bools
    integer: Bools


def _types(column: _Column) -> _Types:
    """Typed columns answer from their dtype; only object columns (mixed types) are inspected per value."""
    dtype = column.values.dtype
    present = ~column.missing
    nothing = np.zeros(len(present), dtype=bool)
    if not present.any() or pd.api.types.is_bool_dtype(dtype):
        return _Types(nothing, nothing, nothing)
    if pd.api.types.is_numeric_dtype(dtype):
        return _Types(nothing, present, present if pd.api.types.is_integer_dtype(dtype) else nothing)
    if isinstance(dtype, pd.StringDtype):
        return _Types(present, nothing, nothing)
    if not pd.api.types.is_object_dtype(dtype):
        return _Types(nothing, nothing, nothing)
    values = column.values.to_numpy(dtype=object)
    kinds = np.fromiter(
        (_PYTHON_KINDS.get(type(value), 0) for value in values), dtype=np.int8, count=len(values)
    )
    return _Types((kinds == _TEXT) & present, (kinds >= _INTEGER) & present, (kinds == _INTEGER) & present)


_TEXT, _INTEGER, _FLOAT = 1, 2, 3
_PYTHON_KINDS: Final[Mapping[type, int]] = {
    str: _TEXT,
    int: _INTEGER,
    np.int64: _INTEGER,
    float: _FLOAT,
    np.float64: _FLOAT,
}
"""Exact types (``bool`` is not ``int`` here): one dict lookup per value in object columns."""


def _as_text(column: _Column, types: _Types) -> pd.Series:
    """The string values (pandas ``str``), NA where the value is missing or not a string."""
    if isinstance(column.values.dtype, pd.StringDtype):
        return column.values
    if not types.text.any():
        return pd.Series(np.full(len(types.text), np.nan), dtype="str")
    strings = column.values.to_numpy(dtype=object).copy()
    strings[~types.text] = None
    return pd.Series(strings, dtype="str")


def _as_float(column: _Column, types: _Types) -> Floats:
    """The numeric values as float64, NaN where missing or not a number."""
    if types.number.any() and pd.api.types.is_numeric_dtype(column.values.dtype):
        return column.values.to_numpy(dtype=np.float64, na_value=np.nan)
    result = np.full(len(types.number), np.nan)
    if types.number.any():
        values = column.values.to_numpy(dtype=object)
        for index in np.flatnonzero(types.number):
            result[index] = _to_float(values[index])
    return result


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


def _shown(value: object) -> str:
    """A value as quoted in a reason: strings in quotes, whole floats without ``.0``, long ones cut.

    An integer written as a string shows like the integer: a file may have had its integers quoted
    (``_quote_integers``) and the reason must not depend on that.
    """
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        text = value
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _reasons_with_values(prefix: str, values: pd.Series, bad: Bools) -> Objects:
    """``prefix <value>`` for the rows where ``bad`` is true (built only for those rows)."""
    reasons = np.full(len(bad), None, dtype=object)
    if bad.any():
        objects = values.to_numpy(dtype=object)
        for index in np.flatnonzero(bad):
            reasons[index] = f"{prefix} {_shown(objects[index])}"
    return reasons


def _bools(mask: pd.Series) -> Bools:
    return np.asarray(mask.to_numpy(dtype=bool, na_value=False), dtype=bool)


def _present_and_typed(column: _Column, name: str, checks: _Checks, allowed: Bools, required: bool) -> None:
    """The two checks every field shares: present when required, of an allowed type when present."""
    if required:
        checks.fail(column.missing, f"missing required field '{name}'")
    checks.fail(~column.missing & ~allowed, f"wrong type for '{name}'")


def _text_field(rows: _Rows, name: str, checks: _Checks, required: bool = True) -> pd.Series:
    """A string field; a required one must not be empty, an empty optional one counts as absent."""
    column = rows.column(name)
    types = _types(column)
    _present_and_typed(column, name, checks, types.text, required)
    text = _as_text(column, types)
    empty = _bools(text.str.strip() == "")
    if required:
        checks.fail(empty, f"empty '{name}'")
    elif empty.any():
        text = text.mask(empty)
    return text


def _number_field(rows: _Rows, name: str, checks: _Checks, required: bool = True) -> Floats:
    """A numeric field as float64 (NaN where absent); range checks are the caller's."""
    column = rows.column(name)
    types = _types(column)
    _present_and_typed(column, name, checks, types.number, required)
    return _as_float(column, types)


def _timestamp_field(rows: _Rows, checks: _Checks) -> pd.Series:
    """``ts`` as datetime64[ns, UTC]: RFC 3339 text with or without offset (naive = UTC)."""
    column = rows.column("ts")
    if pd.api.types.is_datetime64_any_dtype(column.values.dtype):
        _present_and_typed(column, "ts", checks, ~column.missing, required=True)
        stamps = pd.Series(column.values)
        zoned = stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps.dt.tz_convert("UTC")
        parsed, out_of_range = _within_ns(zoned)
    else:
        types = _types(column)
        _present_and_typed(column, "ts", checks, types.text, required=True)
        parsed, out_of_range = _parse_timestamps(_as_text(column, types))
    checks.fail(out_of_range, "timestamp out of range")
    checks.fail(_bools(parsed.isna()), "unparsable timestamp")
    return parsed


def _parse_timestamps(text: pd.Series) -> tuple[pd.Series, Bools]:
    """Parse ISO 8601 text: pyarrow's cast when every value has an offset (or none has), else pandas."""
    strings = pa.array(text, from_pandas=True)
    for zone in ("UTC", None):
        try:
            cast = strings.cast(pa.timestamp("ns", tz=zone))
        except pa.ArrowException:
            continue
        parsed = pd.Series(cast.to_pandas()).reset_index(drop=True)
        if zone is None:
            parsed = parsed.dt.tz_localize("UTC")
        return parsed.astype(UTC_NS), np.zeros(len(text), dtype=bool)
    return _within_ns(pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce"))


def _within_ns(stamps: pd.Series) -> tuple[pd.Series, Bools]:
    """UTC timestamps at nanosecond resolution, and which ones did not fit (those become NaT)."""
    out_of_range = _bools(stamps.notna() & ((stamps < _NS_MIN) | (stamps > _NS_MAX)))
    if out_of_range.any():
        stamps = stamps.mask(out_of_range)
    return stamps.astype(UTC_NS).reset_index(drop=True), out_of_range


def _identifier_field(rows: _Rows, checks: _Checks) -> pd.Series:
    """``signal_id``: a non-empty string, or an integer kept as its decimal string."""
    column = rows.column("signal_id")
    types = _types(column)
    _present_and_typed(column, "signal_id", checks, types.text | types.integer, required=True)
    ids = _as_text(column, types)
    if types.integer.any():
        if pd.api.types.is_integer_dtype(column.values.dtype):
            numbers = column.values.astype("str")
        else:
            numbers = pd.Series(
                [
                    str(int(value)) if integer else None
                    for value, integer in zip(column.values, types.integer, strict=True)
                ],
                dtype="str",
            )
        ids = ids.where(~types.integer, numbers)
    checks.fail(_bools(ids.str.strip() == ""), "empty 'signal_id'")
    return ids


def _words(column: _Column, types: _Types) -> tuple[Ints, list[str]]:
    """The string values as codes into their distinct values, so parsing runs once per distinct value."""
    return _factorize(_as_text(column, types))


def _factorize(text: pd.Series) -> tuple[Ints, list[str]]:
    """Codes (-1 for NA) and distinct values in order of appearance, hashed by pyarrow."""
    strings = pa.array(text, from_pandas=True)
    if not isinstance(strings, pa.ChunkedArray):
        strings = pa.chunked_array([strings])
    chunks = pc.dictionary_encode(strings).chunks
    if not chunks:
        return np.zeros(0, dtype=np.int64), []
    codes = np.concatenate([chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False) for chunk in chunks])
    # One memo table runs across the chunks, so the last chunk's dictionary holds every value.
    return codes.astype(np.int64), [str(word) for word in chunks[-1].dictionary.to_pylist()]


def _direction_field(rows: _Rows, checks: _Checks) -> npt.NDArray[np.int8]:
    """``direction`` as int8 ±1 from ±1 (number or text) or long/buy/short/sell in any case."""
    column = rows.column("direction")
    types = _types(column)
    _present_and_typed(column, "direction", checks, types.text | types.number, required=True)
    direction = np.zeros(len(rows), dtype=np.int8)
    numbers = _as_float(column, types)
    direction[types.number & (numbers == 1)] = 1
    direction[types.number & (numbers == -1)] = -1
    if types.text.any():
        codes, uniques = _words(column, types)
        meaning = np.array(
            [_DIRECTION_WORDS.get(word.strip().lower(), 0) for word in uniques] + [0], dtype=np.int8
        )
        direction[types.text] = meaning[codes][types.text]
    unknown = (types.text | types.number) & (direction == 0)
    checks.fail(unknown, _reasons_with_values("unknown direction", column.values, unknown & checks.ok))
    return direction


def _horizon_seconds(text: str) -> int | None:
    """Seconds of ``"30m"``/``"4h"``/``"1d"``/``"2w"`` or of an integer string; None when unparsable.

    An integer string may be negative (it is then refused as not positive, like the number would be).
    """
    text = text.strip()
    if _INTEGER_TEXT.fullmatch(text):
        return int(text)
    match = DURATION_PATTERN.match(text)
    if match is None:
        return None
    seconds = float(match.group(1)) * UNIT_SECONDS[match.group(2)]
    return int(seconds) if seconds.is_integer() else None


def _horizon_field(rows: _Rows, checks: _Checks) -> Ints:
    """``horizon`` in whole seconds (> 0, at most ``MAX_HORIZON``) from a number or a duration string."""
    column = rows.column("horizon")
    types = _types(column)
    _present_and_typed(column, "horizon", checks, types.text | types.number, required=True)
    seconds = np.zeros(len(rows), dtype=np.float64)
    numbers = _as_float(column, types)
    whole = np.isfinite(numbers) & (numbers == np.floor(numbers))
    seconds[types.number] = np.where(whole, numbers, np.nan)[types.number]
    if types.text.any():
        codes, uniques = _words(column, types)
        parsed = [_horizon_seconds(word) for word in uniques]
        meaning = np.array([np.nan if value is None else float(value) for value in parsed] + [np.nan])
        seconds[types.text] = meaning[codes][types.text]
    unparsable = (types.text | types.number) & np.isnan(seconds)
    checks.fail(unparsable, _reasons_with_values("unparsable horizon", column.values, unparsable & checks.ok))
    checks.fail(seconds <= 0, "horizon must be > 0")
    checks.fail(seconds > MAX_HORIZON, f"horizon longer than {MAX_HORIZON // (366 * 86400)} years")
    return np.where(checks.ok, seconds, 0).astype(np.int64)


def _type_is(rows: _Rows, value: str) -> Bools:
    """Rows whose ``type`` is exactly ``value``."""
    column = rows.column("type")
    return _bools(_as_text(column, _types(column)) == value)


# --------------------------------------------------------------------------------------------
# Frames


def _frame(name: str, columns: Mapping[str, Any], keep: Bools) -> pd.DataFrame:
    """Frame ``name`` from full-length columns, with only the rows in ``keep``, in documented dtypes."""
    data = {
        column: (values.array if isinstance(values, pd.Series) else values)
        for column, values in columns.items()
    }
    frame = pd.DataFrame(data, columns=list(FRAME_DTYPES[name]), copy=False)
    if not keep.all():
        frame = frame.loc[keep].reset_index(drop=True)
    return frame.astype(dict(FRAME_DTYPES[name]))


_Array = TypeVar("_Array", bound=np.ndarray[Any, Any])


def _kept(values: _Array, keep: Bools) -> _Array:
    """``values[keep]``, without a copy when every row is kept (clean data: the common case)."""
    return values if keep.all() else values[keep]  # type: ignore[return-value]


def _settle(rows: _Rows, checks: _Checks, ledger: _Ledger) -> None:
    """Book the rows ``checks`` rejected; the accepted ones are booked by the caller (duplicates)."""
    bad = ~checks.ok
    if bad.any():
        ledger.reject(rows.file[bad], rows.line[bad], checks.reasons[bad])


def _signals(rows: _Rows, ledger: _Ledger) -> pd.DataFrame:
    """Signals frame: lines of another ``type`` ignored, bad lines rejected, repeated ids rejected."""
    is_signal = rows.column("type").missing | _type_is(rows, "signal")
    ledger.ignore(rows.file[~is_signal])
    rows = rows.take(is_signal)
    checks = _Checks(len(rows))
    ts = _timestamp_field(rows, checks)
    signal_id = _identifier_field(rows, checks)
    agent = _text_field(rows, "agent", checks)
    strategy_class = _text_field(rows, "strategy_class", checks, required=False)
    symbol = _text_field(rows, "symbol", checks)
    direction = _direction_field(rows, checks)
    confidence = _number_field(rows, "confidence", checks)
    checks.fail(~((confidence >= 0) & (confidence <= 1)), "confidence outside [0, 1]")
    horizon_s = _horizon_field(rows, checks)
    notional = _number_field(rows, "notional", checks, required=False)
    given = ~rows.column("notional").missing
    checks.fail(given & ~(np.isfinite(notional) & (notional > 0)), "notional must be finite and > 0")
    _settle(rows, checks, ledger)
    frame = _frame(
        "signals",
        {
            "ts": ts,
            "signal_id": signal_id,
            "agent": agent,
            "strategy_class": strategy_class,
            "symbol": symbol,
            "direction": direction,
            "confidence": confidence,
            "horizon_s": horizon_s,
            "notional": notional,
        },
        checks.ok,
    )
    files, lines = _kept(rows.file, checks.ok), _kept(rows.line, checks.ok)
    repeated = _repeated(frame["signal_id"])
    if repeated.any():
        ledger.reject(files[repeated], lines[repeated], "duplicate signal_id")
        ledger.duplicates += int(repeated.sum())
        frame = frame.loc[~repeated].reset_index(drop=True)
    ledger.accept(_kept(files, ~repeated))
    return frame


def _repeated(values: pd.Series) -> Bools:
    """Every occurrence of a value after its first (codes are numbered in order of first appearance)."""
    codes, _ = _factorize(values)
    repeated = np.zeros(len(codes), dtype=bool)
    if len(codes) > 1:
        repeated[1:] = codes[1:] <= np.maximum.accumulate(codes)[:-1]
    return repeated


def _telemetry(rows: _Rows, ledger: _Ledger) -> dict[str, pd.DataFrame]:
    """The four telemetry frames; events of an unknown ``type`` are ignored, without one rejected."""
    untyped = rows.column("type").missing
    if untyped.any():
        ledger.reject(rows.file[untyped], rows.line[untyped], "missing required field 'type'")
    kinds = {kind: _type_is(rows, kind) for kind in _TELEMETRY_TYPES}
    known = np.logical_or.reduce(list(kinds.values()))
    ledger.ignore(rows.file[~untyped & ~known])
    return {
        "costs": _costs(rows.take(kinds["run"] | kinds["cost"]), ledger),
        "evals": _evals(rows.take(kinds["behavioral_eval"]), ledger),
        "violations": _violations(rows.take(kinds["safety_violation"]), ledger),
        "regimes": _regimes(rows.take(kinds["regime"]), ledger),
    }


def _accepted(
    name: str, rows: _Rows, checks: _Checks, ledger: _Ledger, columns: Mapping[str, Any]
) -> pd.DataFrame:
    _settle(rows, checks, ledger)
    ledger.accept(_kept(rows.file, checks.ok))
    return _frame(name, columns, checks.ok)


def _costs(rows: _Rows, ledger: _Ledger) -> pd.DataFrame:
    checks = _Checks(len(rows))
    ts = _timestamp_field(rows, checks)
    agent = _text_field(rows, "agent", checks)
    cost = _number_field(rows, "cost_usd", checks)
    checks.fail(~(np.isfinite(cost) & (cost >= 0)), "cost_usd must be finite and >= 0")
    kind = rows.column("type").values.astype("str")
    return _accepted(
        "costs", rows, checks, ledger, {"ts": ts, "agent": agent, "cost_usd": cost, "kind": kind}
    )


def _evals(rows: _Rows, ledger: _Ledger) -> pd.DataFrame:
    checks = _Checks(len(rows))
    ts = _timestamp_field(rows, checks)
    agent = _text_field(rows, "agent", checks)
    score = _number_field(rows, "score", checks)
    checks.fail(~((score >= 0) & (score <= 100)), "score outside [0, 100]")
    return _accepted("evals", rows, checks, ledger, {"ts": ts, "agent": agent, "score": score})


def _violations(rows: _Rows, ledger: _Ledger) -> pd.DataFrame:
    checks = _Checks(len(rows))
    columns = {
        "ts": _timestamp_field(rows, checks),
        "agent": _text_field(rows, "agent", checks),
        "rule": _text_field(rows, "rule", checks),
        "severity": _text_field(rows, "severity", checks, required=False),
        "detail": _text_field(rows, "detail", checks, required=False),
    }
    return _accepted("violations", rows, checks, ledger, columns)


def _regimes(rows: _Rows, ledger: _Ledger) -> pd.DataFrame:
    checks = _Checks(len(rows))
    columns = {
        "ts": _timestamp_field(rows, checks),
        "regime": _text_field(rows, "regime", checks),
        "symbol": _text_field(rows, "symbol", checks, required=False),
    }
    return _accepted("regimes", rows, checks, ledger, columns)


def _prices(rows: _Rows, ledger: _Ledger) -> pd.DataFrame:
    """Price bars sorted by ``symbol, ts``; a repeated ``(symbol, ts)`` keeps the first in file order."""
    checks = _Checks(len(rows))
    ts = _timestamp_field(rows, checks)
    symbol = _text_field(rows, "symbol", checks)
    price = _number_field(rows, "price", checks)
    checks.fail(~(np.isfinite(price) & (price > 0)), "price must be finite and > 0")
    _settle(rows, checks, ledger)
    frame = _frame("prices", {"ts": ts, "symbol": symbol, "price": price}, checks.ok)
    files, lines = _kept(rows.file, checks.ok), _kept(rows.line, checks.ok)
    order, repeated = _bar_order(frame)
    if order is not None:
        frame = frame.take(order).reset_index(drop=True)
        files, lines = files[order], lines[order]
    if repeated.any():
        ledger.reject(files[repeated], lines[repeated], "duplicate price bar")
        frame = frame.loc[~repeated].reset_index(drop=True)
    ledger.accept(_kept(files, ~repeated))
    return frame


def _bar_order(frame: pd.DataFrame) -> tuple[Ints | None, Bools]:
    """The stable order by ``symbol, ts`` (None when already sorted) and the repeated bars in it.

    Price files are usually sorted by time or by symbol then time, so the cheap cases come first.
    """
    codes, names = _factorize(frame["symbol"])
    rank = np.empty(len(names), dtype=np.int64)
    rank[np.argsort(np.asarray(names, dtype=object), kind="stable")] = np.arange(len(names))
    smallest = np.int16 if len(names) < 2**15 else np.int64  # lets numpy's stable argsort use radix sort
    symbols = rank[codes].astype(smallest)
    stamps = np.asarray(frame["ts"].array.asi8, dtype=np.int64)
    order: Ints | None = None
    if not _sorted_by(symbols, stamps):
        if len(stamps) < 2 or bool(np.all(stamps[1:] >= stamps[:-1])):
            order = np.argsort(symbols, kind="stable").astype(np.int64)
        else:
            order = np.lexsort((stamps, symbols)).astype(np.int64)
        symbols, stamps = symbols[order], stamps[order]
    repeated = np.zeros(len(stamps), dtype=bool)
    repeated[1:] = (symbols[1:] == symbols[:-1]) & (stamps[1:] == stamps[:-1])
    return order, repeated


def _sorted_by(major: npt.NDArray[Any], minor: Ints) -> bool:
    """Whether rows are ordered by ``major`` then ``minor`` (``major`` small ints: diffs stay small)."""
    if len(major) < 2:
        return True
    step = np.diff(major)
    return bool(np.all(step >= 0) and np.all((step > 0) | (minor[1:] >= minor[:-1])))


# --------------------------------------------------------------------------------------------
# Data quality


class _Ledger:
    """Accounts for every line of every file: accepted, rejected (where and why) or ignored.

    Counts arrive as arrays of file ids (one per row) and are only tallied in :meth:`report`, so
    booking a million accepted rows costs one ``bincount``.
    """

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.lines: list[int] = []
        self.blank: list[int] = []
        self.duplicates = 0
        self._accepted: list[FileIds] = []
        self._ignored: list[FileIds] = []
        self._rejected: list[tuple[FileIds, Ints, Objects | str]] = []

    def add_file(self, path: str) -> int:
        self.paths.append(path)
        self.lines.append(0)
        self.blank.append(0)
        return len(self.paths) - 1

    def set_lines(self, file_id: int, lines: int) -> None:
        self.lines[file_id] = lines

    def ignore_lines(self, file_id: int, count: int) -> None:
        self.blank[file_id] += count

    def ignore(self, files: FileIds) -> None:
        self._ignored.append(files)

    def accept(self, files: FileIds) -> None:
        self._accepted.append(files)

    def reject(self, files: FileIds, lines: Ints, reasons: Objects | str) -> None:
        self._rejected.append((files, lines, reasons))

    def reject_each(self, file_id: int, lines: Ints, reasons: Sequence[str]) -> None:
        if len(lines):
            self.reject(
                np.full(len(lines), file_id, dtype=np.int32), lines, np.asarray(reasons, dtype=object)
            )

    def _count(self, parts: Sequence[FileIds]) -> Ints:
        counts = np.zeros(len(self.paths), dtype=np.int64)
        for files in parts:
            counts += np.bincount(files, minlength=len(self.paths)).astype(np.int64)
        return counts

    def report(self) -> DataQuality:
        """The ``data_quality`` section: per-file counts and the first rejected lines in file/line order."""
        files = np.concatenate([part[0] for part in self._rejected] + [np.zeros(0, dtype=np.int32)])
        lines = np.concatenate([part[1] for part in self._rejected] + [np.zeros(0, dtype=np.int64)])
        reasons = np.concatenate(
            [
                np.full(len(part[0]), part[2], dtype=object) if isinstance(part[2], str) else part[2]
                for part in self._rejected
            ]
            + [np.zeros(0, dtype=object)]
        )
        order = np.lexsort((lines, files))[:MAX_REJECTED_LISTED]
        rejected = self._count([part[0] for part in self._rejected])
        accepted = self._count(self._accepted)
        ignored = self._count(self._ignored) + np.asarray(self.blank, dtype=np.int64)
        return DataQuality(
            files=[
                FileQuality(
                    path=path,
                    lines=self.lines[index],
                    accepted=int(accepted[index]),
                    rejected=int(rejected[index]),
                    ignored=int(ignored[index]),
                )
                for index, path in enumerate(self.paths)
            ],
            rejected=[
                RejectedLine(file=self.paths[int(files[i])], line=int(lines[i]), reason=str(reasons[i]))
                for i in order
            ],
            rejected_total=len(files),
            duplicates=self.duplicates,
        )
