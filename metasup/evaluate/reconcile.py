"""Signal → market price join and realized PnL (SPEC §3.1): no lookahead, no forward-fill.

Every signal is matched to *actual* bars of its symbol with two forward as-of searches
(``np.searchsorted`` over each symbol's time-sorted bars — the same answer as a forward
``merge_asof`` by symbol, without re-sorting millions of bars by time):

* entry: the first bar strictly after the signal's ``ts`` (a bar stamped exactly at ``ts``
  closed when the signal was emitted and could not have been traded), at most ``max_delay`` later;
* exit: the first bar at or after ``target = entry_ts + horizon``, at most ``max_delay`` later.

A matched price is always a real bar's price, found by its position in the bar table, never an
interpolated or carried-forward one: a gap in prices longer than ``max_delay`` is ``no_price``.
Nothing after ``as_of`` exists: later signals are dropped and later bars are never looked at.
Each signal is joined on its own, so a large set is joined in two halves, in two threads.

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

from metasup.model.artifacts import until
from metasup.model.config import ReconcileConfig
from metasup.model.timestamps import utc

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
    """The signals whose symbol has bars, grouped by symbol code and by time within one symbol.

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
    def of(cls, codes: Int64Array, bars: _BarTable, keys_ns: Int64Array) -> _SignalsBySymbol:
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
        for start, end, low, high in self.spans:
            positions[start:end] = np.searchsorted(bars.ts_ns[low:high], keys_ns[start:end], side=side)
            positions[start:end] += low
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
    as_of_utc = utc(as_of)
    emitted = _signals_until(signals, as_of_utc, config.default_notional)
    table, symbols = _bar_table(_prices_until(prices, as_of_utc))
    join = _Join(
        bars=table,
        symbols=symbols,
        benchmark=None if benchmark is None else _benchmark_table(table, symbols, benchmark),
        tolerance_ns=_to_nanoseconds(config.max_delay),
        as_of_ns=as_of_utc.value,
        fee_bps=config.fee_bps,
    )
    inputs = _SignalInputs.of(emitted)
    results = _Results.empty(len(emitted))
    slices = _row_slices(len(emitted))
    if len(slices) == 1:
        missing = [join.fill(results, inputs, slices[0])]
    else:  # every signal is joined on its own: halves run in two threads (numpy releases the GIL)
        with ThreadPoolExecutor(max_workers=len(slices)) as pool:
            missing = list(pool.map(lambda rows: join.fill(results, inputs, rows), slices))
    return Reconciliation(signals=results.appended_to(emitted), benchmark_missing=sum(missing))


_PARALLEL_ROWS: Final = 200_000
"""From this many signals on, the two halves are joined in two threads."""


def _row_slices(count: int) -> list[slice]:
    if count < _PARALLEL_ROWS:
        return [slice(0, count)]
    return [slice(0, count // 2), slice(count // 2, count)]


@dataclass(frozen=True)
class _SignalInputs:
    """The signal columns the join reads, as arrays aligned with the emitted signals."""

    ts_ns: Int64Array
    horizon_ns: Int64Array
    symbol: pd.Series
    direction: FloatArray
    notional: FloatArray

    @classmethod
    def of(cls, emitted: pd.DataFrame) -> _SignalInputs:
        return cls(
            ts_ns=_timestamps_to_ns(emitted["ts"]),
            horizon_ns=_horizon_to_ns(emitted["horizon_s"]),
            symbol=emitted["symbol"],
            direction=emitted["direction"].to_numpy(dtype=np.float64),
            notional=emitted["notional"].to_numpy(dtype=np.float64),
        )


@dataclass(frozen=True)
class _Results:
    """The result columns (``RESULT_COLUMNS``) being filled, slice by slice; status as codes."""

    entry_ts_ns: Int64Array
    entry_price: FloatArray
    target_ts_ns: Int64Array
    exit_ts_ns: Int64Array
    exit_price: FloatArray
    status: npt.NDArray[np.int8]
    ret: FloatArray
    fee: FloatArray
    pnl: FloatArray
    bench_ret: FloatArray
    excess: FloatArray

    @classmethod
    def empty(cls, count: int) -> _Results:
        def ints() -> Int64Array:
            return np.empty(count, dtype=np.int64)

        def floats() -> FloatArray:
            return np.empty(count, dtype=np.float64)

        return cls(
            ints(), floats(), ints(), ints(), floats(), np.empty(count, np.int8),
            floats(), floats(), floats(), floats(), floats(),
        )  # fmt: skip

    def appended_to(self, emitted: pd.DataFrame) -> pd.DataFrame:
        """``emitted`` plus the result columns, in the documented order."""
        kept = emitted.drop(columns=[column for column in RESULT_COLUMNS if column in emitted.columns])
        # Gathered by pyarrow from the three words: no Python string per signal.
        words = pa.array(STATUSES, type=pa.large_string()).take(pa.array(self.status))
        columns = {
            "entry_ts": _ns_to_timestamps(self.entry_ts_ns),
            "entry_price": self.entry_price,
            "target_ts": _ns_to_timestamps(self.target_ts_ns),
            "exit_ts": _ns_to_timestamps(self.exit_ts_ns),
            "exit_price": self.exit_price,
            "status": pd.array(words, dtype="str"),
            "ret": self.ret,
            "fee": self.fee,
            "pnl": self.pnl,
            "bench_ret": self.bench_ret,
            "excess": self.excess,
        }
        # The arrays are this run's own: wrapped, not copied.
        result = pd.concat([kept, pd.DataFrame(columns, index=kept.index, copy=False)], axis=1)
        return result


@dataclass(frozen=True)
class _Join:
    """What every slice of signals is joined against: the bars, the rules and ``as_of``."""

    bars: _BarTable
    symbols: pd.Index
    benchmark: _BarTable | None
    tolerance_ns: int
    as_of_ns: int
    fee_bps: float

    def fill(self, results: _Results, inputs: _SignalInputs, rows: slice) -> int:
        """Join the signals ``rows`` and write their results; returns their ``benchmark_missing``."""
        direction, notional = inputs.direction[rows], inputs.notional[rows]
        legs = _match_legs(
            inputs.ts_ns[rows],
            inputs.horizon_ns[rows],
            _symbol_codes(inputs.symbol.iloc[rows], self.symbols),
            self.bars,
            self.tolerance_ns,
        )
        realized = legs.realized
        if self.benchmark is None:
            bench_ret = np.where(realized, 0.0, np.nan)
            missing = 0
        else:
            bench_ret, found = _benchmark_returns(self.benchmark, legs, self.tolerance_ns)
            bench_ret = np.where(realized, bench_ret, np.nan)
            missing = int(np.count_nonzero(realized & ~found))
        ret = direction * (legs.exit_price / legs.entry_price - 1.0)
        fee = np.where(realized, notional * 2.0 * self.fee_bps / 1e4, np.nan)
        results.entry_ts_ns[rows] = legs.entry_ts_ns
        results.entry_price[rows] = legs.entry_price
        results.target_ts_ns[rows] = legs.target_ts_ns
        results.exit_ts_ns[rows] = legs.exit_ts_ns
        results.exit_price[rows] = legs.exit_price
        results.status[rows] = _status_codes(legs, self.tolerance_ns, self.as_of_ns)
        results.ret[rows] = ret
        results.fee[rows] = fee
        results.pnl[rows] = notional * ret - fee
        results.bench_ret[rows] = bench_ret
        results.excess[rows] = ret - direction * bench_ret
        return missing


def _match_legs(
    signal_ts_ns: Int64Array, horizon_ns: Int64Array, codes: Int64Array, table: _BarTable, tolerance_ns: int
) -> _Legs:
    """Entry bar strictly after ``ts``, exit bar at or after ``entry_ts + horizon``, both in tolerance."""
    grouped = _SignalsBySymbol.of(codes, table, signal_ts_ns)
    entry_at = grouped.first_bars(signal_ts_ns[grouped.order], table, tolerance_ns, include_exact=False)
    entry_ts_ns = _take_or_fill(table.ts_ns, entry_at, _NAT_NS)
    target_ts_ns = _shift_ns(entry_ts_ns, horizon_ns[grouped.order])
    exit_at = grouped.first_bars(target_ts_ns, table, tolerance_ns, include_exact=True)
    return _Legs(
        signal_ts_ns=signal_ts_ns,
        entry_ts_ns=grouped.spread(entry_ts_ns, _NAT_NS),
        entry_price=grouped.spread(_take_or_fill(table.price, entry_at, np.nan), np.nan),
        target_ts_ns=grouped.spread(target_ts_ns, _NAT_NS),
        exit_ts_ns=grouped.spread(_take_or_fill(table.ts_ns, exit_at, _NAT_NS), _NAT_NS),
        exit_price=grouped.spread(_take_or_fill(table.price, exit_at, np.nan), np.nan),
    )


# --- inputs up to as_of -------------------------------------------------------------------


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
    # A shallow copy; copy-on-write keeps ``signals`` untouched.
    emitted = until(signals, as_of).copy(deep=False)
    emitted["ts"] = _to_utc_ns_series(emitted["ts"]).array
    if "notional" not in emitted.columns:
        emitted["notional"] = np.nan
    emitted["notional"] = emitted["notional"].astype(np.float64).fillna(default_notional)
    return emitted


def _prices_until(prices: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Bars at or before ``as_of``; a later bar must never be seen, not even by a join."""
    visible = until(prices, as_of)
    stamps = _to_utc_ns_series(visible["ts"])
    # The columns as they are, not millions of rows copied.
    columns = {"ts": stamps.array, "symbol": visible["symbol"].array, "price": visible["price"].array}
    bars = pd.DataFrame(columns, index=pd.RangeIndex(len(visible)), copy=False)
    bars["price"] = bars["price"].astype(np.float64)
    return bars


# --- nanosecond helpers -------------------------------------------------------------------


def _timestamps_to_ns(values: pd.Series) -> Int64Array:
    """UTC timestamps as int64 nanoseconds since the epoch; ``NaT`` becomes ``_NAT_NS``."""
    return np.asarray(pd.DatetimeIndex(_to_utc_ns_series(values)).asi8, dtype=np.int64)


def _ns_to_timestamps(values: Int64Array) -> pd.arrays.DatetimeArray:
    """The inverse of ``_timestamps_to_ns``: ``datetime64[ns, UTC]`` with ``NaT`` kept."""
    # Epoch ns: no tz_localize pass; the arrays are the caller's own, so they are not copied.
    return pd.DatetimeIndex(values, dtype=_TIMESTAMP_DTYPE, copy=False).array


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
        bounds = np.append(np.flatnonzero(starts), len(starts)).astype(np.int64, copy=False)
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
    bounds = np.searchsorted(codes, np.arange(n_codes + 1), side="left").astype(np.int64, copy=False)
    return _BarTable(ts_ns=ts_ns, price=price, bounds=bounds)


def _take_or_fill(values: ArrayT, positions: Int64Array, fill: float) -> ArrayT:
    """``values[positions]``, with ``fill`` where a position is ``_NO_BAR``."""
    if len(values) == 0:
        return np.full(len(positions), fill, dtype=values.dtype)
    # One gather (``_NO_BAR`` = -1 takes the last value) and one select: no boolean-mask copies.
    return np.where(positions == _NO_BAR, fill, values.take(positions)).astype(values.dtype, copy=False)


# --- status and benchmark -----------------------------------------------------------------


def _status_codes(legs: _Legs, tolerance_ns: int, as_of_ns: int) -> npt.NDArray[np.int8]:
    """Index into ``STATUSES``: a missing bar is ``open`` only while it may still come.

    A missing bar may still arrive as long as its tolerance has not run out by ``as_of``
    (``ts + max_delay > as_of`` for the entry, ``target + max_delay > as_of`` for the exit).
    """
    has_entry = legs.has_entry
    realized = legs.realized
    entry_pending = ~has_entry & (legs.signal_ts_ns + tolerance_ns > as_of_ns)
    exit_pending = has_entry & ~realized & (legs.target_ts_ns + tolerance_ns > as_of_ns)
    return np.where(realized, 0, np.where(entry_pending | exit_pending, 1, 2)).astype(np.int8)


def _benchmark_table(table: _BarTable, symbols: pd.Index, benchmark: str) -> _BarTable:
    """The benchmark's bars alone, as a table of one symbol (empty when it has no bar)."""
    found = np.flatnonzero(np.asarray(symbols == benchmark, dtype=np.bool_))
    low, high = (int(table.bounds[found[0]]), int(table.bounds[found[0] + 1])) if len(found) else (0, 0)
    return _BarTable(
        ts_ns=table.ts_ns[low:high], price=table.price[low:high], bounds=np.array([0, high - low], np.int64)
    )


def _benchmark_returns(table: _BarTable, legs: _Legs, tolerance_ns: int) -> tuple[FloatArray, BoolArray]:
    """``b = B_exit / B_entry − 1`` per realized signal and whether both benchmark bars were found.

    ``B_entry``/``B_exit`` are the first benchmark bars at or after the signal's entry/exit bar
    times, within the tolerance. A missing one gives ``b = 0``.
    """
    grouped = _SignalsBySymbol.of(np.zeros(len(legs.entry_ts_ns), dtype=np.int64), table, legs.entry_ts_ns)
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
