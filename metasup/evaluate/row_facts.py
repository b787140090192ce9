"""What each signal and telemetry event contributes to the metrics, as flat per-row arrays.

Every row is looked at once: which windows it falls in (W, P0..P3, W \\ P0), its status at
``as_of``, its weighted excess return, whether its regime mismatches its agent's declaration.
The arrays are aligned with their frames; ``cells.Sums`` adds them up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from metasup.evaluate.columns import BoolArray, FloatArray, IntArray, codes
from metasup.evaluate.reconcile import NO_PRICE, REALIZED, STATUSES
from metasup.evaluate.windows import Windows
from metasup.model.config import Config
from metasup.model.timestamps import NAT_NS, epoch_ns


def status_at(
    signals: pd.DataFrame, windows: Windows, config: Config
) -> tuple[BoolArray, BoolArray, BoolArray]:
    """(realized, open, no_price) as they stand at ``as_of``.

    For a reconciliation made at ``as_of`` this is the ``status`` column unchanged. For one made
    later it undoes what ``as_of`` could not know: an exit after ``as_of`` is still ``open``, and a
    bar whose tolerance had not run out by ``as_of`` (SPEC §3.1) is ``open``, not ``no_price``.
    """
    # One lookup per row (by pyarrow for arrow strings): the index of its status, -1 if unknown.
    status = codes(pd.Index(STATUSES, dtype=object), signals["status"])
    exit_age = windows.ages(signals["exit_ts"])
    realized = (status == STATUSES.index(REALIZED)) & (exit_age >= 0)
    max_delay_ns = pd.Timedelta(config.reconcile.max_delay).value
    entry_missing = epoch_ns(signals["entry_ts"]) == NAT_NS
    pending_from = np.where(entry_missing, epoch_ns(signals["ts"]), epoch_ns(signals["target_ts"]))
    tolerance_left = (pending_from != NAT_NS) & (pending_from + max_delay_ns > windows.as_of_ns)
    no_price = (status == STATUSES.index(NO_PRICE)) & ~tolerance_left
    open_ = ~realized & ~no_price & (status >= 0)
    return realized, open_, no_price


def _floats(frame: pd.DataFrame, column: str) -> FloatArray:
    return np.asarray(frame[column].to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


@dataclass(frozen=True)
class SignalFacts:
    """What each signal contributes to the metrics, as flat arrays aligned with the signals frame."""

    realized_in_window: BoolArray
    decisive_in_window: BoolArray
    """Realized in W with r ≠ 0: the population of hit rate, confidence decay and Brier score."""
    realized_period: IntArray
    emitted_in_window: BoolArray
    emitted_in_reference: BoolArray
    emitted_period: IntArray
    realized: BoolArray
    open: BoolArray
    no_price: BoolArray
    ret: FloatArray
    won: FloatArray
    pnl: FloatArray
    notional: FloatArray
    weighted_excess: FloatArray
    confidence: FloatArray
    regime_mismatch: BoolArray

    @classmethod
    def build(
        cls, signals: pd.DataFrame, windows: Windows, config: Config, mismatch: BoolArray
    ) -> SignalFacts:
        realized, open_, no_price = status_at(signals, windows, config)
        exit_ages = windows.ages(signals["exit_ts"])
        emit_ages = windows.ages(signals["ts"])
        ret = _floats(signals, "ret")
        notional = np.nan_to_num(_floats(signals, "notional"), nan=config.reconcile.default_notional)
        realized_in_window = realized & windows.in_window(exit_ages)
        return cls(
            realized_in_window=realized_in_window,
            decisive_in_window=realized_in_window & np.isfinite(ret) & (ret != 0),
            realized_period=np.where(realized, windows.period_index(exit_ages), -1).astype(
                np.int64, copy=False
            ),
            emitted_in_window=windows.in_window(emit_ages),
            emitted_in_reference=windows.in_reference(emit_ages),
            emitted_period=windows.period_index(emit_ages),
            realized=realized,
            open=open_,
            no_price=no_price,
            ret=ret,
            won=(ret > 0).astype(np.float64),
            pnl=_floats(signals, "pnl"),
            notional=notional,
            weighted_excess=notional * _floats(signals, "excess"),
            confidence=_floats(signals, "confidence"),
            regime_mismatch=mismatch,
        )

    @classmethod
    def none(cls) -> SignalFacts:
        """No signal at all (the telemetry's half of the sums)."""
        no = np.zeros(0, dtype=np.bool_)
        period = np.zeros(0, dtype=np.int64)
        floats = np.zeros(0, dtype=np.float64)
        return cls(
            no, no, period, no, no, period, no, no, no, floats, floats, floats, floats, floats, floats, no
        )


@dataclass(frozen=True)
class TelemetryFacts:
    """Window membership and values of cost, evaluation and violation events."""

    cost_usd: FloatArray
    cost_in_window: BoolArray
    cost_in_first_period: BoolArray
    cost_in_reference: BoolArray
    score: FloatArray
    eval_in_window: BoolArray
    violation_in_window: BoolArray

    @classmethod
    def build(
        cls, costs: pd.DataFrame, evals: pd.DataFrame, violations: pd.DataFrame, windows: Windows
    ) -> TelemetryFacts:
        cost_ages = windows.ages(costs["ts"])
        return cls(
            cost_usd=_floats(costs, "cost_usd"),
            cost_in_window=windows.in_window(cost_ages),
            cost_in_first_period=windows.period_index(cost_ages) == 0,
            cost_in_reference=windows.in_reference(cost_ages),
            score=_floats(evals, "score"),
            eval_in_window=windows.in_window(windows.ages(evals["ts"])),
            violation_in_window=windows.in_window(windows.ages(violations["ts"])),
        )
