"""The mergeable sums behind the evidence of skill (SPEC §3.7, §3.8), read from the reconciliation.

Per (agent, booked day): Σ notional·excess and Σ notional of the signals realized in a span (the
track record, the demotion window); per (agent, confidence bin): the Brier signals' count, Σ
confidence and Σ outcome. They add up over any split of the signals, so the local engine computes
them on the whole reconciliation and a distributed one per partition (``engine/``), and
:mod:`metasup.evaluate.skill` turns them into series and statistics the same way for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from metasup.evaluate import skill_stats as stats
from metasup.model.config import Config
from metasup.model.timestamps import epoch_ns, utc

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

NS_PER_DAY: Final = 86_400 * 10**9
CALIBRATION_BINS: Final = 10


def booked_days(exit_ns: IntArray) -> IntArray:
    """The UTC weekday each exit is booked on, as days since the epoch (weekend → next Monday)."""
    day = exit_ns // NS_PER_DAY
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    return np.asarray(day + np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0)), dtype=np.int64)


def weekday_numbers(days: IntArray) -> IntArray:
    """Weekdays counted from the epoch's week, for days since the epoch that are weekdays: Friday
    and the next Monday are one apart, as two consecutive days of a skill series."""
    shifted = days + 3  # 1970-01-01 was a Thursday: Monday 1969-12-29 is 0
    return np.asarray(shifted // 7 * 5 + np.minimum(shifted % 7, 5), dtype=np.int64)


SKILL_SUM_COLUMNS: Final = ("agent", "day", "weighted_excess", "notional", "weighted_holding")
"""Per-(agent, booked day) sums: ``day`` in days since the epoch, Σ notional·e, Σ notional and
Σ notional·h, ``h`` the weekdays a signal was held (entry to exit, both booked as weekdays)."""
CALIBRATION_SUM_COLUMNS: Final = ("agent", "bin", "count", "confidence", "outcome")
"""Per-(agent, confidence bin) sums: the Brier signals in the bin, Σ confidence and Σ outcome."""


def _empty_sums(columns: tuple[str, ...]) -> pd.DataFrame:
    dtypes = {"agent": object, "day": np.int64, "bin": np.int64, "count": np.int64}
    return pd.DataFrame({name: np.empty(0, dtype=dtypes.get(name, np.float64)) for name in columns})


@dataclass(frozen=True)
class SignalColumns:
    """The reconciled columns the skill sums read, converted once for every span and the bins.

    Converting timestamps, comparing 1M status strings and factorizing agent names cost more than
    the sums themselves, so :meth:`SkillInputs.of` prepares them once for its three reductions.
    """

    exit_ns: IntArray
    entry_ns: IntArray
    realized: BoolArray
    agent_codes: IntArray
    agents: npt.NDArray[np.object_]
    recon: pd.DataFrame

    @classmethod
    def of(cls, recon: pd.DataFrame) -> SignalColumns:
        codes, agents = pd.factorize(recon["agent"])
        return cls(
            exit_ns=epoch_ns(recon["exit_ts"]),
            entry_ns=epoch_ns(recon["entry_ts"]),
            realized=np.asarray(recon["status"] == "realized", dtype=bool),
            agent_codes=np.asarray(codes, dtype=np.int64),
            agents=np.asarray(agents, dtype=object),
            recon=recon,
        )

    def inside(self, start: pd.Timestamp, end: pd.Timestamp) -> BoolArray:
        """Realized signals whose exit is in ``(start, end]``."""
        exits = self.exit_ns
        return (
            self.realized & (exits > utc(start).value) & (exits <= utc(end).value) & (self.agent_codes >= 0)
        )

    def column(self, name: str, rows: BoolArray) -> FloatArray:
        return np.asarray(self.recon[name].to_numpy(dtype=np.float64)[rows], dtype=np.float64)


def skill_day_sums(recon: pd.DataFrame | SignalColumns, as_of: pd.Timestamp, span: timedelta) -> pd.DataFrame:
    """Per-(agent, booked day) sums of the signals realized in ``(as_of − span, as_of]`` (exit time).

    Columns :data:`SKILL_SUM_COLUMNS`; the sums add up over any split of the signals
    (:func:`merge_sums`), so a distributed engine computes them per partition. ``x_d`` is their ratio
    (:func:`series_from_sums`).
    """
    columns = recon if isinstance(recon, SignalColumns) else SignalColumns.of(recon)
    end = utc(as_of)
    rows = columns.inside(end - pd.Timedelta(span), end)
    if not rows.any():
        return _empty_sums(SKILL_SUM_COLUMNS)
    codes = columns.agent_codes[rows]
    notional = columns.column("notional", rows)
    weighted = notional * columns.column("excess", rows)
    days = booked_days(columns.exit_ns[rows])
    held = weekday_numbers(days) - weekday_numbers(booked_days(columns.entry_ns[rows]))
    first = int(days.min())
    span_days = int(days.max()) - first + 1
    cell = codes * span_days + (days - first)  # dense (agent, day) cells: no sort
    size = len(columns.agents) * span_days
    present = np.flatnonzero(np.bincount(cell, minlength=size))
    return pd.DataFrame(
        {
            "agent": columns.agents[present // span_days].astype(str).astype(object),
            "day": (present % span_days + first).astype(np.int64),
            "weighted_excess": np.bincount(cell, weights=weighted, minlength=size)[present],
            "notional": np.bincount(cell, weights=notional, minlength=size)[present],
            "weighted_holding": np.bincount(cell, weights=notional * held, minlength=size)[present],
        }
    )


def merge_sums(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The sums of the union of the parts' signals (parts of one kind: day or calibration sums).

    Keyed by ``agent`` and ``day`` (or ``bin``), sorted by them; every other column is added up.
    """
    if not parts:
        raise ValueError("merge_sums needs at least one part (an empty one gives the columns)")
    keys = ["agent", "day" if "day" in parts[0].columns else "bin"]
    frames = [part for part in parts if len(part)]
    if not frames:
        return parts[0]
    return pd.concat(frames, ignore_index=True).groupby(keys, as_index=False, sort=True).sum()


def calibration_sums(
    recon: pd.DataFrame | SignalColumns, window_start: pd.Timestamp, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Per-(agent, confidence bin) sums of the signals ``brier`` uses (:data:`CALIBRATION_SUM_COLUMNS`).

    Those are the signals realized in ``(window_start, as_of]`` with ``r ≠ 0`` (SPEC §3.2); the outcome
    is ``1[r > 0]``, the forecast the signal's confidence, binned in :data:`CALIBRATION_BINS` equal-width
    bins. Mergeable like the day sums (:func:`merge_sums`).
    """
    columns = recon if isinstance(recon, SignalColumns) else SignalColumns.of(recon)
    rows = columns.inside(window_start, as_of)
    ret = columns.column("ret", rows)
    decisive = (ret != 0) & np.isfinite(ret)
    if not decisive.any():
        return _empty_sums(CALIBRATION_SUM_COLUMNS)
    codes = columns.agent_codes[rows][decisive]
    agents = columns.agents
    k, confidence, outcome = stats.brier_bins(
        columns.column("confidence", rows)[decisive], (ret[decisive] > 0).astype(np.float64)
    )
    cell = codes * CALIBRATION_BINS + k
    size = len(agents) * CALIBRATION_BINS
    count = np.bincount(cell, minlength=size)
    present = np.flatnonzero(count)
    return pd.DataFrame(
        {
            "agent": np.asarray(agents, dtype=object)[present // CALIBRATION_BINS].astype(str).astype(object),
            "bin": (present % CALIBRATION_BINS).astype(np.int64),
            "count": count[present].astype(np.int64),
            "confidence": np.bincount(cell, weights=confidence, minlength=size)[present],
            "outcome": np.bincount(cell, weights=outcome, minlength=size)[present],
        }
    )


def track_record_span(config: Config) -> timedelta:
    """SPEC §3.7's track record: ``promotion.track_record``, never shorter than the metrics' window."""
    return max(config.promotion.track_record, config.windows.window)


@dataclass(frozen=True)
class SkillInputs:
    """Everything §3.7 and §3.8 read from the signals, as mergeable sums (one engine or many partitions)."""

    track_record: pd.DataFrame
    """Day sums over the track record (:func:`track_record_span`)."""
    demotion: pd.DataFrame
    """Day sums over ``demotion.window``."""
    calibration: pd.DataFrame
    """Calibration bin sums over the metrics' window."""

    @classmethod
    def of(cls, recon: pd.DataFrame, as_of: pd.Timestamp, config: Config) -> SkillInputs:
        """The sums of the reconciled signals ``recon`` at ``as_of``."""
        columns = SignalColumns.of(recon)
        return cls(
            track_record=skill_day_sums(columns, as_of, track_record_span(config)),
            demotion=skill_day_sums(columns, as_of, config.demotion.window),
            calibration=calibration_sums(columns, utc(as_of) - config.windows.window, as_of),
        )

    @classmethod
    def merged(cls, parts: Sequence[SkillInputs]) -> SkillInputs:
        """The inputs of the union of the parts' signals."""
        return cls(
            track_record=merge_sums([p.track_record for p in parts]),
            demotion=merge_sums([p.demotion for p in parts]),
            calibration=merge_sums([p.calibration for p in parts]),
        )
