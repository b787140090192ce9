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
The join machinery (the bar table, the per-symbol searches, the benchmark's bars, the two threads)
is ``price_join``; this module holds the contract: statuses, result columns and returns.

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

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from metasup.evaluate.columns import FloatArray, IntArray
from metasup.evaluate.price_join import (
    BarTable,
    Legs,
    bar_table,
    benchmark_returns,
    benchmark_table,
    horizon_to_ns,
    in_halves,
    match_legs,
    ns_to_timestamps,
    symbol_codes,
    to_nanoseconds,
)
from metasup.model.artifacts import until
from metasup.model.config import ReconcileConfig
from metasup.model.timestamps import epoch_ns, utc, utc_ns_series

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


@dataclass(frozen=True)
class Reconciliation:
    """Signals emitted up to ``as_of`` with their bars, status and returns (``docs/data-model.md``)."""

    signals: pd.DataFrame
    benchmark_missing: int
    """Realized signals whose benchmark return was set to 0 because a benchmark bar was missing."""


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
    table, symbols = bar_table(_prices_until(prices, as_of_utc))
    join = _Join(
        bars=table,
        symbols=symbols,
        benchmark=None if benchmark is None else benchmark_table(table, symbols, benchmark),
        tolerance_ns=to_nanoseconds(config.max_delay),
        as_of_ns=as_of_utc.value,
        fee_bps=config.fee_bps,
    )
    inputs = _SignalInputs.of(emitted)
    results = _Results.empty(len(emitted))
    missing = in_halves(len(emitted), lambda rows: join.fill(results, inputs, rows))
    return Reconciliation(signals=results.appended_to(emitted), benchmark_missing=missing)


@dataclass(frozen=True)
class _SignalInputs:
    """The signal columns the join reads, as arrays aligned with the emitted signals."""

    ts_ns: IntArray
    horizon_ns: IntArray
    symbol: pd.Series
    direction: FloatArray
    notional: FloatArray

    @classmethod
    def of(cls, emitted: pd.DataFrame) -> _SignalInputs:
        return cls(
            ts_ns=epoch_ns(emitted["ts"]),
            horizon_ns=horizon_to_ns(emitted["horizon_s"]),
            symbol=emitted["symbol"],
            direction=emitted["direction"].to_numpy(dtype=np.float64),
            notional=emitted["notional"].to_numpy(dtype=np.float64),
        )


@dataclass(frozen=True)
class _Results:
    """The result columns (``RESULT_COLUMNS``) being filled, slice by slice; status as codes."""

    entry_ts_ns: IntArray
    entry_price: FloatArray
    target_ts_ns: IntArray
    exit_ts_ns: IntArray
    exit_price: FloatArray
    status: npt.NDArray[np.int8]
    ret: FloatArray
    fee: FloatArray
    pnl: FloatArray
    bench_ret: FloatArray
    excess: FloatArray

    @classmethod
    def empty(cls, count: int) -> _Results:
        def ints() -> IntArray:
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
            "entry_ts": ns_to_timestamps(self.entry_ts_ns),
            "entry_price": self.entry_price,
            "target_ts": ns_to_timestamps(self.target_ts_ns),
            "exit_ts": ns_to_timestamps(self.exit_ts_ns),
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

    bars: BarTable
    symbols: pd.Index
    benchmark: BarTable | None
    tolerance_ns: int
    as_of_ns: int
    fee_bps: float

    def fill(self, results: _Results, inputs: _SignalInputs, rows: slice) -> int:
        """Join the signals ``rows`` and write their results; returns their ``benchmark_missing``."""
        direction, notional = inputs.direction[rows], inputs.notional[rows]
        legs = match_legs(
            inputs.ts_ns[rows],
            inputs.horizon_ns[rows],
            symbol_codes(inputs.symbol.iloc[rows], self.symbols),
            self.bars,
            self.tolerance_ns,
        )
        realized = legs.realized
        if self.benchmark is None:
            bench_ret = np.where(realized, 0.0, np.nan)
            missing = 0
        else:
            bench_ret, found = benchmark_returns(self.benchmark, legs, self.tolerance_ns)
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


# --- inputs up to as_of -------------------------------------------------------------------


def _signals_until(signals: pd.DataFrame, as_of: pd.Timestamp, default_notional: float) -> pd.DataFrame:
    """Signals emitted at or before ``as_of`` (later ones do not exist yet), notional filled."""
    # A shallow copy; copy-on-write keeps ``signals`` untouched.
    emitted = until(signals, as_of).copy(deep=False)
    emitted["ts"] = utc_ns_series(emitted["ts"]).array
    if "notional" not in emitted.columns:
        emitted["notional"] = np.nan
    emitted["notional"] = emitted["notional"].astype(np.float64).fillna(default_notional)
    return emitted


def _prices_until(prices: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Bars at or before ``as_of``; a later bar must never be seen, not even by a join."""
    visible = until(prices, as_of)
    stamps = utc_ns_series(visible["ts"])
    # The columns as they are, not millions of rows copied.
    columns = {"ts": stamps.array, "symbol": visible["symbol"].array, "price": visible["price"].array}
    bars = pd.DataFrame(columns, index=pd.RangeIndex(len(visible)), copy=False)
    bars["price"] = bars["price"].astype(np.float64)
    return bars


# --- status ------------------------------------------------------------------------------


def _status_codes(legs: Legs, tolerance_ns: int, as_of_ns: int) -> npt.NDArray[np.int8]:
    """Index into ``STATUSES``: a missing bar is ``open`` only while it may still come.

    A missing bar may still arrive as long as its tolerance has not run out by ``as_of``
    (``ts + max_delay > as_of`` for the entry, ``target + max_delay > as_of`` for the exit).
    """
    has_entry = legs.has_entry
    realized = legs.realized
    entry_pending = ~has_entry & (legs.signal_ts_ns + tolerance_ns > as_of_ns)
    exit_pending = has_entry & ~realized & (legs.target_ts_ns + tolerance_ns > as_of_ns)
    return np.where(realized, 0, np.where(entry_pending | exit_pending, 1, 2)).astype(np.int8)
