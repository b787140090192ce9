"""Regime mismatch per signal, behind SPEC §3.2 ``regime_mismatch_periods``.

A signal mismatches when the regime in force at its ``ts`` is not one its agent declares (SPEC
§2.4). The regime at a signal is found by a binary search over the global events (one
``searchsorted``) and, when some events name a symbol, a backward ``merge_asof`` by symbol, so there
is no Python loop over signals or events.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from metasup.evaluate.columns import BoolArray, FloatArray, IntArray, codes
from metasup.model.timestamps import epoch_ns


def regime_mismatch(
    signals: pd.DataFrame,
    agent_codes: IntArray,
    regimes: pd.DataFrame,
    declared_by_agent: Sequence[Sequence[str]],
) -> BoolArray:
    """Per signal: was it emitted in a regime outside its own agent's declared regimes?

    No regime event before the signal, or an agent that declares nothing (fit for any regime),
    is never a mismatch.
    """
    regime_names = pd.Index(
        sorted({str(r) for r in regimes["regime"].dropna()} | {r for rs in declared_by_agent for r in rs}),
        dtype=object,
    )
    allowed = np.zeros((len(declared_by_agent), len(regime_names)), dtype=np.bool_)
    for agent_code, names in enumerate(declared_by_agent):
        allowed[agent_code, regime_names.get_indexer(pd.Index(list(names), dtype=object))] = True
    declares_something: BoolArray = np.asarray(allowed.any(axis=1), dtype=np.bool_)

    regime_codes = regime_codes_at_signals(signals, regimes, regime_names)
    known = (regime_codes >= 0) & (agent_codes >= 0)
    agent_rows = np.where(known, agent_codes, 0)
    regime_cols = np.where(known, regime_codes, 0)
    if allowed.size == 0:
        return np.zeros(len(signals), dtype=np.bool_)
    return known & declares_something[agent_rows] & ~allowed[agent_rows, regime_cols]


def regime_codes_at_signals(signals: pd.DataFrame, regimes: pd.DataFrame, regime_names: pd.Index) -> IntArray:
    """Code (in ``regime_names``) of the regime in force at each signal, −1 when none.

    The regime at a signal is the latest ``regime`` event for its symbol at or before ``ts``, else
    the latest global one (symbol NA). Events at the same time: the later line wins.
    """
    n = len(signals)
    if n == 0 or regimes.empty:
        return np.full(n, -1, dtype=np.int64)
    signal_ns = epoch_ns(signals["ts"])
    events = pd.DataFrame(
        {
            "ts": epoch_ns(regimes["ts"]),
            "symbol": regimes["symbol"].to_numpy(dtype=object),
            "code": codes(regime_names, regimes["regime"]).astype(np.float64),
        }
    ).sort_values("ts", kind="stable")
    in_force = _latest_global_code(signal_ns, events.loc[events["symbol"].isna()])
    specific = events.loc[events["symbol"].notna()]
    if not specific.empty:
        by_symbol = _latest_code_by_symbol(signals["symbol"], signal_ns, specific)
        in_force = np.where(np.isnan(by_symbol), in_force, by_symbol)
    return np.where(np.isnan(in_force), -1, in_force).astype(np.int64)


def _latest_global_code(signal_ns: IntArray, events: pd.DataFrame) -> FloatArray:
    """Per signal, the ``code`` of the latest of ``events`` (sorted by time, stably) at or before it.

    A binary search per signal: ``side="right"`` lands after every event at the signal's own time,
    so the one before it is the latest at or before, and the last line among equal times. NaN
    where no event comes at or before the signal.
    """
    if events.empty:
        return np.full(len(signal_ns), np.nan, dtype=np.float64)
    event_ns = events["ts"].to_numpy(dtype=np.int64)
    event_code = events["code"].to_numpy(dtype=np.float64)
    before = np.searchsorted(event_ns, signal_ns, side="right") - 1
    return np.where(before >= 0, event_code[np.maximum(before, 0)], np.nan)


def _latest_code_by_symbol(symbols: pd.Series, signal_ns: IntArray, events: pd.DataFrame) -> FloatArray:
    """Per signal, the ``code`` of the latest of its symbol's ``events`` at or before it; NaN if none."""
    symbol_index = pd.Index(pd.unique(events["symbol"]), dtype=object)
    order = np.argsort(signal_ns, kind="stable")
    left = pd.DataFrame({"ts": signal_ns[order], "symbol": codes(symbol_index, symbols)[order]})
    right = events.assign(symbol=codes(symbol_index, events["symbol"]))[["ts", "symbol", "code"]]
    merged = pd.merge_asof(left, right, on="ts", by="symbol", direction="backward")
    result = np.empty(len(signal_ns), dtype=np.float64)
    result[order] = merged["code"].to_numpy(dtype=np.float64, na_value=np.nan)
    return result
