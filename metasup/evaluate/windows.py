"""The metrics' time windows (SPEC §3.2): W, P0..P3 and W \\ P0, tested on event ages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from metasup.evaluate.columns import BoolArray, IntArray
from metasup.model.config import WindowsConfig
from metasup.model.timestamps import NAT_NS, epoch_ns, utc

N_PERIODS = 4
"""Periods P0..P3 behind ``alpha_period`` and ``regime_mismatch_periods``."""


@dataclass(frozen=True)
class Windows:
    """W, P0..P3 and W \\ P0 expressed on *ages* (``as_of − t`` in ns).

    Every window is half-open on the left and closed on the right, so with ages the test is
    ``lo <= age < hi``: an event at exactly ``as_of − 30d`` has age 30d and is out of W, one at
    ``as_of`` has age 0 and is in. A missing time (NaT) or a time after ``as_of`` gets age −1,
    which is in no window.
    """

    as_of_ns: int
    window_ns: int
    period_ns: int

    @classmethod
    def from_config(cls, as_of: pd.Timestamp, windows: WindowsConfig) -> Windows:
        return cls(
            as_of_ns=utc(as_of).value,
            window_ns=pd.Timedelta(windows.window).value,
            period_ns=pd.Timedelta(windows.period).value,
        )

    def ages(self, ts: pd.Series) -> IntArray:
        ns = epoch_ns(ts)
        known = (ns != NAT_NS) & (ns <= self.as_of_ns)
        ages = np.full(len(ns), -1, dtype=np.int64)
        np.subtract(self.as_of_ns, ns, out=ages, where=known)
        return ages

    def in_window(self, ages: IntArray) -> BoolArray:
        return (ages >= 0) & (ages < self.window_ns)

    def in_reference(self, ages: IntArray) -> BoolArray:
        """``W \\ P0 = (as_of − window, as_of − period]``."""
        return (ages >= self.period_ns) & (ages < self.window_ns)

    def period_index(self, ages: IntArray) -> IntArray:
        """k when the age falls in P_k (k = 0..3), else −1."""
        index = np.where(ages >= 0, ages // self.period_ns, -1)
        return np.where(index < N_PERIODS, index, -1).astype(np.int64, copy=False)
