"""Rows as the readers produce them and the checks consume them, before any validation.

Every reader (``ingest.jsonl``, ``ingest.tables``) turns a file into :class:`Rows`: one
:class:`Column` per known field, keeping the reader's dtype, plus the file id and line number of
each row so a rejection can always name its line. :class:`InputSpec` says which fields an input
may carry and how each is read (:class:`Kind`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from metasup.model.timestamps import NAT_NS, UTC_NS

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
FileIds = npt.NDArray[np.int32]
Floats = npt.NDArray[np.float64]
Objects = npt.NDArray[np.object_]


class Kind(Enum):
    """How a field is stored by the readers and which checks interpret it."""

    TIMESTAMP = "timestamp"
    TEXT = "text"
    NUMBER = "number"
    FLEXIBLE = "flexible"  # a string or a number, both meaningful (signal_id, direction, horizon)


@dataclass(frozen=True)
class InputSpec:
    """The fields one artifact may carry, and the columns a csv/parquet file of it must have."""

    fields: Mapping[str, Kind]
    required_columns: tuple[str, ...]
    null_apart: tuple[str, ...] = ()
    """Fields whose JSON ``null`` means something else than leaving the field out (``cost_usd``: a
    ``run`` of unknown cost); the JSON Lines reader tells the two apart (:attr:`Column.null`)."""


@dataclass(frozen=True)
class Column:
    """One field of many rows as a reader produced it.

    ``values`` keeps the reader's dtype (object when types were mixed, e.g. after a per-line read);
    ``missing`` is kept apart because a float column cannot tell an absent value from a NaN one.
    """

    values: pd.Series
    missing: Bools
    null: Bools | None = None
    """Where a missing value was written as JSON ``null`` rather than left out, for the fields of
    :attr:`InputSpec.null_apart` read from JSON Lines; ``None`` when no such row is known."""

    def kept(self, keep: Bools) -> Column:
        """The values where ``keep`` is true, in the same order."""
        null = None if self.null is None else self.null[keep]
        # On the array, not the Series: a Series would first mask its index too (a third of the time).
        return Column(pd.Series(self.values.array[keep], copy=False), self.missing[keep], null)

    def select(self, positions: Ints) -> Column:
        """The values at ``positions``, in that order."""
        null = None if self.null is None else self.null[positions]
        return Column(self.values.iloc[positions].reset_index(drop=True), self.missing[positions], null)


@dataclass(frozen=True)
class Rows:
    """Rows of one input (all its files), with the file id and line number that locate each row."""

    file: FileIds
    line: Ints
    columns: Mapping[str, Column]

    @classmethod
    def of_file(cls, file_id: int, lines: Ints, columns: Mapping[str, Column]) -> Rows:
        """Rows all read from file ``file_id``, at ``lines``."""
        return cls(np.full(len(lines), file_id, dtype=np.int32), lines, columns)

    def __len__(self) -> int:
        return len(self.line)

    def column(self, name: str) -> Column:
        """The field ``name``; a field no row had is a column of missing values."""
        found = self.columns.get(name)
        return found if found is not None else _absent_column(len(self))

    def take(self, keep: Bools, fields: Collection[str] | None = None) -> Rows:
        """Only the rows where ``keep`` is true, in the same order; only ``fields`` when given.

        A reader that uses a few fields of many (one telemetry frame) asks for those alone: the
        others would be copied row by row for nothing (a field left out reads as absent).
        """
        rows = self if fields is None else Rows(self.file, self.line, self._only(fields))
        if keep.all():
            return rows
        # A mask, not positions: arrow filters strings in one pass (a take resolves each index).
        return Rows(rows.file[keep], rows.line[keep], {n: c.kept(keep) for n, c in rows.columns.items()})

    def _only(self, fields: Collection[str]) -> dict[str, Column]:
        return {name: column for name, column in self.columns.items() if name in fields}

    def in_line_order(self) -> Rows:
        """The rows sorted by line (rows of one file only, where line numbers are unique)."""
        if len(self) < 2 or bool(np.all(self.line[1:] > self.line[:-1])):
            return self
        return self.select(np.argsort(self.line, kind="stable").astype(np.int64))

    def in_file(self, file_id: int) -> Rows:
        """The same rows, read from file ``file_id`` (rows read before their file was known)."""
        return Rows(np.full(len(self), file_id, dtype=np.int32), self.line, self.columns)

    def shifted(self, lines: int) -> Rows:
        """The same rows, their line numbers ``lines`` further on (a piece read apart from its file)."""
        return self if not lines else Rows(self.file, self.line + lines, self.columns)

    def select(self, positions: Ints) -> Rows:
        """The rows at ``positions``, in that order."""
        return Rows(
            file=self.file[positions],
            line=self.line[positions],
            columns={name: column.select(positions) for name, column in self.columns.items()},
        )


def _absent_column(rows: int) -> Column:
    return Column(pd.Series(np.full(rows, np.nan)), np.ones(rows, dtype=bool))


def no_rows() -> Rows:
    return Rows(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64), {})


def concat_rows(parts: Sequence[Rows]) -> Rows:
    """Rows of several files (or pieces of one file) one after the other."""
    parts = [part for part in parts if len(part)]
    if not parts:
        return no_rows()
    if len(parts) == 1:
        return parts[0]
    names = list(dict.fromkeys(name for part in parts for name in part.columns))
    return Rows(
        file=np.concatenate([part.file for part in parts]),
        line=np.concatenate([part.line for part in parts]),
        columns={name: _concat_columns([part.columns.get(name) for part in parts], parts) for name in names},
    )


def concat_alike(pieces: Iterable[Rows]) -> Iterator[Rows]:
    """``pieces`` joined in runs of consecutive pieces whose fields have the same dtypes: the
    files of a partitioned Parquet input are checked as one, at the cost of one check (a check per
    file cost ~1 ms each, 0.75 s for two years of daily files), while a file whose ``ts`` was
    written in another unit, zone or as text starts a run of its own — joined, the column would
    become mixed objects that no check can read (``frames.prices_frame``)."""
    run: list[Rows] = []
    for piece in pieces:
        if run and _dtypes(piece) != _dtypes(run[-1]):
            yield concat_rows(run)
            run = []
        run.append(piece)
    if run:
        yield concat_rows(run)


def _dtypes(rows: Rows) -> dict[str, object]:
    return {name: column.values.dtype for name, column in rows.columns.items()}


def _concat_columns(columns: Sequence[Column | None], parts: Sequence[Rows]) -> Column:
    """One field across pieces; a piece without it gets missing values of the others' dtype."""
    template = next(column.values for column in columns if column is not None)
    filled = [
        column
        if column is not None
        else Column(template.iloc[:0].reindex(range(len(part))), np.ones(len(part), dtype=bool))
        for column, part in zip(columns, parts, strict=True)
    ]
    null = None
    if any(column.null is not None for column in filled):
        null = np.concatenate(
            [np.zeros(len(c.missing), dtype=bool) if c.null is None else c.null for c in filled]
        )
    return Column(
        pd.concat([column.values for column in filled], ignore_index=True),
        np.concatenate([column.missing for column in filled]),
        null,
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


_UTC_NS_ARROW: Final = pa.timestamp("ns", tz="UTC")


def _column_from_arrow(array: pa.ChunkedArray) -> Column:
    """An arrow column as pandas without losing integers to floats or nulls to NaN.

    Strings become pandas ``str`` sharing pyarrow's buffers (``to_pandas`` would copy them).
    """
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    if pa.types.is_decimal(array.type):
        array = array.cast(pa.float64())
    if array.null_count == 0:  # the usual case: zeroed pages cost nothing until read
        missing = np.zeros(len(array), dtype=bool)
    else:
        missing = np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return Column(pd.Series(pd.array(array, dtype="str")), missing)
    if array.type == _UTC_NS_ARROW and array.null_count == 0:
        return Column(utc_series(array), missing)
    values = array.to_pandas(types_mapper=_NULLABLE_INTEGERS.get)
    return Column(values.reset_index(drop=True), missing)


def utc_series(stamps: pa.Array | pa.ChunkedArray) -> pd.Series:
    """Arrow nanosecond timestamps (UTC, or naive read as UTC) as ``datetime64[ns, UTC]``; null → NaT.

    What ``to_pandas`` (and ``tz_localize`` for naive ones) gives, without their passes over every
    value: the epoch nanoseconds are wrapped as they are (figures: ``docs/performance.md``).
    """
    epoch_ns = np.asarray(stamps.cast(pa.int64()).fill_null(NAT_NS).to_numpy(), dtype=np.int64)
    return pd.Series(pd.DatetimeIndex(epoch_ns, dtype=UTC_NS, copy=False).array, copy=False)


def rows_from_table(table: pa.Table, file_id: int, lines: Ints, fields: Mapping[str, Kind]) -> Rows:
    """The known ``fields`` of a pyarrow table read from file ``file_id``, its rows at ``lines``."""
    names = [name for name in fields if name in table.column_names]
    return Rows.of_file(file_id, lines, {name: _column_from_arrow(table.column(name)) for name in names})


def object_column(values: list[object]) -> Column:
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
    return Column(
        pd.Series(values, dtype=object),
        np.fromiter((value is None for value in values), dtype=bool, count=len(values)),
    )
