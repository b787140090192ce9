"""Signal → market price join and realized PnL (SPEC §3.1): no lookahead, no forward-fill.

Every signal is matched to *actual* bars of its symbol with two forward as-of searches
(``np.searchsorted`` over each symbol's time-sorted bars — the same answer as a forward
``merge_asof`` by symbol, without re-sorting millions of bars by time):

* entry: the first bar strictly after the signal's ``ts`` (a bar stamped exactly at ``ts``
  closed when the signal was emitted and could not have been traded), at most ``max_delay`` later;
* exit: the first bar at or after ``target = entry_ts + horizon``, at most ``max_delay`` later.

A matched price is always a real bar's price, found by its row in the bar table, never an
interpolated or carried-forward one: a gap in prices longer than ``max_delay`` is ``no_price``.
Nothing after ``as_of`` exists: later signals are dropped and later bars are never looked at.

Decisions where SPEC §3.1 and ``docs/data-model.md`` are silent:

* ``status`` is pandas' string dtype (``str``), like every text column of the data model.
* Every timestamp of the output, the input ``ts`` included, is ``datetime64[ns, UTC]``.
* The output keeps the input's index and row order (minus signals after ``as_of``); result
  columns already present in the input are recomputed, not trusted.
* A signal on a symbol that has no bar at all is treated like any other missing bar
  (``open`` while its tolerance runs, then ``no_price``).
* ``benchmark_missing`` counts realized signals only: ``b`` is only defined for them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.extensions import ExtensionArray

from metasup.config import ReconcileConfig

REALIZED: Final = "realized"
OPEN: Final = "open"
NO_PRICE: Final = "no_price"
STATUSES: Final[tuple[str, ...]] = (REALIZED, OPEN, NO_PRICE)

RESULT_COLUMNS: Final[tuple[str, ...]] = (
    "entry_ts",
    "entry_price",
    "target_ts",
    "exit_ts",
    "exit_price",
    "status",
    "ret",
    "fee",
    "pnl",
    "bench_ret",
    "excess",
)
"""Columns ``reconcile`` appends to the signals, in this order (``docs/data-model.md``)."""

_TIMESTAMP_DTYPE: Final = pd.DatetimeTZDtype(unit="ns", tz="UTC")
_NAT_NS: Final = np.iinfo(np.int64).min
"""``NaT`` as int64 nanoseconds (numpy's and pandas' own sentinel)."""
_NO_BAR: Final = -1
"""Bar row of a signal for which no bar qualifies."""
_NANOS_PER_SECOND: Final = 1_000_000_000

Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ArrayT = TypeVar("ArrayT", Int64Array, FloatArray, BoolArray)


@dataclass(frozen=True)
class Reconciliation:
    """Signals emitted up to ``as_of`` with their bars, status and returns (``docs/data-model.md``)."""

    signals: pd.DataFrame
    benchmark_missing: int
    """Realized signals whose benchmark return was set to 0 because a benchmark bar was missing."""


@dataclass(frozen=True)
class _BarTable:
    """Bars laid out for per-symbol binary search: grouped by symbol code, sorted by time.

    The bars of code ``c`` are ``ts_ns[bounds[c]:bounds[c + 1]]`` (int64 ns, so both sides of a
    search always share one unit and time zone) with their prices at the same positions. A
    search returns positions in this table, so every matched price is a real bar's price.
    """

    ts_ns: Int64Array
    price: FloatArray
    bounds: Int64Array


@dataclass(frozen=True)
class _SignalsBySymbol:
    """The signals whose symbol has bars, grouped by symbol code (stable: file order within one).

    Both legs are searched in this order: each symbol's bars (a few kB to a few hundred kB) are
    searched, and their times and prices gathered, while they are in the CPU cache, instead of
    jumping across millions of bars once per signal. ``spans`` holds, per symbol present, the
    signals' slice of ``order`` and the bars' slice of the table; ``bar_end`` is where each
    grouped signal's symbol's bars end.
    """

    count: int
    order: Int64Array
    bar_end: Int64Array
    spans: list[tuple[int, int, int, int]]

    @classmethod
    def of(cls, codes: Int64Array, bars: _BarTable) -> _SignalsBySymbol:
        n_codes = len(bars.bounds) - 1
        small = codes.astype(np.int16) if n_codes < 2**15 else codes  # int16: numpy's radix sort
        order = np.argsort(small, kind="stable").astype(np.int64)
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
        self, keys_ns: Int64Array, bars: _BarTable, tolerance_ns: int, *, include_exact: bool
    ) -> Int64Array:
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

        def search(spans: list[tuple[int, int, int, int]]) -> None:
            for start, end, low, high in spans:
                positions[start:end] = np.searchsorted(bars.ts_ns[low:high], keys_ns[start:end], side=side)
                positions[start:end] += low

        halves = _halves(self.spans)
        with ThreadPoolExecutor(max_workers=len(halves)) as pool:  # numpy searches without the GIL
            list(pool.map(search, halves))
        inside = positions < self.bar_end
        safe = np.where(inside, positions, 0)
        found = inside & (keys_ns != _NAT_NS) & (bars.ts_ns.take(safe) - keys_ns <= tolerance_ns)
        return np.where(found, safe, _NO_BAR)

    def spread(self, values: ArrayT, fill: float) -> ArrayT:
        """Values in grouped order back in signal order; ``fill`` for signals without bars."""
        result = np.full(self.count, fill, dtype=values.dtype)
        result[self.order] = values
        return result


@dataclass(frozen=True)
class _Legs:
    """Entry and exit bars of each signal, positionally aligned with the signals (int64 ns times)."""

    signal_ts_ns: Int64Array
    entry_ts_ns: Int64Array
    entry_price: FloatArray
    target_ts_ns: Int64Array
    exit_ts_ns: Int64Array
    exit_price: FloatArray

    @property
    def has_entry(self) -> BoolArray:
        """An entry bar was found; only such signals have a target and may get an exit."""
        return np.asarray(self.entry_ts_ns != _NAT_NS, dtype=np.bool_)

    @property
    def realized(self) -> BoolArray:
        """Both bars found; an exit is only ever looked for once there is an entry."""
        return np.asarray(self.exit_ts_ns != _NAT_NS, dtype=np.bool_)


def reconcile(
    signals: pd.DataFrame,
    prices: pd.DataFrame,
    config: ReconcileConfig,
    as_of: pd.Timestamp,
    benchmark: str | None,
) -> Reconciliation:
    """Join each signal emitted at or before ``as_of`` to its entry and exit bars (SPEC §3.1)."""
    as_of_utc = _to_utc_timestamp(as_of)
    tolerance_ns = _to_nanoseconds(config.max_delay)
    emitted = _signals_until(signals, as_of_utc, config.default_notional)
    bars = _prices_until(prices, as_of_utc)

    legs = _match_legs(emitted, bars, tolerance_ns)
    status = _signal_status(legs, tolerance_ns, as_of_utc.value)
    bench_ret, bench_found = _benchmark_returns(bars, benchmark, legs, tolerance_ns)
    result = _with_results(emitted, legs, status, bench_ret, config.fee_bps)
    missing = int(np.count_nonzero(legs.realized & ~bench_found)) if benchmark is not None else 0
    return Reconciliation(signals=result, benchmark_missing=missing)


def _halves(spans: list[tuple[int, int, int, int]]) -> list[list[tuple[int, int, int, int]]]:
    """``spans`` cut in two with about as many signals each (one list when there are few)."""
    total = spans[-1][1] if spans else 0
    if total < 100_000:
        return [spans]
    middle = next(index for index, span in enumerate(spans) if span[1] >= total // 2)
    return [spans[: middle + 1], spans[middle + 1 :]]


def _match_legs(emitted: pd.DataFrame, bars: pd.DataFrame, tolerance_ns: int) -> _Legs:
    """Entry bar strictly after ``ts``, exit bar at or after ``entry_ts + horizon``, both in tolerance."""
    table, symbols = _bar_table(bars)
    grouped = _SignalsBySymbol.of(_symbol_codes(emitted["symbol"], symbols), table)
    signal_ts_ns = _timestamps_to_ns(emitted["ts"])

    entry_at = grouped.first_bars(signal_ts_ns[grouped.order], table, tolerance_ns, include_exact=False)
    entry_ts_ns = _take_or_fill(table.ts_ns, entry_at, _NAT_NS)
    target_ts_ns = _shift_ns(entry_ts_ns, _horizon_to_ns(emitted["horizon_s"])[grouped.order])
    exit_at = grouped.first_bars(target_ts_ns, table, tolerance_ns, include_exact=True)
    return _Legs(
        signal_ts_ns=signal_ts_ns,
        entry_ts_ns=grouped.spread(entry_ts_ns, _NAT_NS),
        entry_price=grouped.spread(_take_or_fill(table.price, entry_at, np.nan), np.nan),
        target_ts_ns=grouped.spread(target_ts_ns, _NAT_NS),
        exit_ts_ns=grouped.spread(_take_or_fill(table.ts_ns, exit_at, _NAT_NS), _NAT_NS),
        exit_price=grouped.spread(_take_or_fill(table.price, exit_at, np.nan), np.nan),
    )


def _with_results(
    emitted: pd.DataFrame,
    legs: _Legs,
    status: ExtensionArray,
    bench_ret: FloatArray,
    fee_bps: float,
) -> pd.DataFrame:
    """``emitted`` plus the result columns, in the documented order; NaN returns unless realized."""
    realized = legs.realized
    direction = emitted["direction"].to_numpy(dtype=np.float64)
    notional = emitted["notional"].to_numpy(dtype=np.float64)
    ret = direction * (legs.exit_price / legs.entry_price - 1.0)
    fee = np.where(realized, notional * 2.0 * fee_bps / 1e4, np.nan)
    realized_bench_ret = np.where(realized, bench_ret, np.nan)

    result = emitted.drop(columns=[column for column in RESULT_COLUMNS if column in emitted.columns])
    result["entry_ts"] = _ns_to_timestamps(legs.entry_ts_ns)
    result["entry_price"] = legs.entry_price
    result["target_ts"] = _ns_to_timestamps(legs.target_ts_ns)
    result["exit_ts"] = _ns_to_timestamps(legs.exit_ts_ns)
    result["exit_price"] = legs.exit_price
    result["status"] = status
    result["ret"] = ret
    result["fee"] = fee
    result["pnl"] = notional * ret - fee
    result["bench_ret"] = realized_bench_ret
    result["excess"] = ret - direction * realized_bench_ret
    return result


# --- inputs up to as_of -------------------------------------------------------------------


def _to_utc_timestamp(value: pd.Timestamp) -> pd.Timestamp:
    """``as_of`` in UTC at ns resolution; a timestamp without offset is UTC (SPEC §2)."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.as_unit("ns")


def _to_utc_ns_series(values: pd.Series) -> pd.Series:
    """Any datetime-like column as ``datetime64[ns, UTC]`` (pandas ≥ 3 often infers ``us``)."""
    if values.dtype == _TIMESTAMP_DTYPE:  # already so (the loader's columns): no conversion pass
        return values
    return pd.to_datetime(values, utc=True).astype(_TIMESTAMP_DTYPE)


def _to_nanoseconds(duration: timedelta) -> int:
    """A duration as integer nanoseconds, the unit of every join key."""
    return int(pd.Timedelta(duration).as_unit("ns").value)


def _signals_until(signals: pd.DataFrame, as_of: pd.Timestamp, default_notional: float) -> pd.DataFrame:
    """Signals emitted at or before ``as_of`` (later ones do not exist yet), notional filled."""
    stamps = _to_utc_ns_series(signals["ts"])
    keep = (stamps <= _to_utc_timestamp(as_of)).to_numpy()
    # Nothing later (the usual case): a shallow copy; copy-on-write keeps ``signals`` untouched.
    emitted = signals.copy(deep=False) if keep.all() else signals.loc[keep].copy()
    emitted["ts"] = stamps.array if keep.all() else stamps.array[keep]
    if "notional" not in emitted.columns:
        emitted["notional"] = np.nan
    emitted["notional"] = emitted["notional"].astype(np.float64).fillna(default_notional)
    return emitted


def _prices_until(prices: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Bars at or before ``as_of``; a later bar must never be seen, not even by a join."""
    stamps = _to_utc_ns_series(prices["ts"])
    keep = (stamps <= _to_utc_timestamp(as_of)).to_numpy()
    if keep.all():  # nothing later (the usual case): the columns as they are, not millions of rows copied
        columns = {"ts": stamps.array, "symbol": prices["symbol"].array, "price": prices["price"].array}
        bars = pd.DataFrame(columns, index=pd.RangeIndex(len(prices)), copy=False)
    else:
        bars = prices.loc[keep, ["symbol", "price"]].reset_index(drop=True)
        bars.insert(0, "ts", stamps.array[keep])
    bars["price"] = bars["price"].astype(np.float64)
    return bars


# --- nanosecond helpers -------------------------------------------------------------------


def _timestamps_to_ns(values: pd.Series) -> Int64Array:
    """UTC timestamps as int64 nanoseconds since the epoch; ``NaT`` becomes ``_NAT_NS``."""
    return np.asarray(pd.DatetimeIndex(_to_utc_ns_series(values)).asi8, dtype=np.int64)


def _ns_to_timestamps(values: Int64Array) -> pd.arrays.DatetimeArray:
    """The inverse of ``_timestamps_to_ns``: ``datetime64[ns, UTC]`` with ``NaT`` kept."""
    return pd.DatetimeIndex(values, dtype=_TIMESTAMP_DTYPE).array  # epoch ns: no tz_localize pass


def _horizon_to_ns(horizon_s: pd.Series) -> Int64Array:
    """Holding periods (int seconds) as int64 nanoseconds."""
    return np.asarray(horizon_s.to_numpy(dtype=np.int64) * _NANOS_PER_SECOND, dtype=np.int64)


def _shift_ns(stamps_ns: Int64Array, offsets_ns: Int64Array) -> Int64Array:
    """``stamps + offsets``, keeping ``NaT`` as ``NaT`` (no entry bar → no target)."""
    return np.where(stamps_ns == _NAT_NS, _NAT_NS, stamps_ns + offsets_ns)


# --- bars and joins -----------------------------------------------------------------------


def _bar_table(bars: pd.DataFrame) -> tuple[_BarTable, pd.Index]:
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
    ts_ns = _timestamps_to_ns(bars["ts"])
    if bool(np.all(starts[1:] | (ts_ns[1:] >= ts_ns[:-1]))):
        bounds = np.append(np.flatnonzero(starts), len(starts)).astype(np.int64)
        return _BarTable(ts_ns=ts_ns, price=bars["price"].to_numpy(dtype=np.float64), bounds=bounds), symbols
    codes = np.cumsum(starts, dtype=np.int64) - 1
    return _build_bar_table(bars, codes, len(symbols)), symbols


def _symbol_runs(symbols: pd.Series) -> tuple[BoolArray, pd.Index] | None:
    """Where each run of equal symbols starts and the runs' symbols, if no symbol has two runs."""
    if len(symbols) < 2 or not _is_arrow_text(symbols.dtype):
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


def _symbol_codes(symbols: pd.Series, universe: pd.Index) -> Int64Array:
    """Integer code of each symbol in ``universe`` (``-1`` when it has no bar at all).

    Integer codes let the bars be grouped and the signals bucketed without comparing strings.
    """
    if _is_arrow_text(symbols.dtype) and _is_arrow_text(universe.dtype):
        # pyarrow hashes the arrow strings in place; ``get_indexer`` would first build Python objects.
        found = pc.index_in(pa.array(symbols.array), value_set=pa.array(universe.array))
        return np.asarray(found.fill_null(_NO_BAR).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.asarray(universe.get_indexer(pd.Index(symbols)), dtype=np.int64)


def _is_arrow_text(dtype: object) -> bool:
    """pandas strings stored by pyarrow (the loader's ``str`` columns)."""
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def _build_bar_table(bars: pd.DataFrame, codes: Int64Array, n_codes: int) -> _BarTable:
    """Group bars by symbol code, time-sorted within each; free when already in that order.

    The loader delivers prices sorted by symbol then time, and ``pd.factorize`` numbers symbols
    in order of appearance, so the usual case needs one O(n) check and no sort of the bars.
    """
    ts_ns = _timestamps_to_ns(bars["ts"])
    price = bars["price"].to_numpy(dtype=np.float64)
    same = codes[1:] == codes[:-1]  # boolean steps: no int64 temporaries over millions of bars
    if not bool(np.all((codes[1:] >= codes[:-1]) & (~same | (ts_ns[1:] >= ts_ns[:-1])))):
        order = np.lexsort((ts_ns, codes))
        codes, ts_ns, price = codes[order], ts_ns[order], price[order]
    bounds = np.searchsorted(codes, np.arange(n_codes + 1), side="left").astype(np.int64)
    return _BarTable(ts_ns=ts_ns, price=price, bounds=bounds)


def _take_or_fill(values: ArrayT, positions: Int64Array, fill: float) -> ArrayT:
    """``values[positions]``, with ``fill`` where a position is ``_NO_BAR``."""
    if len(values) == 0:
        return np.full(len(positions), fill, dtype=values.dtype)
    # One gather (``_NO_BAR`` = -1 takes the last value) and one select: no boolean-mask copies.
    return np.where(positions == _NO_BAR, fill, values.take(positions)).astype(values.dtype, copy=False)


# --- status and benchmark -----------------------------------------------------------------


def _signal_status(legs: _Legs, tolerance_ns: int, as_of_ns: int) -> ExtensionArray:
    """``realized`` / ``open`` / ``no_price``: a missing bar is ``open`` only while it may still come.

    A missing bar may still arrive as long as its tolerance has not run out by ``as_of``
    (``ts + max_delay > as_of`` for the entry, ``target + max_delay > as_of`` for the exit).
    """
    has_entry = legs.has_entry
    realized = legs.realized
    entry_pending = ~has_entry & (legs.signal_ts_ns + tolerance_ns > as_of_ns)
    exit_pending = has_entry & ~realized & (legs.target_ts_ns + tolerance_ns > as_of_ns)
    codes = np.where(realized, 0, np.where(entry_pending | exit_pending, 1, 2))
    # Gathered by pyarrow from the three words: no Python string per signal.
    words = pa.array(STATUSES, type=pa.large_string()).take(pa.array(codes))
    status: ExtensionArray = pd.array(words, dtype="str")
    return status


def _benchmark_returns(
    bars: pd.DataFrame,
    benchmark: str | None,
    legs: _Legs,
    tolerance_ns: int,
) -> tuple[FloatArray, BoolArray]:
    """``b = B_exit / B_entry − 1`` per realized signal and whether both benchmark bars were found.

    ``B_entry``/``B_exit`` are the first benchmark bars at or after the signal's entry/exit bar
    times, within the tolerance. A missing one (or no benchmark configured) gives ``b = 0``.
    """
    count = len(legs.entry_ts_ns)
    if benchmark is None:
        return np.zeros(count, dtype=np.float64), np.zeros(count, dtype=np.bool_)
    bench_bars = bars.loc[(bars["symbol"] == benchmark).to_numpy()]
    table = _build_bar_table(bench_bars, np.zeros(len(bench_bars), dtype=np.int64), 1)
    grouped = _SignalsBySymbol.of(np.zeros(count, dtype=np.int64), table)
    realized = legs.realized[grouped.order]
    entry_at = grouped.first_bars(
        np.where(realized, legs.entry_ts_ns[grouped.order], _NAT_NS), table, tolerance_ns, include_exact=True
    )
    exit_at = grouped.first_bars(
        np.where(realized, legs.exit_ts_ns[grouped.order], _NAT_NS), table, tolerance_ns, include_exact=True
    )
    found = (entry_at != _NO_BAR) & (exit_at != _NO_BAR)
    ret = _take_or_fill(table.price, exit_at, np.nan) / _take_or_fill(table.price, entry_at, np.nan) - 1.0
    return grouped.spread(np.where(found, ret, 0.0), 0.0), grouped.spread(found, False)
