"""Price bars come out sorted by symbol then time, the first of a repeated bar kept (SPEC §2.3).

Files hold bars in many orders: by time, by symbol in name order, grouped by symbol in any order
(the benchmark first, say), or shuffled. Whatever the shortcut taken, the frame must equal a plain
pandas reading: a stable sort by ``(symbol, ts)`` and ``drop_duplicates(keep="first")``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from artifact_factories import bar, load, rejected
from hypothesis import given, settings
from hypothesis import strategies as st

SYMBOLS = ("SPY", "AAPL", "MSFT", "B", "AA")

bars = st.lists(
    st.tuples(st.sampled_from(SYMBOLS), st.integers(0, 5), st.integers(1, 99)), min_size=1, max_size=40
)


def expected(records: list[tuple[str, int, int]]) -> tuple[pd.DataFrame, list[int]]:
    """The pandas reading: stable sort by (symbol, hour); repeats after the first are dropped."""
    frame = pd.DataFrame(records, columns=["symbol", "hour", "price"])
    frame["line"] = range(1, len(frame) + 1)
    ordered = frame.sort_values(["symbol", "hour"], kind="stable")
    repeated = ordered.duplicated(["symbol", "hour"], keep="first")
    return ordered[~repeated].reset_index(drop=True), sorted(ordered.loc[repeated, "line"])


def check(records: list[tuple[str, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        lines = [
            bar(f"2024-01-01T{hour:02d}:00:00Z", symbol, float(price)) for symbol, hour, price in records
        ]
        artifacts = load(Path(folder), prices=lines)
    want, dropped = expected(records)
    got = artifacts.prices
    assert list(got["symbol"]) == list(want["symbol"])
    assert [stamp.hour for stamp in got["ts"]] == list(want["hour"])
    assert list(got["price"]) == [float(price) for price in want["price"]]
    assert [line for _, line, _ in rejected(artifacts)] == dropped


@settings(max_examples=150, deadline=None)
@given(records=bars)
def test_bars_in_any_order(records: list[tuple[str, int, int]]) -> None:
    check(records)


@settings(max_examples=150, deadline=None)
@given(records=bars, names=st.permutations(SYMBOLS))
def test_bars_grouped_by_symbol_in_any_name_order(
    records: list[tuple[str, int, int]], names: list[str]
) -> None:
    # One run per symbol, runs in the drawn order, times ascending inside each (repeats allowed).
    grouped = sorted(records, key=lambda record: (names.index(record[0]), record[1]))
    check(grouped)
