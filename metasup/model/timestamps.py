"""The one UTC normaliser: every timestamp metasup computes with is a ``pd.Timestamp`` in UTC, ns.

SPEC §2: all timestamps are RFC 3339 and one without an offset is UTC. Reading, comparing and
cutting at ``as_of`` all go through :func:`utc`, so no two wings can disagree on a naive stamp.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

UTC_NS: Final = pd.DatetimeTZDtype(unit="ns", tz="UTC")
"""The dtype of every timestamp column the loader builds (``docs/data-model.md``)."""
NAT_NS: Final = int(np.iinfo(np.int64).min)
"""``NaT`` as epoch nanoseconds (numpy's and pandas' own sentinel), what :func:`epoch_ns` gives it."""


def utc(value: pd.Timestamp | dt.datetime | dt.date | str) -> pd.Timestamp:
    """``value`` as a UTC timestamp at nanosecond resolution; a naive value is taken as UTC."""
    stamp = pd.Timestamp(value)
    zoned = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return zoned.as_unit("ns")


def utc_ns_series(values: pd.Series) -> pd.Series:
    """Any datetime-like column as :data:`UTC_NS` (pandas ≥ 3 often infers ``us``); naive is UTC."""
    if values.dtype == UTC_NS:  # already so (the loader's columns): no conversion pass
        return values
    return pd.to_datetime(values, utc=True).astype(UTC_NS)


def epoch_ns(stamps: pd.Series) -> npt.NDArray[np.int64]:
    """Nanoseconds since the epoch of a timestamp column (naive is UTC); ``NaT`` is :data:`NAT_NS`.

    A column already in :data:`UTC_NS` (every frame the loader builds) is read as it lies, without
    a pass over it (an evaluation asks a dozen times; figures in ``docs/performance.md``); the
    array is then the column's own memory, so it comes back read-only.
    """
    values = np.asarray(utc_ns_series(stamps).array.asi8, dtype=np.int64).view()
    values.flags.writeable = False
    return values
