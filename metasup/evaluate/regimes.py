"""Regime mismatch per signal, behind SPEC §3.2 ``regime_mismatch_periods``.

A signal mismatches when the regime in force at its ``ts`` is not one its agent declares (SPEC
§2.4). The regime at a signal is found by two backward ``merge_asof`` joins (per symbol, then
global), so there is no Python loop over signals or events.
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
    order = np.argsort(signal_ns, kind="stable")
    events = pd.DataFrame(
        {
            "ts": epoch_ns(regimes["ts"]),
            "symbol": regimes["symbol"].to_numpy(dtype=object),
            "code": codes(regime_names, regimes["regime"]).astype(np.float64),
        }
    ).sort_values("ts", kind="stable")
    specific = events.loc[events["symbol"].notna()]
    symbol_index = pd.Index(pd.unique(specific["symbol"]), dtype=object)
    left = pd.DataFrame(
        {"ts": signal_ns[order], "symbol": codes(symbol_index, signals["symbol"])[order]},
    )
    by_symbol = _latest_code(
        left, specific.assign(symbol=codes(symbol_index, specific["symbol"])), by="symbol"
    )
    by_global = _latest_code(left, events.loc[events["symbol"].isna()], by=None)
    in_order = np.where(np.isnan(by_symbol), by_global, by_symbol)
    result = np.empty(n, dtype=np.int64)
    result[order] = np.where(np.isnan(in_order), -1, in_order).astype(np.int64, copy=False)
    return result


def _latest_code(left: pd.DataFrame, events: pd.DataFrame, by: str | None) -> FloatArray:
    """For each (ts-sorted) row of ``left``, the ``code`` of the latest event at or before it; NaN if none."""
    if events.empty:
        return np.full(len(left), np.nan, dtype=np.float64)
    if by is None:
        merged = pd.merge_asof(left[["ts"]], events[["ts", "code"]], on="ts", direction="backward")
    else:
        merged = pd.merge_asof(left, events[["ts", by, "code"]], on="ts", by=by, direction="backward")
    return np.asarray(merged["code"].to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
