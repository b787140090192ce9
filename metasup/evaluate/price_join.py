"""The per-symbol price join behind ``reconcile`` (SPEC §3.1): bar table, searches, benchmark.

Bars are laid out once as a table grouped by symbol code and time-sorted within a symbol
(:class:`BarTable`); signals are grouped the same way (:class:`SignalsBySymbol`), and each leg is
one ``np.searchsorted`` per symbol over that symbol's bars, so Python loops over symbols, never
over signals or bars. Times are int64 nanoseconds (UTC) throughout, ``NaT`` as ``model.timestamps.NAT_NS``.

This module finds the bars, by the rules of SPEC §3.1; ``reconcile`` turns them into status and
returns. :func:`in_halves` runs that per-slice work over two halves of the signals in two threads.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metasup.evaluate.columns import BoolArray, FloatArray, IntArray, is_arrow_text
from metasup.model.timestamps import NAT_NS, UTC_NS, epoch_ns

_NO_BAR: Final = -1
"""Bar row of a signal for which no bar qualifies."""
_NANOS_PER_SECOND: Final = 1_000_000_000

ArrayT = TypeVar("ArrayT", IntArray, FloatArray, BoolArray)


@dataclass(frozen=True)
class BarTable:
    """Bars laid out for per-symbol binary search: grouped by symbol code, sorted by time.

    The bars of code ``c`` are ``ts_ns[bounds[c]:bounds[c + 1]]`` (int64 ns, so both sides of a
    search always share one unit and time zone) with their prices at the same positions. A
    search returns positions in this table, so every matched price is a real bar's price.
    """

    ts_ns: IntArray
    price: FloatArray
    bounds: IntArray


@dataclass(frozen=True)
class SignalsBySymbol:
    """The signals whose symbol has bars, grouped by symbol code and by time within one symbol.

    Both legs are searched in this order: each symbol's bars (a few kB to a few hundred kB) are
    searched, and their times and prices gathered, while they are in the CPU cache, instead of
    jumping across millions of bars once per signal. ``spans`` holds, per symbol present, the
    signals' slice of ``order`` and the bars' slice of the table; ``bar_end`` is where each
    grouped signal's symbol's bars end.
    """

    count: int
    order: IntArray
    bar_end: IntArray
    spans: list[tuple[int, int, int, int]]

    @classmethod
    def of(cls, codes: IntArray, bars: BarTable, keys_ns: IntArray) -> SignalsBySymbol:
        """Grouped by code and, within a code, by ``keys_ns``: sorted keys make the searches cheap."""
        n_codes = len(bars.bounds) - 1
        by_key = np.argsort(keys_ns)  # numpy's vectorized quicksort; ties may land in any order
        small = codes[by_key].astype(np.int16) if n_codes < 2**15 else codes[by_key]  # int16: radix sort
        order = by_key[np.argsort(small, kind="stable")].astype(np.int64, copy=False)
        grouped_codes = codes[order]
        edges = np.searchsorted(grouped_codes, np.arange(-1, n_codes + 1), side="left")
        order, grouped_codes = order[edges[1] :], grouped_codes[edges[1] :]  # code -1: no bar at all
        edges = edges[1:] - edges[1]
        present = np.flatnonzero(edges[1:] > edges[:-1])
        spans = [
            (int(edges[code]), int(edges[code + 1]), int(bars.bounds[code]), int(bars.bounds[code + 1]))
            for code in present.tolist()
        ]
        return cls(len(codes), order, bars.bounds[grouped_codes + 1], spans)

    def first_bars(
        self, keys_ns: IntArray, bars: BarTable, tolerance_ns: int, *, include_exact: bool
    ) -> IntArray:
        """Table position of the first bar of each grouped signal's symbol after its key, in tolerance.

        ``keys_ns`` is in grouped order. ``include_exact`` says whether a bar stamped exactly at
        the key qualifies (yes for the exit and the benchmark, no for the entry). A ``NaT`` key
        or no bar within the tolerance gives ``_NO_BAR``. One ``np.searchsorted`` per symbol:
        Python loops over symbols, never over signals or bars.
        """
        if len(bars.ts_ns) == 0:
            return np.full(len(keys_ns), _NO_BAR, dtype=np.int64)
        side: Literal["left", "right"] = "left" if include_exact else "right"
        positions = np.empty(len(keys_ns), dtype=np.int64)
        for start, end, low, high in self.spans:
            positions[start:end] = np.searchsorted(bars.ts_ns[low:high], keys_ns[start:end], side=side)
            positions[start:end] += low
        inside = positions < self.bar_end
        safe = np.where(inside, positions, 0)
        found = inside & (keys_ns != NAT_NS) & (bars.ts_ns.take(safe) - keys_ns <= tolerance_ns)
        return np.where(found, safe, _NO_BAR)

    def spread(self, values: ArrayT, fill: float) -> ArrayT:
        """Values in grouped order back in signal order; ``fill`` for signals without bars."""
        result = np.full(self.count, fill, dtype=values.dtype)
        result[self.order] = values
        return result


@dataclass(frozen=True)
class Legs:
    """Entry and exit bars of each signal, positionally aligned with the signals (int64 ns times)."""

    signal_ts_ns: IntArray
    entry_ts_ns: IntArray
    entry_price: FloatArray
    target_ts_ns: IntArray
    exit_ts_ns: IntArray
    exit_price: FloatArray

    @property
    def has_entry(self) -> BoolArray:
        """An entry bar was found; only such signals have a target and may get an exit."""
        return np.asarray(self.entry_ts_ns != NAT_NS, dtype=np.bool_)

    @property
    def realized(self) -> BoolArray:
        """Both bars found; an exit is only ever looked for once there is an entry."""
        return np.asarray(self.exit_ts_ns != NAT_NS, dtype=np.bool_)


_PARALLEL_ROWS: Final = 200_000
"""From this many signals on, the two halves are joined in two threads."""


def in_halves(count: int, join: Callable[[slice], int]) -> int:
    """``join`` over rows ``0..count``, in two halves in two threads from ``_PARALLEL_ROWS`` on.

    Every signal is joined on its own, so the halves are independent (numpy releases the GIL).
    Returns the sum of what ``join`` returns for each slice.
    """
    slices = _row_slices(count)
    if len(slices) == 1:
        return join(slices[0])
    with ThreadPoolExecutor(max_workers=len(slices)) as pool:
        return sum(pool.map(join, slices))


def _row_slices(count: int) -> list[slice]:
    if count < _PARALLEL_ROWS:
        return [slice(0, count)]
    return [slice(0, count // 2), slice(count // 2, count)]


def match_legs(
    signal_ts_ns: IntArray, horizon_ns: IntArray, codes: IntArray, table: BarTable, tolerance_ns: int
) -> Legs:
    """Entry bar strictly after ``ts``, exit bar at or after ``entry_ts + horizon``, both in tolerance."""
    grouped = SignalsBySymbol.of(codes, table, signal_ts_ns)
    entry_at = grouped.first_bars(signal_ts_ns[grouped.order], table, tolerance_ns, include_exact=False)
    entry_ts_ns = _take_or_fill(table.ts_ns, entry_at, NAT_NS)
    target_ts_ns = _shift_ns(entry_ts_ns, horizon_ns[grouped.order])
    exit_at = grouped.first_bars(target_ts_ns, table, tolerance_ns, include_exact=True)
    return Legs(
        signal_ts_ns=signal_ts_ns,
        entry_ts_ns=grouped.spread(entry_ts_ns, NAT_NS),
        entry_price=grouped.spread(_take_or_fill(table.price, entry_at, np.nan), np.nan),
        target_ts_ns=grouped.spread(target_ts_ns, NAT_NS),
        exit_ts_ns=grouped.spread(_take_or_fill(table.ts_ns, exit_at, NAT_NS), NAT_NS),
        exit_price=grouped.spread(_take_or_fill(table.price, exit_at, np.nan), np.nan),
    )


# --- nanosecond helpers -------------------------------------------------------------------


def to_nanoseconds(duration: timedelta) -> int:
    """A duration as integer nanoseconds, the unit of every join key."""
    return int(pd.Timedelta(duration).as_unit("ns").value)


def ns_to_timestamps(values: IntArray) -> pd.arrays.DatetimeArray:
    """The inverse of ``model.timestamps.epoch_ns``: ``datetime64[ns, UTC]`` with ``NaT`` kept."""
    # Epoch ns: no tz_localize pass; the arrays are the caller's own, so they are not copied.
    return pd.DatetimeIndex(values, dtype=UTC_NS, copy=False).array


def horizon_to_ns(horizon_s: pd.Series) -> IntArray:
    """Holding periods (int seconds) as int64 nanoseconds."""
    return np.asarray(horizon_s.to_numpy(dtype=np.int64) * _NANOS_PER_SECOND, dtype=np.int64)


def _shift_ns(stamps_ns: IntArray, offsets_ns: IntArray) -> IntArray:
    """``stamps + offsets``, keeping ``NaT`` as ``NaT`` (no entry bar → no target)."""
    return np.where(stamps_ns == NAT_NS, NAT_NS, stamps_ns + offsets_ns)


# --- bars and joins -----------------------------------------------------------------------


def bar_table(bars: pd.DataFrame) -> tuple[BarTable, pd.Index]:
    """The bars' table for the joins and the symbols its codes number (as ``pd.factorize`` would).

    The loader delivers bars grouped by symbol and time-sorted within each: then a symbol's code
    is its run's number and its bounds are where its run starts, found by comparing neighbours,
    without hashing millions of strings or materializing a code per bar. Otherwise (a symbol in
    several runs, missing values, not arrow strings) ``pd.factorize`` numbers them.
    """
    runs = _symbol_runs(bars["symbol"])
    if runs is None:
        codes, symbols = pd.factorize(bars["symbol"])
        return _build_bar_table(bars, np.asarray(codes, dtype=np.int64), len(symbols)), symbols
    starts, symbols = runs
    ts_ns = epoch_ns(bars["ts"])
    if bool(np.all(starts[1:] | (ts_ns[1:] >= ts_ns[:-1]))):
        bounds = np.append(np.flatnonzero(starts), len(starts)).astype(np.int64, copy=False)
        return BarTable(ts_ns=ts_ns, price=bars["price"].to_numpy(dtype=np.float64), bounds=bounds), symbols
    codes = np.cumsum(starts, dtype=np.int64) - 1
    return _build_bar_table(bars, codes, len(symbols)), symbols


def _symbol_runs(symbols: pd.Series) -> tuple[BoolArray, pd.Index] | None:
    """Where each run of equal symbols starts and the runs' symbols, if no symbol has two runs."""
    if len(symbols) < 2 or not is_arrow_text(symbols.dtype):
        return None
    strings = pa.array(symbols.array)
    if strings.null_count:
        return None
    changed = pc.not_equal(strings.slice(1), strings.slice(0, len(strings) - 1))
    starts = np.ones(len(strings), dtype=np.bool_)
    starts[1:] = np.asarray(changed.to_numpy(zero_copy_only=False), dtype=np.bool_)
    heads = strings.filter(pa.array(starts))
    if pc.count_distinct(heads).as_py() != len(heads):
        return None
    return starts, pd.Index(pd.array(heads, dtype="str"))


def symbol_codes(symbols: pd.Series, universe: pd.Index) -> IntArray:
    """Integer code of each symbol in ``universe`` (``-1`` when it has no bar at all).

    Integer codes let the bars be grouped and the signals bucketed without comparing strings.
    """
    if is_arrow_text(symbols.dtype) and is_arrow_text(universe.dtype):
        # pyarrow hashes the arrow strings in place; ``get_indexer`` would first build Python objects.
        found = pc.index_in(pa.array(symbols.array), value_set=pa.array(universe.array))
        return np.asarray(found.fill_null(_NO_BAR).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.asarray(universe.get_indexer(pd.Index(symbols)), dtype=np.int64)


def _build_bar_table(bars: pd.DataFrame, codes: IntArray, n_codes: int) -> BarTable:
    """Group bars by symbol code, time-sorted within each; free when already in that order.

    The loader delivers prices sorted by symbol then time, and ``pd.factorize`` numbers symbols
    in order of appearance, so the usual case needs one O(n) check and no sort of the bars.
    """
    ts_ns = epoch_ns(bars["ts"])
    price = bars["price"].to_numpy(dtype=np.float64)
    same = codes[1:] == codes[:-1]  # boolean steps: no int64 temporaries over millions of bars
    if not bool(np.all((codes[1:] >= codes[:-1]) & (~same | (ts_ns[1:] >= ts_ns[:-1])))):
        order = np.lexsort((ts_ns, codes))
        codes, ts_ns, price = codes[order], ts_ns[order], price[order]
    bounds = np.searchsorted(codes, np.arange(n_codes + 1), side="left").astype(np.int64, copy=False)
    return BarTable(ts_ns=ts_ns, price=price, bounds=bounds)


def _take_or_fill(values: ArrayT, positions: IntArray, fill: float) -> ArrayT:
    """``values[positions]``, with ``fill`` where a position is ``_NO_BAR``."""
    if len(values) == 0:
        return np.full(len(positions), fill, dtype=values.dtype)
    # One gather (``_NO_BAR`` = -1 takes the last value) and one select: no boolean-mask copies.
    return np.where(positions == _NO_BAR, fill, values.take(positions)).astype(values.dtype, copy=False)


# --- benchmark ---------------------------------------------------------------------------


def benchmark_table(table: BarTable, symbols: pd.Index, benchmark: str) -> BarTable:
    """The benchmark's bars alone, as a table of one symbol (empty when it has no bar)."""
    found = np.flatnonzero(np.asarray(symbols == benchmark, dtype=np.bool_))
    low, high = (int(table.bounds[found[0]]), int(table.bounds[found[0] + 1])) if len(found) else (0, 0)
    return BarTable(
        ts_ns=table.ts_ns[low:high], price=table.price[low:high], bounds=np.array([0, high - low], np.int64)
    )


def benchmark_returns(table: BarTable, legs: Legs, tolerance_ns: int) -> tuple[FloatArray, BoolArray]:
    """``b = B_exit / B_entry − 1`` per realized signal and whether both benchmark bars were found.

    ``B_entry``/``B_exit`` are the first benchmark bars at or after the signal's entry/exit bar
    times, within the tolerance. A missing one gives ``b = 0``.
    """
    grouped = SignalsBySymbol.of(np.zeros(len(legs.entry_ts_ns), dtype=np.int64), table, legs.entry_ts_ns)
    realized = legs.realized[grouped.order]
    entry_at = grouped.first_bars(
        np.where(realized, legs.entry_ts_ns[grouped.order], NAT_NS), table, tolerance_ns, include_exact=True
    )
    exit_at = grouped.first_bars(
        np.where(realized, legs.exit_ts_ns[grouped.order], NAT_NS), table, tolerance_ns, include_exact=True
    )
    found = (entry_at != _NO_BAR) & (exit_at != _NO_BAR)
    ret = _take_or_fill(table.price, exit_at, np.nan) / _take_or_fill(table.price, entry_at, np.nan) - 1.0
    return grouped.spread(np.where(found, ret, 0.0), 0.0), grouped.spread(found, False)
