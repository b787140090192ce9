"""The order price bars are kept in: by symbol, then time; which bars repeat an earlier one.

``ingest.frames.prices_frame`` asks :func:`bar_order` for it. Price files are usually sorted by
time, or grouped by symbol (in name order or not, the benchmark often first): the cheap cases are
recognized first, by comparing neighbours, so most files never hash millions of strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metasup.ingest.fastpath import factorize
from metasup.ingest.rows import Bools, Ints


@dataclass(frozen=True)
class BarOrder:
    """A new order of the bars: any permutation, or whole runs of rows moved (``spans``).

    Moving runs copies each column in a few hundred slices (memory speed); a permutation is a
    take. Either way column by column on the arrays: no index to take, no bounds to check.
    """

    permutation: Ints | None = None
    spans: tuple[tuple[int, int], ...] = ()
    """``(start, stop)`` of each run of rows, in their new order, when runs are moved whole."""

    @property
    def positions(self) -> Ints:
        """Where each row of the new order was (only the repeated bars' are ever looked up)."""
        if self.permutation is not None:
            return self.permutation
        return np.concatenate([np.arange(start, stop, dtype=np.int64) for start, stop in self.spans])

    def moved(self, values: Bools) -> Bools:
        """``values``, one per row, in the new order."""
        if self.permutation is not None:
            return values[self.permutation]
        return np.concatenate([values[start:stop] for start, stop in self.spans])

    def applied(self, frame: pd.DataFrame) -> pd.DataFrame:
        columns = {name: self._column(frame[name].array) for name in frame.columns}
        return pd.DataFrame(columns, copy=False)

    def _column(self, values: Any) -> Any:
        if self.permutation is not None:
            return values.take(self.permutation)
        joined = type(values)._concat_same_type([values[start:stop] for start, stop in self.spans])
        if isinstance(joined.dtype, pd.StringDtype):  # one chunk again, not one per symbol
            return pd.array(pa.array(joined).combine_chunks(), dtype=joined.dtype)
        return joined


def bar_order(frame: pd.DataFrame) -> tuple[BarOrder | None, Bools]:
    """The stable order by ``symbol, ts`` (None when already sorted) and the repeated bars in it.

    Price files are usually sorted by time or by symbol then time, so the cheap cases come first:
    bars grouped by symbol (one run per symbol, times ascending in each) are recognized by
    comparing neighbours, without hashing millions of strings; their runs are put in name order.
    """
    stamps = np.asarray(frame["ts"].array.asi8, dtype=np.int64)
    runs = _symbol_runs(frame["symbol"])
    if runs is not None and bool(np.all(runs.starts[1:] | (stamps[1:] >= stamps[:-1]))):
        repeated = np.zeros(len(stamps), dtype=bool)
        repeated[1:] = ~runs.starts[1:] & (stamps[1:] == stamps[:-1])
        by_name = runs.in_name_order()
        return by_name, (repeated if by_name is None else by_name.moved(repeated))
    codes, names = factorize(frame["symbol"])
    rank = np.empty(len(names), dtype=np.int64)
    rank[np.argsort(np.asarray(names, dtype=object), kind="stable")] = np.arange(len(names))
    smallest = np.int16 if len(names) < 2**15 else np.int64  # lets numpy's stable argsort use radix sort
    symbols = rank[codes].astype(smallest)
    order: Ints | None = None
    if not _sorted_by(symbols, stamps):
        if len(stamps) < 2 or bool(np.all(stamps[1:] >= stamps[:-1])):
            order = np.argsort(symbols, kind="stable").astype(np.int64)
        else:
            order = np.lexsort((stamps, symbols)).astype(np.int64)
        symbols, stamps = symbols[order], stamps[order]
    repeated = np.zeros(len(stamps), dtype=bool)
    repeated[1:] = (symbols[1:] == symbols[:-1]) & (stamps[1:] == stamps[:-1])
    return (None if order is None else BarOrder(permutation=order)), repeated


def _sorted_by(major: npt.NDArray[Any], minor: Ints) -> bool:
    """Whether rows are ordered by ``major`` then ``minor`` (``major`` small ints: diffs stay small)."""
    if len(major) < 2:
        return True
    step = np.diff(major)
    return bool(np.all(step >= 0) and np.all((step > 0) | (minor[1:] >= minor[:-1])))


@dataclass(frozen=True)
class _SymbolRuns:
    """Rows grouped by symbol, one run per symbol: where each run starts, and its symbol."""

    starts: Bools
    heads: pa.Array

    def in_name_order(self) -> BarOrder | None:
        """The runs in name order, each kept whole (``None``: they already are)."""
        names = np.asarray(self.heads.to_numpy(zero_copy_only=False), dtype=object)
        rank = np.argsort(names, kind="stable")
        if bool(np.all(rank[1:] > rank[:-1])):
            return None
        first = np.flatnonzero(self.starts)
        stop = np.append(first[1:], len(self.starts))
        return BarOrder(spans=tuple((int(first[run]), int(stop[run])) for run in rank))


def _symbol_runs(symbols: pd.Series) -> _SymbolRuns | None:
    """The runs of equal symbols, if every symbol has just one; ``None`` otherwise.

    Neighbours are compared by arrow (no hashing); only the run heads, one per symbol, are checked
    for repeats and sorted. ``None`` as well for non-arrow or missing values. Arrow compares UTF-8
    bytes, which orders like Python's code-point comparison.
    """
    if (
        len(symbols) < 2
        or not isinstance(symbols.dtype, pd.StringDtype)
        or symbols.dtype.storage != "pyarrow"
    ):
        return None
    strings = pa.array(symbols.array)
    if strings.null_count:
        return None
    changed = pc.not_equal(strings.slice(1), strings.slice(0, len(strings) - 1))
    starts = np.ones(len(strings), dtype=bool)
    starts[1:] = np.asarray(changed.to_numpy(zero_copy_only=False), dtype=bool)
    heads = strings.filter(pa.array(starts))
    if isinstance(heads, pa.ChunkedArray):
        heads = heads.combine_chunks()
    if pc.count_distinct(heads).as_py() != len(heads):
        return None
    return _SymbolRuns(starts, heads)
