"""SPEC §3.1: signal → price join without lookahead and without forward-fill.

Every expected number below is computed by hand from the bars written next to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recon_factories import SIGNAL_COLUMNS

from metasup.evaluate import price_join
from metasup.evaluate.reconcile import RESULT_COLUMNS, Reconciliation, reconcile
from metasup.model.config import ReconcileConfig

HOUR = 3600
DAY = 86400
DEFAULT = ReconcileConfig()  # max_delay 1d, fee_bps 0, default_notional 10 000


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def make_signals(*rows: dict[str, Any]) -> pd.DataFrame:
    """Signals with the loader's dtypes (docs/data-model.md); unspecified fields get defaults."""
    filled = [
        {
            "signal_id": f"s{number}",
            "agent": "agent-a",
            "strategy_class": None,
            "symbol": "AAA",
            "direction": 1,
            "confidence": 0.5,
            "horizon_s": HOUR,
            "notional": math.nan,
        }
        | row
        for number, row in enumerate(rows)
    ]
    frame = pd.DataFrame(filled, columns=SIGNAL_COLUMNS)
    return frame.astype(
        {
            "ts": "datetime64[ns, UTC]",
            "signal_id": "str",
            "agent": "str",
            "strategy_class": "str",
            "symbol": "str",
            "direction": "int8",
            "confidence": "float64",
            "horizon_s": "int64",
            "notional": "float64",
        }
    )


def make_prices(*bars: tuple[str, str, float]) -> pd.DataFrame:
    """``(ts, symbol, price)`` bars, sorted by symbol and time like the loader's."""
    frame = pd.DataFrame(bars, columns=["ts", "symbol", "price"])
    frame = frame.astype({"ts": "datetime64[ns, UTC]", "symbol": "str", "price": "float64"})
    return frame.sort_values(["symbol", "ts"], ignore_index=True)


def run(
    signals: pd.DataFrame,
    prices: pd.DataFrame,
    as_of: str,
    config: ReconcileConfig = DEFAULT,
    benchmark: str | None = None,
) -> Reconciliation:
    return reconcile(signals, prices, config, utc(as_of), benchmark)


def only_row(recon: Reconciliation) -> pd.Series:
    assert len(recon.signals) == 1
    return recon.signals.iloc[0]


# --- entry -----------------------------------------------------------------------------------


def test_reconcile__bar_at_exactly_ts_is_not_the_entry() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00"})
    prices = make_prices(
        ("2024-01-02 10:00", "AAA", 100.0),  # same instant as the signal: never the entry
        ("2024-01-02 11:00", "AAA", 110.0),  # entry
        ("2024-01-02 12:00", "AAA", 121.0),  # target 11:00 + 1h → exit
    )
    row = only_row(run(signals, prices, "2024-01-03 00:00"))
    assert row["entry_ts"] == utc("2024-01-02 11:00")
    assert row["entry_price"] == 110.0
    assert row["target_ts"] == utc("2024-01-02 12:00")
    assert row["exit_ts"] == utc("2024-01-02 12:00")
    assert row["exit_price"] == 121.0
    assert row["status"] == "realized"
    assert row["ret"] == pytest.approx(121 / 110 - 1)  # 0.1
    assert row["pnl"] == pytest.approx(10_000 * 0.1)


def test_reconcile__exit_bar_exactly_at_target_is_used() -> None:
    signals = make_signals({"ts": "2024-01-02 10:30", "horizon_s": 2 * HOUR})
    prices = make_prices(
        ("2024-01-02 11:00", "AAA", 50.0),  # entry → target 13:00
        ("2024-01-02 12:59", "AAA", 99.0),  # before the target: not the exit
        ("2024-01-02 13:00", "AAA", 55.0),  # exactly at the target: the exit
        ("2024-01-02 14:00", "AAA", 60.0),
    )
    row = only_row(run(signals, prices, "2024-01-03"))
    assert row["exit_ts"] == utc("2024-01-02 13:00")
    assert row["ret"] == pytest.approx(55 / 50 - 1)  # 0.1


def test_reconcile__entry_beyond_max_delay_is_no_price() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00"})
    prices = make_prices(
        ("2024-01-03 10:00:01", "AAA", 100.0),  # 1d + 1s after ts: one second too late
        ("2024-01-03 11:00:01", "AAA", 110.0),
    )
    row = only_row(run(signals, prices, "2024-01-04"))
    assert row["status"] == "no_price"
    assert pd.isna(row["entry_ts"])
    assert math.isnan(row["entry_price"])
    assert pd.isna(row["target_ts"])
    assert math.isnan(row["ret"])
    assert math.isnan(row["pnl"])
    assert math.isnan(row["fee"])


def test_reconcile__entry_exactly_at_max_delay_is_used() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00"})
    prices = make_prices(
        ("2024-01-03 10:00", "AAA", 100.0),  # ts + 1d exactly: still within tolerance
        ("2024-01-03 11:00", "AAA", 104.0),
    )
    row = only_row(run(signals, prices, "2024-01-04"))
    assert row["status"] == "realized"
    assert row["entry_ts"] == utc("2024-01-03 10:00")
    assert row["ret"] == pytest.approx(0.04)


def test_reconcile__missing_entry_is_open_while_its_tolerance_runs() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00"})
    prices = make_prices(("2024-01-02 09:00", "AAA", 100.0))
    # ts + 1d = 2024-01-03 10:00 > as_of: the entry bar may still come.
    assert only_row(run(signals, prices, "2024-01-03 09:59"))["status"] == "open"
    # ts + 1d = as_of: the tolerance has run out, no later bar can qualify.
    assert only_row(run(signals, prices, "2024-01-03 10:00"))["status"] == "no_price"


def test_reconcile__missing_exit_is_open_while_its_tolerance_runs() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00", "horizon_s": 4 * HOUR, "notional": 5_000.0})
    prices = make_prices(("2024-01-02 11:00", "AAA", 100.0))  # entry; target 15:00
    opened = only_row(run(signals, prices, "2024-01-03 14:59"))  # target + 1d = 01-03 15:00 > as_of
    assert opened["status"] == "open"
    assert opened["entry_ts"] == utc("2024-01-02 11:00")
    assert opened["entry_price"] == 100.0
    assert opened["target_ts"] == utc("2024-01-02 15:00")
    assert pd.isna(opened["exit_ts"])
    assert math.isnan(opened["exit_price"])
    assert math.isnan(opened["ret"])
    assert math.isnan(opened["pnl"])
    assert math.isnan(opened["bench_ret"])
    assert math.isnan(opened["excess"])
    assert only_row(run(signals, prices, "2024-01-03 15:00"))["status"] == "no_price"


def test_reconcile__gap_in_prices_is_no_price_not_a_filled_price() -> None:
    signals = make_signals(
        {"ts": "2024-01-02 10:30", "horizon_s": HOUR},  # entry 11:00, target 12:00 falls in the gap
        {"ts": "2024-01-03 12:00", "horizon_s": HOUR},  # emitted inside the gap: no entry within 1d
    )
    prices = make_prices(
        ("2024-01-02 10:00", "AAA", 90.0),
        ("2024-01-02 11:00", "AAA", 100.0),
        # no bar from 01-02 11:00 until 01-05 09:00: more than max_delay
        ("2024-01-05 09:00", "AAA", 130.0),
    )
    frame = run(signals, prices, "2024-01-06").signals
    assert list(frame["status"]) == ["no_price", "no_price"]
    assert frame["entry_price"].iloc[0] == 100.0
    assert math.isnan(frame["exit_price"].iloc[0])  # not 100 carried forward, not 130 from later
    assert frame["exit_price"].isna().all()
    assert math.isnan(frame["entry_price"].iloc[1])  # not 100 carried forward
    assert frame["pnl"].isna().all()


def test_reconcile__uses_only_bars_of_its_own_symbol() -> None:
    signals = make_signals(
        {"ts": "2024-01-02 10:00", "symbol": "BBB"}, {"ts": "2024-01-02 10:00", "symbol": "ZZZ"}
    )
    prices = make_prices(
        ("2024-01-02 10:30", "AAA", 1.0),  # another symbol's bar in between is never used
        ("2024-01-02 11:00", "BBB", 20.0),
        ("2024-01-02 11:30", "AAA", 2.0),
        ("2024-01-02 12:00", "BBB", 25.0),
    )
    frame = run(signals, prices, "2024-01-04").signals
    assert frame["entry_price"].iloc[0] == 20.0
    assert frame["exit_price"].iloc[0] == 25.0
    assert frame["ret"].iloc[0] == pytest.approx(0.25)
    assert frame["status"].iloc[1] == "no_price"  # a symbol without any bar


# --- horizon across a weekend ----------------------------------------------------------------

WEEKEND_SIGNALS = make_signals({"ts": "2024-01-05 15:00", "horizon_s": DAY})  # Friday
WEEKEND_PRICES = make_prices(
    ("2024-01-05 16:00", "AAA", 100.0),  # Friday: entry; target = Saturday 2024-01-06 16:00
    ("2024-01-08 16:00", "AAA", 105.0),  # Monday; no bar on Saturday or Sunday
)


def test_reconcile__weekend_horizon_beyond_max_delay_is_no_price() -> None:
    # max_delay 1d: the exit must be at or before Sunday 16:00; Monday's bar is too late.
    row = only_row(run(WEEKEND_SIGNALS, WEEKEND_PRICES, "2024-01-08 17:00"))
    assert row["target_ts"] == utc("2024-01-06 16:00")
    assert row["status"] == "no_price"
    assert pd.isna(row["exit_ts"])


def test_reconcile__weekend_horizon_within_max_delay_exits_on_monday() -> None:
    # max_delay 2d: the exit may be as late as Monday 16:00, exactly Monday's bar.
    config = ReconcileConfig(max_delay=timedelta(days=2))
    row = only_row(run(WEEKEND_SIGNALS, WEEKEND_PRICES, "2024-01-08 17:00", config))
    assert row["status"] == "realized"
    assert row["exit_ts"] == utc("2024-01-08 16:00")
    assert row["exit_price"] == 105.0
    assert row["ret"] == pytest.approx(0.05)
    assert row["pnl"] == pytest.approx(500.0)


def test_reconcile__weekend_horizon_is_open_until_the_tolerance_runs_out() -> None:
    # Sunday 12:00: target + 1d = Sunday 16:00 has not passed yet.
    row = only_row(run(WEEKEND_SIGNALS, WEEKEND_PRICES, "2024-01-07 12:00"))
    assert row["status"] == "open"


# --- returns, fees, notional -----------------------------------------------------------------


def test_reconcile__short_signal_earns_when_the_price_falls() -> None:
    signals = make_signals(
        {"ts": "2024-01-02 10:00", "direction": -1},
        {"ts": "2024-01-02 10:00", "direction": 1},
    )
    prices = make_prices(("2024-01-02 11:00", "AAA", 100.0), ("2024-01-02 12:00", "AAA", 90.0))
    frame = run(signals, prices, "2024-01-03").signals
    assert frame["ret"].iloc[0] == pytest.approx(0.1)  # -1 · (90/100 − 1)
    assert frame["pnl"].iloc[0] == pytest.approx(1_000.0)
    assert frame["ret"].iloc[1] == pytest.approx(-0.1)
    assert frame["pnl"].iloc[1] == pytest.approx(-1_000.0)


def test_reconcile__fee_is_charged_on_both_legs() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00", "notional": 20_000.0})
    prices = make_prices(("2024-01-02 11:00", "AAA", 100.0), ("2024-01-02 12:00", "AAA", 105.0))
    row = only_row(run(signals, prices, "2024-01-03", ReconcileConfig(fee_bps=5.0)))
    assert row["fee"] == pytest.approx(20.0)  # 20 000 · 2 · 5 / 1e4
    assert row["pnl"] == pytest.approx(20_000 * 0.05 - 20.0)  # 980


def test_reconcile__default_notional_fills_only_missing_values() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00"}, {"ts": "2024-01-02 10:00", "notional": 2_500.0})
    prices = make_prices(("2024-01-02 11:00", "AAA", 100.0), ("2024-01-02 12:00", "AAA", 110.0))
    frame = run(signals, prices, "2024-01-03").signals
    assert list(frame["notional"]) == [10_000.0, 2_500.0]
    assert list(frame["pnl"].round(9)) == [1_000.0, 250.0]
    custom = run(signals, prices, "2024-01-03", ReconcileConfig(default_notional=400.0)).signals
    assert list(custom["notional"]) == [400.0, 2_500.0]


def test_reconcile__notional_is_filled_on_unrealized_signals_too() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00"})
    row = only_row(run(signals, make_prices(), "2024-01-10"))
    assert row["notional"] == 10_000.0
    assert row["status"] == "no_price"


# --- benchmark -------------------------------------------------------------------------------

BENCH_PRICES = make_prices(
    ("2024-01-02 11:00", "AAA", 100.0),  # entry of AAA
    ("2024-01-02 12:00", "AAA", 110.0),  # exit of AAA
    ("2024-01-02 11:30", "SPY", 400.0),  # first SPY bar at or after 11:00 → B_entry
    ("2024-01-02 12:00", "SPY", 420.0),  # at 12:00 → B_exit
)


def test_reconcile__benchmark_excess_return() -> None:
    signals = make_signals(
        {"ts": "2024-01-02 10:00", "direction": 1},
        {"ts": "2024-01-02 10:00", "direction": -1},
    )
    recon = run(signals, BENCH_PRICES, "2024-01-03", benchmark="SPY")
    frame = recon.signals
    assert list(frame["bench_ret"].round(12)) == [0.05, 0.05]  # 420 / 400 − 1
    assert frame["excess"].iloc[0] == pytest.approx(0.1 - 0.05)  # r − d·b
    assert frame["excess"].iloc[1] == pytest.approx(-0.1 + 0.05)
    assert recon.benchmark_missing == 0


def test_reconcile__missing_benchmark_bar_gives_zero_and_is_counted() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00"})
    prices = make_prices(
        ("2024-01-02 11:00", "AAA", 100.0),
        ("2024-01-02 12:00", "AAA", 110.0),
        ("2024-01-02 11:00", "SPY", 400.0),  # B_entry
        ("2024-01-03 12:00:01", "SPY", 500.0),  # 1d + 1s after the exit bar: too late for B_exit
    )
    recon = run(signals, prices, "2024-01-04", benchmark="SPY")
    row = only_row(recon)
    assert row["status"] == "realized"
    assert row["bench_ret"] == 0.0
    assert row["excess"] == pytest.approx(0.1)
    assert recon.benchmark_missing == 1


def test_reconcile__benchmark_missing_counts_realized_signals_only() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00"}, {"ts": "2024-01-02 10:00", "symbol": "ZZZ"})
    recon = run(signals, BENCH_PRICES, "2024-01-04", benchmark="QQQ")  # no QQQ bar at all
    assert list(recon.signals["status"]) == ["realized", "no_price"]
    assert recon.signals["bench_ret"].iloc[0] == 0.0
    assert math.isnan(recon.signals["bench_ret"].iloc[1])
    assert recon.benchmark_missing == 1


def test_reconcile__no_benchmark_configured_gives_zero_uncounted() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00", "direction": -1})
    recon = run(signals, BENCH_PRICES, "2024-01-03", benchmark=None)
    row = only_row(recon)
    assert row["bench_ret"] == 0.0
    assert row["excess"] == pytest.approx(row["ret"])
    assert recon.benchmark_missing == 0


def test_reconcile__benchmark_bar_after_as_of_is_missing() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00"})
    prices = make_prices(
        ("2024-01-02 11:00", "AAA", 100.0),
        ("2024-01-02 12:00", "AAA", 110.0),
        ("2024-01-02 11:00", "SPY", 400.0),
        ("2024-01-02 12:30", "SPY", 440.0),  # would be B_exit, but it is after as_of
    )
    recon = run(signals, prices, "2024-01-02 12:15", benchmark="SPY")
    assert only_row(recon)["bench_ret"] == 0.0
    assert recon.benchmark_missing == 1
    later = run(signals, prices, "2024-01-02 12:30", benchmark="SPY")
    assert only_row(later)["bench_ret"] == pytest.approx(0.1)
    assert later.benchmark_missing == 0


# --- as_of -----------------------------------------------------------------------------------


def test_reconcile__bars_after_as_of_are_ignored() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00"})
    prices = make_prices(("2024-01-02 11:00", "AAA", 100.0), ("2024-01-02 12:00", "AAA", 110.0))
    before_exit = only_row(run(signals, prices, "2024-01-02 11:59:59"))
    assert before_exit["status"] == "open"  # the 12:00 bar does not exist yet
    assert pd.isna(before_exit["exit_ts"])
    before_entry = only_row(run(signals, prices, "2024-01-02 10:59"))
    assert before_entry["status"] == "open"
    assert pd.isna(before_entry["entry_ts"])
    at_exit = only_row(run(signals, prices, "2024-01-02 12:00"))  # a bar at as_of exists
    assert at_exit["status"] == "realized"


def test_reconcile__signals_after_as_of_are_excluded() -> None:
    signals = make_signals(
        {"ts": "2024-01-02 10:00", "signal_id": "early"},
        {"ts": "2024-01-02 12:00", "signal_id": "at-as-of"},
        {"ts": "2024-01-02 12:00:01", "signal_id": "late"},
    )
    frame = run(signals, make_prices(), "2024-01-02 12:00").signals
    assert list(frame["signal_id"]) == ["early", "at-as-of"]


def test_reconcile__naive_as_of_is_utc() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00"})
    prices = make_prices(("2024-01-02 11:00", "AAA", 100.0), ("2024-01-02 12:00", "AAA", 110.0))
    recon = reconcile(signals, prices, DEFAULT, pd.Timestamp("2024-01-02 12:00"), None)
    assert only_row(recon)["status"] == "realized"


# --- shape of the output ---------------------------------------------------------------------


def test_reconcile__output_keeps_order_index_and_documented_columns() -> None:
    signals = make_signals(
        {"ts": "2024-01-02 12:30", "signal_id": "third-in-time"},
        {"ts": "2024-01-02 09:30", "signal_id": "first-in-time", "symbol": "BBB"},
        {"ts": "2024-01-02 10:30", "signal_id": "second-in-time"},
    )
    signals.index = pd.Index([7, 3, 5])
    prices = make_prices(
        ("2024-01-02 10:00", "BBB", 10.0),
        ("2024-01-02 11:00", "AAA", 100.0),
        ("2024-01-02 11:00", "BBB", 11.0),
        ("2024-01-02 12:00", "AAA", 90.0),
        ("2024-01-02 13:00", "AAA", 80.0),
        ("2024-01-02 14:00", "AAA", 88.0),
    )
    frame = run(signals, prices, "2024-01-03").signals
    assert list(frame.columns) == SIGNAL_COLUMNS + list(RESULT_COLUMNS)
    assert list(frame.index) == [7, 3, 5]
    assert list(frame["signal_id"]) == ["third-in-time", "first-in-time", "second-in-time"]
    assert list(frame["entry_price"]) == [80.0, 10.0, 100.0]
    assert list(frame["exit_price"]) == [88.0, 11.0, 90.0]
    assert list(frame["ret"].round(12)) == [0.1, 0.1, -0.1]


def test_reconcile__output_dtypes() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00"}, {"ts": "2024-01-02 10:00", "symbol": "ZZZ"})
    prices = make_prices(("2024-01-02 11:00", "AAA", 100.0), ("2024-01-02 12:00", "AAA", 110.0))
    frame = run(signals, prices, "2024-01-03").signals
    for column in ["ts", "entry_ts", "target_ts", "exit_ts"]:
        assert frame[column].dtype == pd.DatetimeTZDtype(unit="ns", tz="UTC"), column
    for column in ["notional", "entry_price", "exit_price", "ret", "fee", "pnl", "bench_ret", "excess"]:
        assert frame[column].dtype == np.float64, column
    assert frame["status"].dtype == pd.StringDtype(na_value=np.nan)
    assert frame["direction"].dtype == np.int8


def test_reconcile__timestamps_of_other_units_are_normalized_to_ns() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00"})
    signals["ts"] = signals["ts"].astype("datetime64[us, UTC]")
    prices = make_prices(("2024-01-02 11:00", "AAA", 100.0), ("2024-01-02 12:00", "AAA", 110.0))
    prices["ts"] = prices["ts"].astype("datetime64[s, UTC]")
    row = only_row(run(signals, prices, "2024-01-03"))
    assert row["status"] == "realized"
    assert row["exit_ts"] == utc("2024-01-02 12:00")


def test_reconcile__empty_inputs() -> None:
    recon = run(make_signals(), make_prices(), "2024-01-03", benchmark="SPY")
    assert recon.signals.empty
    assert list(recon.signals.columns) == SIGNAL_COLUMNS + list(RESULT_COLUMNS)
    assert recon.benchmark_missing == 0


def test_reconcile__result_columns_in_the_input_are_recomputed() -> None:
    signals = make_signals({"ts": "2024-01-02 10:00"})
    prices = make_prices(("2024-01-02 11:00", "AAA", 100.0), ("2024-01-02 12:00", "AAA", 110.0))
    first = run(signals, prices, "2024-01-03").signals
    again = run(first, prices, "2024-01-02 11:30").signals
    assert list(again.columns) == list(first.columns)
    assert again["status"].iloc[0] == "open"


# --- property: no lookahead, no filled price -------------------------------------------------

T0 = pd.Timestamp("2024-01-01", tz="UTC")
SYMBOLS = ["AAA", "BBB", "SPY"]


@dataclass(frozen=True)
class Scenario:
    prices: pd.DataFrame
    signals: pd.DataFrame
    as_of: pd.Timestamp
    config: ReconcileConfig


def minutes(count: int) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=count)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """Small minute grids so that bars often fall exactly on a signal's ts or target."""
    bars: list[tuple[str, str, float]] = []
    for symbol in SYMBOLS:
        step, first = draw(st.integers(1, 30)), draw(st.integers(0, 30))
        times = range(first, 201, step)
        gaps = draw(st.sets(st.sampled_from(list(times)), max_size=len(times)))
        bars += [
            (str(minutes(at)), symbol, float(draw(st.integers(1, 1000)))) for at in times if at not in gaps
        ]
    prices = make_prices(*bars)
    signal_rows = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "ts": st.integers(0, 200).map(lambda at: str(minutes(at))),
                    "symbol": st.sampled_from([*SYMBOLS, "ZZZ"]),
                    "direction": st.sampled_from([-1, 1]),
                    "horizon_s": st.integers(1, 60).map(lambda count: count * 60),
                }
            ),
            min_size=1,
            max_size=30,
        )
    )
    config = ReconcileConfig(
        max_delay=timedelta(minutes=draw(st.integers(1, 90))), fee_bps=draw(st.sampled_from([0.0, 3.0]))
    )
    return Scenario(prices, make_signals(*signal_rows), minutes(draw(st.integers(0, 260))), config)


def first_bar(
    bars: pd.DataFrame, symbol: str, after: pd.Timestamp, limit: pd.Timestamp, *, exact: bool
) -> Any:
    """Reference join, one signal at a time: the first bar of ``symbol`` in the window, else None."""
    times = bars.loc[bars["symbol"] == symbol].sort_values("ts")
    for bar in times.itertuples():
        if (bar.ts > after or (exact and bar.ts == after)) and bar.ts <= limit:
            return bar
    return None


@dataclass(frozen=True)
class Expected:
    status: str
    entry: Any
    exit: Any
    bench_ret: float | None
    """None: benchmark bar missing (b = 0, counted); only meaningful when realized."""


def reference(signal: Any, scenario: Scenario, bars: pd.DataFrame) -> Expected:
    """SPEC §3.1 transcribed literally, with loops, to check the vectorized joins against."""
    delay = pd.Timedelta(scenario.config.max_delay)
    entry = first_bar(bars, signal.symbol, signal.ts, signal.ts + delay, exact=False)
    if entry is None:
        return Expected("open" if signal.ts + delay > scenario.as_of else "no_price", None, None, None)
    target = entry.ts + pd.Timedelta(seconds=int(signal.horizon_s))
    exit_bar = first_bar(bars, signal.symbol, target, target + delay, exact=True)
    if exit_bar is None:
        return Expected("open" if target + delay > scenario.as_of else "no_price", entry, None, None)
    bench_entry = first_bar(bars, "SPY", entry.ts, entry.ts + delay, exact=True)
    bench_exit = first_bar(bars, "SPY", exit_bar.ts, exit_bar.ts + delay, exact=True)
    if bench_entry is None or bench_exit is None:
        return Expected("realized", entry, exit_bar, None)
    return Expected("realized", entry, exit_bar, bench_exit.price / bench_entry.price - 1)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_reconcile__property_no_lookahead_and_no_filled_price(scenario: Scenario) -> None:
    recon = reconcile(scenario.signals, scenario.prices, scenario.config, scenario.as_of, "SPY")
    frame = recon.signals
    delay = pd.Timedelta(scenario.config.max_delay)
    visible = scenario.prices.loc[scenario.prices["ts"] <= scenario.as_of]
    bar_price = {(bar.symbol, bar.ts): bar.price for bar in visible.itertuples()}

    assert (frame["ts"] <= scenario.as_of).all()
    assert len(frame) == int((scenario.signals["ts"] <= scenario.as_of).sum())
    realized = frame.loc[frame["status"] == "realized"]
    assert (realized["entry_ts"] > realized["ts"]).all()
    assert (realized["entry_ts"] <= realized["ts"] + delay).all()
    horizon = pd.to_timedelta(realized["horizon_s"], unit="s")
    assert (realized["exit_ts"] >= realized["entry_ts"] + horizon).all()
    assert (realized["exit_ts"] <= realized["entry_ts"] + horizon + delay).all()
    assert (realized["exit_ts"] <= scenario.as_of).all()
    for row in realized.itertuples():
        assert bar_price[(row.symbol, row.entry_ts)] == row.entry_price
        assert bar_price[(row.symbol, row.exit_ts)] == row.exit_price
    assert frame.loc[frame["status"] != "realized", ["exit_price", "ret", "pnl"]].isna().all().all()

    missing = 0
    for row in frame.itertuples():
        expected = reference(row, scenario, visible)
        assert row.status == expected.status
        assert_same_bar(row.entry_ts, row.entry_price, expected.entry)
        assert_same_bar(row.exit_ts, row.exit_price, expected.exit)
        if expected.status == "realized":
            missing += expected.bench_ret is None
            assert row.bench_ret == pytest.approx(expected.bench_ret or 0.0, rel=1e-12)
            assert row.excess == pytest.approx(row.ret - row.direction * row.bench_ret, rel=1e-12)
    assert recon.benchmark_missing == missing


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_reconcile__large_inputs_joined_in_two_threads_give_the_same_result(scenario: Scenario) -> None:
    whole = reconcile(scenario.signals, scenario.prices, scenario.config, scenario.as_of, "SPY")
    # From 2 signals on, the halves are joined in two threads (normally from 200 000 on).
    with mock.patch.object(price_join, "_PARALLEL_ROWS", 2):
        halves = reconcile(scenario.signals, scenario.prices, scenario.config, scenario.as_of, "SPY")
    pd.testing.assert_frame_equal(halves.signals, whole.signals)
    assert halves.benchmark_missing == whole.benchmark_missing


def assert_same_bar(ts: pd.Timestamp, price: float, bar: Any) -> None:
    """The reconciled bar is the reference bar, or missing (NaT/NaN) when there is none."""
    if bar is None:
        assert pd.isna(ts)
        assert math.isnan(price)
    else:
        assert ts == bar.ts
        assert price == bar.price


def test_reconcile__ns_utc_and_other_unit_inputs_give_the_same_result_and_stay_untouched() -> None:
    """Inputs already in ``datetime64[ns, UTC]`` skip the conversion; nothing else may change."""
    signals = make_signals({"ts": "2024-01-02 10:00"}, {"ts": "2024-01-02 10:30", "symbol": "ZZZ"})
    prices = make_prices(("2024-01-02 11:00", "AAA", 100.0), ("2024-01-02 12:00", "AAA", 110.0))
    signals_before, prices_before = signals.copy(), prices.copy()
    other_signals, other_prices = signals.copy(), prices.copy()
    other_signals["ts"] = other_signals["ts"].astype("datetime64[us, UTC]")
    other_prices["ts"] = other_prices["ts"].astype("datetime64[s, UTC]")

    fast = run(signals, prices, "2024-01-03", benchmark="AAA").signals
    converted = run(other_signals, other_prices, "2024-01-03", benchmark="AAA").signals

    pd.testing.assert_frame_equal(fast, converted)
    assert fast["exit_ts"].isna().tolist() == [False, True]  # NaT survives the ns → timestamp step
    pd.testing.assert_frame_equal(signals, signals_before)
    pd.testing.assert_frame_equal(prices, prices_before)
