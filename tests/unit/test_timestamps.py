"""``model.timestamps``: the one UTC normaliser, and the epoch nanoseconds every wing computes with."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from metasup.evaluate.windows import Windows
from metasup.model.artifacts import until
from metasup.model.config import WindowsConfig
from metasup.model.timestamps import UTC_NS, epoch_ns

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
TEXTS = ["2024-03-01T12:00:00.123456789Z", "2024-03-01T14:00:00+02:00", "1969-12-31T23:59:59Z", None]


def by_hand(text: str | None) -> int:
    """Epoch nanoseconds from Python's own datetime arithmetic, plus the digits past the second."""
    if text is None:
        return int(np.iinfo(np.int64).min)
    text = text.replace("Z", "+00:00")
    seconds, rest = text[:19], text[19:]
    nanos = 0
    if rest.startswith("."):
        digits = rest[1:].split("+")[0].split("-")[0]
        nanos, rest = int(digits.ljust(9, "0")), rest[1 + len(digits) :]
    moment = dt.datetime.fromisoformat(seconds + (rest or "+00:00"))
    return int((moment - EPOCH).total_seconds()) * 10**9 + nanos


@pytest.mark.parametrize("unit", ["ns", "us"])
def test_epoch_ns__what_datetime_arithmetic_gives_with_nat_as_the_smallest_int(unit: str) -> None:
    stamps = pd.Series(pd.to_datetime(TEXTS, utc=True, format="ISO8601")).astype(f"datetime64[{unit}, UTC]")
    expected = [by_hand(text) for text in TEXTS]
    if unit == "us":
        expected[0] -= 789  # microseconds cannot hold the last three digits
    assert epoch_ns(stamps).tolist() == expected


def test_epoch_ns__naive_text_is_utc() -> None:
    assert epoch_ns(pd.Series(["2024-03-01T12:00:00"])).tolist() == [by_hand("2024-03-01T12:00:00Z")]


def test_epoch_ns__a_loader_column_is_read_in_place_and_cannot_be_written_through() -> None:
    stamps = pd.Series(pd.to_datetime(TEXTS[:2], utc=True, format="ISO8601")).astype(UTC_NS)
    values = epoch_ns(stamps)
    assert np.shares_memory(values, stamps.array.asi8)
    with pytest.raises(ValueError, match="read-only"):
        values[0] = 0
    assert stamps.iloc[0] == pd.Timestamp(TEXTS[0])


def test_until__keeps_rows_at_or_before_as_of_and_drops_nat() -> None:
    frame = pd.DataFrame(
        {"ts": pd.to_datetime(TEXTS, utc=True, format="ISO8601").astype(UTC_NS), "n": range(4)}
    )
    assert until(frame, pd.Timestamp("2024-03-01T12:00:00.123456789Z"))["n"].tolist() == [0, 1, 2]
    assert until(frame, pd.Timestamp("2024-03-01T12:00:00Z"))["n"].tolist() == [1, 2]
    clean = frame.iloc[:3]
    assert until(clean, pd.Timestamp("2030-01-01T00:00:00Z")) is clean
    # every stamp long before as_of, but one missing: that row still goes
    assert until(frame, pd.Timestamp("2030-01-01T00:00:00Z"))["n"].tolist() == [0, 1, 2]
    assert until(frame.iloc[:0], pd.Timestamp("2030-01-01T00:00:00Z")).empty


def test_windows_ages__as_of_minus_ts_and_minus_one_for_later_or_missing() -> None:
    as_of = pd.Timestamp("2024-03-01T12:00:00Z")
    windows = Windows.from_config(as_of, WindowsConfig())
    stamps = pd.Series(pd.to_datetime(TEXTS, utc=True, format="ISO8601")).astype(UTC_NS)
    earlier = (as_of - pd.Timestamp("1969-12-31T23:59:59Z")).value
    assert windows.ages(stamps).tolist() == [-1, 0, earlier, -1]
