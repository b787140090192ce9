"""The one UTC normaliser: every timestamp metasup computes with is a ``pd.Timestamp`` in UTC, ns.

SPEC §2: all timestamps are RFC 3339 and one without an offset is UTC. Reading, comparing and
cutting at ``as_of`` all go through :func:`utc`, so no two wings can disagree on a naive stamp.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd


def utc(value: pd.Timestamp | dt.datetime | dt.date | str) -> pd.Timestamp:
    """``value`` as a UTC timestamp at nanosecond resolution; a naive value is taken as UTC."""
    stamp = pd.Timestamp(value)
    zoned = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return zoned.as_unit("ns")
