"""SPEC §2 / §2.6 / §4.1 data_quality: loading and validating signals, telemetry and prices.

Each bad-input test checks three things: the bad line is counted, it is reported with file, line
and reason, and the good lines around it load with their exact values.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from artifact_factories import (
    DROP,
    Line,
    bar,
    counts,
    event,
    load,
    rejected,
    signal,
    write_csv,
    write_jsonl,
    write_records,
)

import metasup.ingest.jsonl as jsonl_module
from metasup.ingest import load_artifacts
from metasup.ingest.frames import FRAME_DTYPES
from metasup.ingest.jsonl_stretches import LEAF_LINES
from metasup.ingest.rows import _column_from_arrow, utc_series
from metasup.model.artifacts import Artifacts
from metasup.model.config import ArtifactsConfig
from metasup.model.errors import ArtifactError
from metasup.model.review import MAX_REJECTED_LISTED


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run inside ``tmp_path`` so reported paths are the short relative names written here."""
    monkeypatch.chdir(tmp_path)


def utc(text: str) -> pd.Timestamp:
    """``text`` as a UTC timestamp; without an offset it already is UTC (SPEC §2)."""
    stamp = pd.Timestamp(text)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def ids(artifacts: Artifacts) -> list[str]:
    return list(artifacts.signals["signal_id"])


TS, STR = "datetime64[ns, UTC]", "str"
DOCUMENTED: dict[str, dict[str, str]] = {  # docs/data-model.md, written out here on purpose
    "signals": {
        "ts": TS,
        "signal_id": STR,
        "agent": STR,
        "strategy_class": STR,
        "symbol": STR,
        "direction": "int8",
        "confidence": "float64",
        "horizon_s": "int64",
        "notional": "float64",
    },
    "costs": {"ts": TS, "agent": STR, "cost_usd": "float64", "kind": STR},
    "evals": {"ts": TS, "agent": STR, "score": "float64"},
    "violations": {"ts": TS, "agent": STR, "rule": STR, "severity": STR, "detail": STR},
    "regimes": {"ts": TS, "regime": STR, "symbol": STR},
    "prices": {"ts": TS, "symbol": STR, "price": "float64"},
}


def assert_documented_dtypes(artifacts: Artifacts) -> None:
    """Every frame has exactly the documented columns, in order, with the documented dtypes."""
    assert set(DOCUMENTED) == set(FRAME_DTYPES)
    for name, dtypes in DOCUMENTED.items():
        frame: pd.DataFrame = getattr(artifacts, name)
        assert {column: str(dtype) for column, dtype in frame.dtypes.items()} == dtypes, name
        assert list(frame.columns) == list(dtypes), name
        assert isinstance(frame.index, pd.RangeIndex), name
        assert frame.index.start == 0, name


# --------------------------------------------------------------------------------------------
# Happy path


def test_load_artifacts__valid_signal_values_and_dtypes(tmp_path: Path) -> None:
    artifacts = load(
        tmp_path,
        alpha=[
            signal(1, direction="short", confidence=0.25, horizon="30m", notional=2500.0),
            signal(2, strategy_class=DROP, notional=DROP, horizon=3600, direction=1),
        ],
    )
    row = artifacts.signals.iloc[0]
    assert row["ts"] == utc("2024-01-01T01:00:00Z")
    assert (row["signal_id"], row["agent"], row["strategy_class"], row["symbol"]) == (
        "s1",
        "momo",
        "momentum",
        "AAPL",
    )
    assert (row["direction"], row["confidence"], row["horizon_s"], row["notional"]) == (
        -1,
        0.25,
        1800,
        2500.0,
    )
    second = artifacts.signals.iloc[1]
    assert pd.isna(second["strategy_class"])
    assert math.isnan(second["notional"])
    assert (second["direction"], second["horizon_s"]) == (1, 3600)
    assert_documented_dtypes(artifacts)
    assert counts(artifacts, "alpha.jsonl") == (2, 2, 0, 0)
    assert artifacts.data_quality.rejected_total == 0


def test_load_artifacts__fields_the_first_lines_never_write_are_still_read_later(tmp_path: Path) -> None:
    # The first 2000 lines name neither strategy_class nor notional (nor type); the last ones do,
    # after the head that decides which fields pyarrow reads first.
    plain = [signal(index, strategy_class=DROP, notional=DROP) for index in range(2000)]
    later = [
        signal(2000, notional=2500.0, strategy_class="carry"),
        signal(2001, type="signal", notional=DROP, strategy_class=DROP),
        signal(2002, type="heartbeat"),
    ]
    artifacts = load(tmp_path, alpha=[*plain, *later])
    tail = artifacts.signals.set_index("signal_id").loc[["s1999", "s2000", "s2001"]]
    notional = tail["notional"].tolist()
    assert math.isnan(notional[0])
    assert notional[1] == 2500.0
    assert math.isnan(notional[2])
    assert tail["strategy_class"].tolist()[1] == "carry"
    assert "s2002" not in set(artifacts.signals["signal_id"])  # another type: ignored, not a signal
    assert counts(artifacts, "alpha.jsonl") == (2003, 2002, 0, 1)
    assert_documented_dtypes(artifacts)


def test_load_artifacts__unknown_fields_anywhere_are_ignored(tmp_path: Path) -> None:
    plain = [signal(index) for index in range(1500)]
    later = [signal(1500, rationale="momentum broke out", meta={"model": "x", "tokens": [1, 2]})]
    artifacts = load(tmp_path, alpha=[*plain, *later])
    assert len(artifacts.signals) == 1501
    assert counts(artifacts, "alpha.jsonl") == (1501, 1501, 0, 0)
    first = load(tmp_path, alpha=[signal(0, rationale="x"), *plain[1:]])  # unknown in the head
    assert len(first.signals) == 1500


def test_load_artifacts__frames_have_documented_dtypes_when_empty(tmp_path: Path) -> None:
    empty = write_jsonl(tmp_path / "empty.jsonl", [])
    artifacts = load(tmp_path, alpha=empty, prices=empty, telemetry=empty)
    assert all(len(getattr(artifacts, name)) == 0 for name in FRAME_DTYPES)
    assert_documented_dtypes(artifacts)


def test_load_artifacts__no_telemetry_gives_empty_frames(tmp_path: Path) -> None:
    artifacts = load(tmp_path)
    assert [
        len(frame) for frame in (artifacts.costs, artifacts.evals, artifacts.violations, artifacts.regimes)
    ] == [
        0,
        0,
        0,
        0,
    ]
    assert_documented_dtypes(artifacts)
    assert [item.path for item in artifacts.data_quality.files] == ["alpha.jsonl", "prices.jsonl"]


def test_load_artifacts__progress_names_each_file(tmp_path: Path) -> None:
    messages: list[str] = []
    write_jsonl(tmp_path / "alpha.jsonl", [signal()])
    write_jsonl(tmp_path / "prices.jsonl", [bar()])
    write_jsonl(tmp_path / "telemetry.jsonl", [event("run")])
    config = ArtifactsConfig(
        alpha=tmp_path / "alpha.jsonl",
        prices=tmp_path / "prices.jsonl",
        telemetry=tmp_path / "telemetry.jsonl",
    )
    load_artifacts(config, progress=messages.append)
    # Prices are read in a second thread, so their message may come at any point.
    assert sorted(messages) == ["reading alpha.jsonl", "reading prices.jsonl", "reading telemetry.jsonl"]


# --------------------------------------------------------------------------------------------
# Bad signal lines: counted, reported, good neighbours intact


def test_load_artifacts__invalid_json(tmp_path: Path) -> None:
    artifacts = load(tmp_path, alpha=[signal(1), '{"ts": "2024-01-01T00:00:00Z", "signal_id": ', signal(3)])
    assert rejected(artifacts) == [("alpha.jsonl", 2, "invalid JSON")]
    assert ids(artifacts) == ["s1", "s3"]
    assert list(artifacts.signals["ts"]) == [utc("2024-01-01T01:00:00Z"), utc("2024-01-01T03:00:00Z")]
    assert counts(artifacts, "alpha.jsonl") == (3, 2, 1, 0)


def test_load_artifacts__not_an_object_and_repeated_key(tmp_path: Path) -> None:
    repeated_key = '{"ts": "2024-01-01T00:00:00Z", "signal_id": "s9", "agent": "a", "agent": "b"}'
    artifacts = load(tmp_path, alpha=[signal(1), "[1, 2]", repeated_key, "42", signal(5)])
    assert rejected(artifacts) == [
        ("alpha.jsonl", 2, "not a JSON object"),
        ("alpha.jsonl", 3, "duplicate key 'agent'"),
        ("alpha.jsonl", 4, "not a JSON object"),
    ]
    assert ids(artifacts) == ["s1", "s5"]


def test_load_artifacts__a_lone_surrogate_escape_is_rejected_a_pair_is_its_character(tmp_path: Path) -> None:
    """``"\\ud800"`` parses as JSON but is no character (pyarrow refuses it, UTF-8 cannot hold it): an
    agent named so ended the review as an internal error (found by fuzzing). ``"\\ud83d\\ude00"``
    is JSON's spelling of 😀."""
    lone = signal(2, agent="\ud800")
    pair = signal(3, signal_id="\ud83d\ude00")
    artifacts = load(tmp_path, alpha=[signal(1), lone, pair, signal(4, symbol="x\udfff")])
    assert rejected(artifacts) == [
        ("alpha.jsonl", 2, "invalid JSON (lone surrogate)"),
        ("alpha.jsonl", 4, "invalid JSON (lone surrogate)"),
    ]
    assert ids(artifacts) == ["s1", "😀"]


@pytest.mark.parametrize(
    "field", ["ts", "signal_id", "agent", "symbol", "direction", "confidence", "horizon"]
)
def test_load_artifacts__missing_required_field(tmp_path: Path, field: str) -> None:
    artifacts = load(tmp_path, alpha=[signal(1), signal(2, **{field: DROP}), signal(3, **{field: None})])
    assert rejected(artifacts) == [
        ("alpha.jsonl", 2, f"missing required field '{field}'"),
        ("alpha.jsonl", 3, f"missing required field '{field}'"),
    ]
    assert ids(artifacts) == ["s1"]
    assert counts(artifacts, "alpha.jsonl") == (3, 1, 2, 0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("confidence", "high"),
        ("confidence", True),
        ("agent", 7),
        ("symbol", ["AAPL"]),
        ("direction", True),
        ("horizon", {"hours": 4}),
        ("notional", "1000"),
        ("signal_id", 1.5),
        ("ts", 1704067200),
    ],
)
def test_load_artifacts__wrong_type(tmp_path: Path, field: str, value: Any) -> None:
    artifacts = load(tmp_path, alpha=[signal(1), signal(2, **{field: value}), signal(3)])
    assert rejected(artifacts) == [("alpha.jsonl", 2, f"wrong type for '{field}'")]
    assert ids(artifacts) == ["s1", "s3"]
    assert list(artifacts.signals["confidence"]) == [0.5, 0.5]


def test_load_artifacts__confidence_outside_unit_interval(tmp_path: Path) -> None:
    artifacts = load(
        tmp_path,
        alpha=[
            signal(1, confidence=0.0),
            signal(2, confidence=1.5),
            signal(3, confidence=-0.1),
            signal(4, confidence=1.0),
            signal(5, confidence=float("nan")),
        ],
    )
    assert rejected(artifacts) == [
        ("alpha.jsonl", 2, "confidence outside [0, 1]"),
        ("alpha.jsonl", 3, "confidence outside [0, 1]"),
        ("alpha.jsonl", 5, "confidence outside [0, 1]"),
    ]
    assert list(artifacts.signals["confidence"]) == [0.0, 1.0]
    assert ids(artifacts) == ["s1", "s4"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        (-1, -1),
        ("1", 1),
        ("+1", 1),
        ("-1", -1),
        ("long", 1),
        ("BUY", 1),
        ("Short", -1),
        (" sell ", -1),
    ],
)
def test_load_artifacts__direction_spellings(tmp_path: Path, value: Any, expected: int) -> None:
    artifacts = load(tmp_path, alpha=[signal(1, direction=value)])
    assert list(artifacts.signals["direction"]) == [expected]
    assert artifacts.signals["direction"].dtype == np.int8


def test_load_artifacts__unknown_direction(tmp_path: Path) -> None:
    artifacts = load(
        tmp_path,
        alpha=[
            signal(1, direction="long"),
            signal(2, direction="up"),
            signal(3, direction=0),
            signal(4, direction=-1),
        ],
    )
    assert rejected(artifacts) == [
        ("alpha.jsonl", 2, "unknown direction 'up'"),
        ("alpha.jsonl", 3, "unknown direction 0"),
    ]
    assert list(artifacts.signals["direction"]) == [1, -1]
    assert ids(artifacts) == ["s1", "s4"]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30m", 1800),
        ("4h", 14400),
        ("1d", 86400),
        ("2w", 1209600),
        (3600, 3600),
        ("7200", 7200),
        ("1.5h", 5400),
    ],
)
def test_load_artifacts__horizon_forms(tmp_path: Path, value: Any, seconds: int) -> None:
    artifacts = load(tmp_path, alpha=[signal(1, horizon=value)])
    assert list(artifacts.signals["horizon_s"]) == [seconds]


def test_load_artifacts__unparsable_horizon(tmp_path: Path) -> None:
    artifacts = load(
        tmp_path,
        alpha=[
            signal(1, horizon="1d"),
            signal(2, horizon="3x"),
            signal(3, horizon=0),
            signal(4, horizon="0m"),
            signal(5, horizon=-60),
            signal(6, horizon=1.5),
            signal(7, horizon=900),
        ],
    )
    assert rejected(artifacts) == [
        ("alpha.jsonl", 2, "unparsable horizon '3x'"),
        ("alpha.jsonl", 3, "horizon must be > 0"),
        ("alpha.jsonl", 4, "horizon must be > 0"),
        ("alpha.jsonl", 5, "horizon must be > 0"),
        ("alpha.jsonl", 6, "unparsable horizon 1.5"),
    ]
    assert list(artifacts.signals["horizon_s"]) == [86400, 900]


def test_load_artifacts__a_horizon_of_hundreds_of_digits_is_one_rejected_line(tmp_path: Path) -> None:
    """Python reads it as an int no float can hold: ``float()`` raised, and the run ended as an
    internal error (found by an audit); it is a horizon longer than any allowed."""
    artifacts = load(tmp_path, alpha=[signal(1, horizon=int("9" * 400)), signal(2, horizon="1d")])
    assert rejected(artifacts) == [("alpha.jsonl", 1, "horizon longer than 100 years")]
    assert list(artifacts.signals["horizon_s"]) == [86400]


def test_load_artifacts__notional_must_be_positive_when_given(tmp_path: Path) -> None:
    artifacts = load(
        tmp_path,
        alpha=[signal(1, notional=DROP), signal(2, notional=0), signal(3, notional=float("inf")), signal(4)],
    )
    assert rejected(artifacts) == [
        ("alpha.jsonl", 2, "notional must be finite and > 0"),
        ("alpha.jsonl", 3, "notional must be finite and > 0"),
    ]
    assert math.isnan(artifacts.signals["notional"].iloc[0])
    assert artifacts.signals["notional"].iloc[1] == 1000.0


def test_load_artifacts__empty_required_text_is_rejected(tmp_path: Path) -> None:
    artifacts = load(tmp_path, alpha=[signal(1, agent=""), signal(2, strategy_class=" "), signal(3)])
    assert rejected(artifacts) == [("alpha.jsonl", 1, "empty 'agent'")]
    assert pd.isna(artifacts.signals["strategy_class"].iloc[0])


def test_load_artifacts__integer_signal_id_kept_as_text(tmp_path: Path) -> None:
    artifacts = load(tmp_path, alpha=[signal(1, signal_id=42), signal(2, signal_id=9007199254740993)])
    assert ids(artifacts) == ["42", "9007199254740993"]


def test_load_artifacts__duplicate_signal_id_keeps_the_first(tmp_path: Path) -> None:
    artifacts = load(
        tmp_path,
        alpha=[
            signal(1, confidence=0.1),
            signal(2),
            signal(1, signal_id="s1", confidence=0.9),
            signal(3, signal_id="s1", confidence=0.8),
        ],
    )
    assert rejected(artifacts) == [
        ("alpha.jsonl", 3, "duplicate signal_id"),
        ("alpha.jsonl", 4, "duplicate signal_id"),
    ]
    assert artifacts.data_quality.duplicates == 2
    assert ids(artifacts) == ["s1", "s2"]
    assert artifacts.signals["confidence"].iloc[0] == 0.1
    assert counts(artifacts, "alpha.jsonl") == (4, 2, 2, 0)


def test_load_artifacts__a_rejected_line_does_not_claim_its_signal_id(tmp_path: Path) -> None:
    artifacts = load(tmp_path, alpha=[signal(1, confidence=7), signal(1, confidence=0.3)])
    assert rejected(artifacts) == [("alpha.jsonl", 1, "confidence outside [0, 1]")]
    assert artifacts.data_quality.duplicates == 0
    assert list(artifacts.signals["confidence"]) == [0.3]


def test_load_artifacts__other_types_in_alpha_are_ignored(tmp_path: Path) -> None:
    artifacts = load(
        tmp_path,
        alpha=[
            signal(1, type="signal"),
            {"type": "heartbeat", "ts": "not even a time"},
            signal(3),
            {"type": 5},
        ],
    )
    assert ids(artifacts) == ["s1", "s3"]
    assert artifacts.data_quality.rejected_total == 0
    assert counts(artifacts, "alpha.jsonl") == (4, 2, 0, 2)


def test_load_artifacts__blank_lines_are_ignored_and_line_numbers_stay_physical(tmp_path: Path) -> None:
    artifacts = load(tmp_path, alpha=[signal(1), "", "   ", signal(4, confidence=2), "\t", signal(6)])
    assert rejected(artifacts) == [("alpha.jsonl", 4, "confidence outside [0, 1]")]
    assert ids(artifacts) == ["s1", "s6"]
    assert counts(artifacts, "alpha.jsonl") == (6, 2, 1, 3)


def test_load_artifacts__crlf_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "alpha.jsonl"
    path.write_bytes(
        (json.dumps(signal(1)) + "\r\n\r\n" + "{oops\r\n" + json.dumps(signal(4)) + "\r\n").encode("utf-8")
    )
    artifacts = load(tmp_path, alpha=path)
    assert rejected(artifacts) == [("alpha.jsonl", 3, "invalid JSON")]
    assert ids(artifacts) == ["s1", "s4"]
    assert counts(artifacts, "alpha.jsonl") == (4, 2, 1, 1)


# --------------------------------------------------------------------------------------------
# Timestamps


def test_load_artifacts__timestamps_with_and_without_offsets(tmp_path: Path) -> None:
    stamps = [
        "2024-03-01T12:00:00Z",
        "2024-03-01T12:00:00",
        "2024-03-01T14:00:00+02:00",
        "2024-03-01T07:00:00-05:00",
        "2024-03-01 12:00:00.000+00:00",
    ]
    artifacts = load(tmp_path, alpha=[signal(index, ts=stamp) for index, stamp in enumerate(stamps, 1)])
    assert list(artifacts.signals["ts"]) == [pd.Timestamp("2024-03-01T12:00:00", tz="UTC")] * 5
    assert str(artifacts.signals["ts"].dtype) == "datetime64[ns, UTC]"


@pytest.mark.parametrize(
    ("stamps", "expected"),
    [
        (
            ["2024-03-01T14:00:00+02:00", "2024-03-01T12:30:00Z"],
            ["2024-03-01T12:00:00", "2024-03-01T12:30:00"],
        ),
        (["2024-03-01T12:00:00", "2024-03-01T12:30:00.5"], ["2024-03-01T12:00:00", "2024-03-01T12:30:00.5"]),
    ],
    ids=["all-with-offset", "all-naive"],
)
def test_load_artifacts__uniform_timestamps(tmp_path: Path, stamps: list[str], expected: list[str]) -> None:
    artifacts = load(tmp_path, alpha=[signal(index, ts=stamp) for index, stamp in enumerate(stamps, 1)])
    assert list(artifacts.signals["ts"]) == [pd.Timestamp(text, tz="UTC") for text in expected]


def test_load_artifacts__unparsable_timestamp(tmp_path: Path) -> None:
    artifacts = load(
        tmp_path,
        alpha=[
            signal(1, ts="2024-01-01T00:00:00+01:00"),
            signal(2, ts="yesterday"),
            signal(3, ts="2024-13-01T00:00:00Z"),
            signal(4, ts="3000-01-01T00:00:00Z"),
            signal(5, ts="2024-01-01T00:00:00"),
        ],
    )
    assert rejected(artifacts) == [
        ("alpha.jsonl", 2, "unparsable timestamp"),
        ("alpha.jsonl", 3, "unparsable timestamp"),
        ("alpha.jsonl", 4, "timestamp out of range"),
    ]
    assert list(artifacts.signals["ts"]) == [
        pd.Timestamp("2023-12-31T23:00:00", tz="UTC"),
        pd.Timestamp("2024-01-01T00:00:00", tz="UTC"),
    ]


@pytest.mark.parametrize("word", ["now", "today", "NOW", " now"])
def test_load_artifacts__the_words_pandas_reads_as_the_clock_are_unparsable(
    tmp_path: Path, word: str
) -> None:
    """pandas' ISO 8601 parser reads "now" and "today" as the clock: one price line ``now,AAPL,100``
    made the default as_of the wall clock, every price stale (found by an audit)."""
    artifacts = load(
        tmp_path,
        alpha=[signal(1, ts="2024-01-01T00:00:00Z"), signal(2, ts=word), signal(3, ts="2024-01-02T00:00:00")],
    )
    assert rejected(artifacts) == [("alpha.jsonl", 2, "unparsable timestamp")]
    assert artifacts.signals["ts"].max() == pd.Timestamp("2024-01-02", tz="UTC")


def test_load_artifacts__a_stamp_after_a_space_is_still_read(tmp_path: Path) -> None:
    artifacts = load(tmp_path, alpha=[signal(1, ts=" 2024-01-01T12:00:00Z"), signal(2, ts="now")])
    assert rejected(artifacts) == [("alpha.jsonl", 2, "unparsable timestamp")]
    assert list(artifacts.signals["ts"]) == [pd.Timestamp("2024-01-01T12:00:00", tz="UTC")]


def test_load_artifacts__stamps_past_a_clean_head_are_parsed_as_pandas_parses_them(tmp_path: Path) -> None:
    # The head (1000 lines) is all "Z" stamps, so pyarrow parses them while reading; the troubles
    # come later and make it read the file again with text stamps, checked as before.
    later = {
        1001: "2024-03-01T14:00:00+02:00",
        1002: "2024-03-01T12:00:00",
        1003: "yesterday",
        1004: "3000-01-01T00:00:00Z",
        1005: 1700000000,
        1006: "2024-03-01 12:00:00.123456789Z",
        1007: "2024-03-01T12:00:00.5-01:30",
    }
    stamps = {number: f"2024-02-01T00:00:{number % 60:02d}Z" for number in range(1, 1001)} | later
    artifacts = load(tmp_path, alpha=[signal(number, ts=stamp) for number, stamp in stamps.items()])
    assert rejected(artifacts) == [
        ("alpha.jsonl", 1003, "unparsable timestamp"),
        ("alpha.jsonl", 1004, "timestamp out of range"),
        ("alpha.jsonl", 1005, "wrong type for 'ts'"),
    ]
    kept = [number for number in stamps if number not in (1003, 1004, 1005)]
    expected = pd.to_datetime(pd.Series([stamps[number] for number in kept]), utc=True, format="ISO8601")
    assert list(artifacts.signals["signal_id"]) == [f"s{number}" for number in kept]
    assert list(artifacts.signals["ts"]) == list(expected)


def test_load_artifacts__clean_stamps_read_by_pyarrow_equal_pandas_parse(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    seconds = rng.integers(0, 400 * 86400, size=3000)
    base = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(seconds, unit="s")
    offsets = rng.choice(["Z", "+02:00", "-05:30", ""], size=len(seconds))
    nanos = rng.integers(0, 10**9, size=len(seconds))
    texts = [
        f"{stamp.strftime('%Y-%m-%dT%H:%M:%S')}.{nano:09d}{offset}"
        for stamp, nano, offset in zip(base, nanos, offsets, strict=True)
    ]
    artifacts = load(tmp_path, alpha=[signal(number, ts=text) for number, text in enumerate(texts, 1)])
    assert rejected(artifacts) == []
    expected = pd.to_datetime(pd.Series(texts), utc=True, format="ISO8601")
    assert list(artifacts.signals["ts"]) == list(expected)


# --------------------------------------------------------------------------------------------
# Prices


@pytest.mark.parametrize("bad_price", [0, -1.5, float("nan"), float("inf"), float("-inf")])
def test_load_artifacts__bad_price_jsonl(tmp_path: Path, bad_price: float) -> None:
    artifacts = load(
        tmp_path,
        prices=[
            bar("2024-01-01T00:00:00Z", price=100.0),
            bar("2024-01-01T01:00:00Z", price=bad_price),
            bar("2024-01-01T02:00:00Z", price=102.5),
        ],
    )
    assert rejected(artifacts) == [("prices.jsonl", 2, "price must be finite and > 0")]
    assert list(artifacts.prices["price"]) == [100.0, 102.5]
    assert counts(artifacts, "prices.jsonl") == (3, 2, 1, 0)


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("0", "price must be finite and > 0"),
        ("-2", "price must be finite and > 0"),
        ("NaN", "price must be finite and > 0"),
        ("nan", "price must be finite and > 0"),
        ("inf", "price must be finite and > 0"),
        ("-inf", "price must be finite and > 0"),
        ("abc", "wrong type for 'price'"),
        ("", "missing required field 'price'"),
    ],
)
def test_load_artifacts__bad_price_csv(tmp_path: Path, cell: str, reason: str) -> None:
    prices = write_csv(
        tmp_path / "prices.csv",
        ["ts", "symbol", "price"],
        [
            ["2024-01-01T00:00:00Z", "AAPL", "100"],
            ["2024-01-01T01:00:00Z", "AAPL", cell],
            ["2024-01-01T02:00:00", "AAPL", "1e2"],
        ],
    )
    artifacts = load(tmp_path, prices=prices)
    assert rejected(artifacts) == [("prices.csv", 3, reason)]
    assert list(artifacts.prices["price"]) == [100.0, 100.0]
    assert list(artifacts.prices["ts"]) == [utc("2024-01-01T00:00:00Z"), utc("2024-01-01T02:00:00Z")]
    assert counts(artifacts, "prices.csv") == (3, 2, 1, 0)


def test_load_artifacts__prices_sorted_by_symbol_then_time_and_repeated_bar_keeps_first(
    tmp_path: Path,
) -> None:
    artifacts = load(
        tmp_path,
        prices=[
            bar("2024-01-01T01:00:00Z", "MSFT", 11.0),
            bar("2024-01-01T00:00:00Z", "MSFT", 10.0),
            bar("2024-01-01T00:00:00Z", "AAPL", 1.0),
            bar("2024-01-01T02:00:00+02:00", "MSFT", 99.0),
            bar("2024-01-01T01:00:00Z", "AAPL", 2.0),
        ],
    )
    assert list(zip(artifacts.prices["symbol"], artifacts.prices["price"], strict=True)) == [
        ("AAPL", 1.0),
        ("AAPL", 2.0),
        ("MSFT", 10.0),
        ("MSFT", 11.0),
    ]
    assert rejected(artifacts) == [("prices.jsonl", 4, "duplicate price bar")]
    assert artifacts.data_quality.duplicates == 0
    assert counts(artifacts, "prices.jsonl") == (5, 4, 1, 0)


def test_load_artifacts__csv_layout_problems(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(
        "ts,symbol,price\n"
        "2024-01-01T00:00:00Z,AAPL,1\n"
        "\n"
        "2024-01-01T01:00:00Z,AAPL\n"
        "   \n"
        "2024-01-01T02:00:00Z,AAPL,3,extra\n"
        "2024-01-01T03:00:00Z,AAPL,4\n",
        encoding="utf-8",
    )
    artifacts = load(tmp_path, prices=path)
    assert rejected(artifacts) == [
        ("prices.csv", 4, "wrong number of columns (expected 3, got 2)"),
        ("prices.csv", 6, "wrong number of columns (expected 3, got 4)"),
    ]
    assert list(artifacts.prices["price"]) == [1.0, 4.0]
    assert counts(artifacts, "prices.csv") == (6, 2, 2, 2)


def test_load_artifacts__csv_quoted_newline_and_bad_utf8_take_the_slow_reader(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(
        b"ts,symbol,price\n"
        b'2024-01-01T00:00:00Z,"AA\nPL",1\n'
        b"2024-01-01T01:00:00Z,\xff\xfe,2\n"
        b"\n"
        b"2024-01-01T02:00:00Z,MSFT,x\n"
        b"2024-01-01T03:00:00Z,MSFT,4\n"
    )
    artifacts = load(tmp_path, prices=path)
    assert rejected(artifacts) == [
        ("prices.csv", 4, "invalid UTF-8"),
        ("prices.csv", 6, "wrong type for 'price'"),
    ]
    assert list(artifacts.prices["symbol"]) == ["AA\nPL", "MSFT"]
    assert list(artifacts.prices["price"]) == [1.0, 4.0]
    assert counts(artifacts, "prices.csv") == (5, 2, 2, 1)


# --------------------------------------------------------------------------------------------
# Telemetry


def test_load_artifacts__telemetry_frames(tmp_path: Path) -> None:
    artifacts = load(
        tmp_path,
        telemetry=[
            event("run", cost_usd=1.25),
            event("cost", agent="meanrev", cost_usd=0),
            event("behavioral_eval", score=91.5),
            event("safety_violation", severity=DROP, detail=DROP),
            event("regime", regime="volatile", symbol=DROP),
            event("regime", ts="2024-01-02T02:00:00+02:00"),
        ],
    )
    assert artifacts.costs.to_dict("list") == {
        "ts": [utc("2024-01-01T00:00:00Z")] * 2,
        "agent": ["momo", "meanrev"],
        "cost_usd": [1.25, 0.0],
        "kind": ["run", "cost"],
    }
    assert list(artifacts.evals["score"]) == [91.5]
    violation = artifacts.violations.iloc[0]
    assert (violation["agent"], violation["rule"]) == ("momo", "max-position")
    assert pd.isna(violation["severity"])
    assert pd.isna(violation["detail"])
    assert list(artifacts.regimes["regime"]) == ["volatile", "trending"]
    assert pd.isna(artifacts.regimes["symbol"].iloc[0])
    assert artifacts.regimes["symbol"].iloc[1] == "AAPL"
    assert artifacts.regimes["ts"].iloc[1] == utc("2024-01-02T00:00:00Z")
    assert counts(artifacts, "telemetry.jsonl") == (6, 6, 0, 0)
    assert_documented_dtypes(artifacts)


def test_load_artifacts__bad_telemetry_lines(tmp_path: Path) -> None:
    artifacts = load(
        tmp_path,
        telemetry=[
            event("run"),
            event("run", cost_usd=-1),
            event("cost", cost_usd=float("nan")),
            event("behavioral_eval", score=101),
            event("safety_violation", rule=DROP),
            event("regime", regime=3),
            {"ts": "2024-01-01T00:00:00Z", "agent": "momo"},
            event("deploy"),
            event("behavioral_eval", score=0),
            event("safety_violation", severity=2),
        ],
    )
    assert rejected(artifacts) == [
        ("telemetry.jsonl", 2, "cost_usd must be finite and >= 0"),
        ("telemetry.jsonl", 3, "cost_usd must be finite and >= 0"),
        ("telemetry.jsonl", 4, "score outside [0, 100]"),
        ("telemetry.jsonl", 5, "missing required field 'rule'"),
        ("telemetry.jsonl", 6, "wrong type for 'regime'"),
        ("telemetry.jsonl", 7, "missing required field 'type'"),
        ("telemetry.jsonl", 10, "wrong type for 'severity'"),
    ]
    assert list(artifacts.costs["cost_usd"]) == [1.5]
    assert list(artifacts.evals["score"]) == [0.0]
    assert counts(artifacts, "telemetry.jsonl") == (10, 2, 7, 1)


# --------------------------------------------------------------------------------------------
# Files: missing, unsupported, empty, directories, formats


def test_load_artifacts__missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"nowhere\.jsonl: file not found"):
        load(tmp_path, alpha=tmp_path / "nowhere.jsonl")


def test_load_artifacts__missing_telemetry_file_is_an_error_too(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"telemetry/events\.jsonl: file not found"):
        load(tmp_path, telemetry=tmp_path / "telemetry" / "events.jsonl")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
@pytest.mark.parametrize("name", ["alpha.jsonl", "alpha.csv", "alpha.jsonl.gz"])
def test_load_artifacts__utf16_text_is_named_as_such(tmp_path: Path, name: str, encoding: str) -> None:
    """Each line of a UTF-16 file (what some Windows tools write) was rejected as "not a JSON
    object": counted, but the reason hid the one fact that mattered (a newcomer's audit)."""
    text = "\ufeff" + json.dumps(signal()) + "\n" if encoding == "utf-16-be" else json.dumps(signal()) + "\n"
    data = text.encode(encoding)
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    with pytest.raises(
        ArtifactError, match=r"alpha\.[a-z.]+: UTF-16 text .* metasup reads UTF-8: convert it"
    ):
        load(tmp_path, alpha=path)


@pytest.mark.parametrize("name", ["alpha.json", "alpha.txt", "alpha.jsonl.bz2", "alpha"])
def test_load_artifacts__unsupported_extension(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(json.dumps(signal()) + "\n", encoding="utf-8")
    with pytest.raises(ArtifactError, match=rf"{name}: unsupported file type \(expected .*\.jsonl"):
        load(tmp_path, alpha=path)


def test_load_artifacts__invalid_gzip_and_parquet_are_errors(tmp_path: Path) -> None:
    (tmp_path / "alpha.jsonl.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ArtifactError, match=r"alpha\.jsonl\.gz: not a valid gzip file"):
        load(tmp_path, alpha=tmp_path / "alpha.jsonl.gz")
    (tmp_path / "prices.parquet").write_bytes(b"PAR1 but not really")
    with pytest.raises(ArtifactError, match=r"prices\.parquet: not a valid parquet file"):
        load(tmp_path, prices=tmp_path / "prices.parquet")


@pytest.mark.parametrize("name", ["alpha.jsonl", "alpha.jsonl.gz", "alpha.csv", "alpha.parquet"])
def test_load_artifacts__empty_file_is_not_an_error(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(b"") if name.endswith(".gz") else b"")
    artifacts = load(tmp_path, alpha=path)
    assert len(artifacts.signals) == 0
    assert counts(artifacts, name) == (0, 0, 0, 0)
    assert_documented_dtypes(artifacts)


def test_load_artifacts__header_only_csv_is_empty(tmp_path: Path) -> None:
    prices = write_csv(tmp_path / "prices.csv", ["ts", "symbol", "price"], [])
    artifacts = load(tmp_path, prices=prices)
    assert len(artifacts.prices) == 0
    assert counts(artifacts, "prices.csv") == (0, 0, 0, 0)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_load_artifacts__missing_required_column(tmp_path: Path, suffix: str) -> None:
    path = write_records(tmp_path / f"alpha{suffix}", [signal(1, confidence=DROP, horizon=DROP)])
    with pytest.raises(
        ArtifactError, match=rf"alpha\{suffix}: missing required column\(s\) confidence, horizon"
    ):
        load(tmp_path, alpha=path)


def test_load_artifacts__directory_read_in_name_order_with_per_file_lines(tmp_path: Path) -> None:
    folder = tmp_path / "alpha"
    folder.mkdir()
    write_jsonl(folder / "b.jsonl", [signal(3), signal(1, signal_id="s1"), "{bad"])
    write_jsonl(folder / "a.jsonl", [signal(1), signal(2, confidence=9)])
    write_records(folder / "c.csv", [signal(4)])
    (folder / ".DS_Store").write_bytes(b"\x00")
    (folder / "nested").mkdir()
    artifacts = load(tmp_path, alpha=folder)
    assert ids(artifacts) == ["s1", "s3", "s4"]
    assert [item.path for item in artifacts.data_quality.files[:3]] == [
        "alpha/a.jsonl",
        "alpha/b.jsonl",
        "alpha/c.csv",
    ]
    assert rejected(artifacts) == [
        ("alpha/a.jsonl", 2, "confidence outside [0, 1]"),
        ("alpha/b.jsonl", 2, "duplicate signal_id"),
        ("alpha/b.jsonl", 3, "invalid JSON"),
    ]
    assert artifacts.data_quality.duplicates == 1
    assert counts(artifacts, "alpha/a.jsonl") == (2, 1, 1, 0)
    assert counts(artifacts, "alpha/b.jsonl") == (3, 1, 2, 0)
    assert counts(artifacts, "alpha/c.csv") == (1, 1, 0, 0)


def test_load_artifacts__directory_with_unsupported_file_or_nothing_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "alpha"
    folder.mkdir()
    with pytest.raises(ArtifactError, match=r"alpha: directory holds no data files"):
        load(tmp_path, alpha=folder)
    write_jsonl(folder / "a.jsonl", [signal()])
    (folder / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(ArtifactError, match=r"alpha/notes\.txt: unsupported file type"):
        load(tmp_path, alpha=folder)


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".csv", ".csv.gz", ".parquet"])
def test_load_artifacts__formats_give_identical_frames(tmp_path: Path, suffix: str) -> None:
    signals = [
        signal(1, ts="2024-01-01T14:00:00+02:00"),
        signal(2, direction=-1, confidence=0.75, horizon="1d", strategy_class=DROP, notional=DROP),
        signal(3, ts="2024-01-02T00:00:00", symbol="MSFT", confidence=1.0, notional=2e6),
    ]
    prices = [bar("2024-01-01T12:00:00Z", "MSFT", 10.5), bar("2024-01-01T10:00:00Z", "AAPL", 100.25)]
    telemetry = [
        event("run"),
        event("behavioral_eval"),
        event("safety_violation"),
        event("regime"),
        event("cost"),
    ]
    reference = load(tmp_path, alpha=signals, prices=prices, telemetry=telemetry)

    def write(stem: str, records: list[dict[str, Any]]) -> Path:
        path = tmp_path / f"{stem}{suffix}"
        if suffix == ".csv.gz":
            write_records(tmp_path / f"{stem}.csv", records)
            path.write_bytes(gzip.compress((tmp_path / f"{stem}.csv").read_bytes()))
            return path
        return write_records(path, records)

    other = load(
        tmp_path,
        alpha=write("alpha", signals),
        prices=write("prices", prices),
        telemetry=write("telemetry", telemetry),
    )
    for name in FRAME_DTYPES:
        pd.testing.assert_frame_equal(getattr(other, name), getattr(reference, name), obj=name)
    assert [(item.lines, item.accepted) for item in other.data_quality.files] == [(3, 3), (5, 5), (2, 2)]


def test_load_artifacts__parquet_with_typed_columns(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {
            "ts": pd.to_datetime(["2024-01-01T00:00:00", "2024-01-01T01:00:00"]).tz_localize("Europe/Paris"),
            "signal_id": [7, 8],
            "agent": pd.Categorical(["momo", "momo"]),
            "symbol": ["AAPL", "AAPL"],
            "direction": np.array([1, 2], dtype=np.int8),
            "confidence": [Decimal("0.5"), Decimal("0.25")],
            "horizon": [3600, 60],
        }
    )
    path = tmp_path / "alpha.parquet"
    table.to_parquet(path)
    artifacts = load(tmp_path, alpha=path)
    assert rejected(artifacts) == [("alpha.parquet", 2, "unknown direction 2")]
    row = artifacts.signals.iloc[0]
    assert (row["ts"], row["signal_id"], row["agent"], row["confidence"]) == (
        utc("2023-12-31T23:00:00Z"),
        "7",
        "momo",
        0.5,
    )
    assert_documented_dtypes(artifacts)


# --------------------------------------------------------------------------------------------
# The fast path and the fallback


def test_load_artifacts__clean_file_is_never_read_line_by_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: Any) -> None:
        raise AssertionError("a clean file left pyarrow's single pass")

    monkeypatch.setattr(jsonl_module, "_read_refused_json", refuse)
    artifacts = load(tmp_path, alpha=[signal(index) for index in range(1, 501)])
    assert len(artifacts.signals) == 500


def test_load_artifacts__bad_lines_in_a_big_file_are_isolated(tmp_path: Path) -> None:
    count = 12000  # ~2.7 MiB: three chunks, the middle one clean, the others bisected
    bad_lines: dict[int, Line] = {
        7: "{not json",
        2500: '{"ts": 1',
        2501: "[]",
        4000: signal(4000, direction=True),  # valid JSON pyarrow refuses: its stretch keeps Python objects
        11999: "{",
    }
    lines = [bad_lines.get(number, signal(number)) for number in range(1, count + 1)]
    artifacts = load(tmp_path, alpha=lines)
    reasons = {
        7: "invalid JSON",
        2500: "invalid JSON",
        2501: "not a JSON object",
        4000: "wrong type for 'direction'",
        11999: "invalid JSON",
    }
    assert rejected(artifacts) == [("alpha.jsonl", number, reason) for number, reason in reasons.items()]
    assert ids(artifacts) == [f"s{number}" for number in range(1, count + 1) if number not in bad_lines]
    assert list(artifacts.signals["confidence"].unique()) == [0.5]
    assert list(artifacts.signals["horizon_s"].unique()) == [14400]
    assert list(artifacts.signals["direction"].unique()) == [1]
    assert counts(artifacts, "alpha.jsonl") == (count, count - 5, 5, 0)
    assert_documented_dtypes(artifacts)


def test_load_artifacts__mixed_types_in_flexible_fields_are_all_accepted(tmp_path: Path) -> None:
    count = 5 * LEAF_LINES
    lines = [
        signal(
            number,
            direction="long" if number % 3 else -1,
            horizon=3600 if number % 2 else "1h",
            signal_id=number if number % 5 == 0 else f"s{number}",
        )
        for number in range(1, count + 1)
    ]
    artifacts = load(tmp_path, alpha=lines)
    assert artifacts.data_quality.rejected_total == 0
    assert list(artifacts.signals["direction"]) == [1 if number % 3 else -1 for number in range(1, count + 1)]
    assert set(artifacts.signals["horizon_s"]) == {3600}
    assert ids(artifacts)[:5] == ["s1", "s2", "s3", "s4", "5"]
    assert_documented_dtypes(artifacts)


def test_load_artifacts__types_mixed_after_the_first_lines_still_take_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: Any) -> None:
        raise AssertionError("a valid file with mixed flexible types was read by stretches")

    monkeypatch.setattr(jsonl_module, "_read_refused_json", refuse)
    count = 1500  # the last lines are beyond what the first look at the file sees
    lines = [
        signal(number, direction=-1, horizon=60, signal_id=number)
        if number <= 1200
        else signal(number, direction="sell", horizon="1m", signal_id=f"x{number}")
        for number in range(1, count + 1)
    ]
    artifacts = load(tmp_path, alpha=lines)
    assert artifacts.data_quality.rejected_total == 0
    assert set(artifacts.signals["direction"]) == {-1}
    assert set(artifacts.signals["horizon_s"]) == {60}
    assert ids(artifacts)[1199:1201] == ["1200", "x1201"]


def test_load_artifacts__integers_and_integer_strings_read_alike(tmp_path: Path) -> None:
    artifacts = load(
        tmp_path,
        alpha=[
            signal(1, direction=2),
            signal(2, direction="2"),
            signal(3, horizon=-60),
            signal(4, horizon="-60"),
            signal(5, direction="-1", horizon="60", signal_id="5"),
            signal(6, direction=-1, horizon=60, signal_id=6),
        ],
    )
    assert rejected(artifacts) == [
        ("alpha.jsonl", 1, "unknown direction 2"),
        ("alpha.jsonl", 2, "unknown direction 2"),
        ("alpha.jsonl", 3, "horizon must be > 0"),
        ("alpha.jsonl", 4, "horizon must be > 0"),
    ]
    assert artifacts.signals[["signal_id", "direction", "horizon_s"]].to_dict("list") == {
        "signal_id": ["5", "6"],
        "direction": [-1, -1],
        "horizon_s": [60, 60],
    }


def test_load_artifacts__numeric_directions_file(tmp_path: Path) -> None:
    artifacts = load(
        tmp_path, alpha=[signal(1, direction=1), signal(2, direction=2.0), signal(3, direction=-1.0)]
    )
    assert rejected(artifacts) == [("alpha.jsonl", 2, "unknown direction 2")]
    assert list(artifacts.signals["direction"]) == [1, -1]


def test_load_artifacts__values_python_reads_but_pyarrow_does_not(tmp_path: Path) -> None:
    artifacts = load(
        tmp_path,
        alpha=[
            signal(1, signal_id=1),
            signal(2, signal_id=2**70),
            signal(3, signal_id=3, confidence=10**400),
        ],
    )
    assert rejected(artifacts) == [("alpha.jsonl", 3, "confidence outside [0, 1]")]
    assert ids(artifacts) == ["1", str(2**70)]


def test_load_artifacts__invalid_utf8_line(tmp_path: Path) -> None:
    path = tmp_path / "alpha.jsonl"
    path.write_bytes(
        (json.dumps(signal(1)) + "\n").encode()
        + b'{"agent": "\xff\xfe"}\n'
        + (json.dumps(signal(3)) + "\n").encode()
    )
    artifacts = load(tmp_path, alpha=path)
    assert rejected(artifacts) == [("alpha.jsonl", 2, "invalid UTF-8")]
    assert ids(artifacts) == ["s1", "s3"]


def test_load_artifacts__byte_order_mark_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "alpha.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(signal(1)) + "\n").encode())
    prices = tmp_path / "prices.csv"
    prices.write_bytes(b"\xef\xbb\xbfts,symbol,price\n2024-01-01T00:00:00Z,AAPL,5\n")
    artifacts = load(tmp_path, alpha=path, prices=prices)
    assert ids(artifacts) == ["s1"]
    assert list(artifacts.prices["price"]) == [5.0]


def test_load_artifacts__csv_quoted_newline_keeps_physical_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "alpha.csv"
    path.write_text(
        "ts,signal_id,agent,symbol,direction,confidence,horizon\n"
        '2024-01-01T00:00:00Z,s1,"momo\nv2",AAPL,long,0.5,4h\n'
        "2024-01-01T00:00:00Z,s2,momo,AAPL,up,0.5,4h\n"
        "2024-01-01T00:00:00Z,s3,momo,AAPL,short,0.5,1d\n",
        encoding="utf-8",
    )
    artifacts = load(tmp_path, alpha=path)
    assert rejected(artifacts) == [("alpha.csv", 4, "unknown direction 'up'")]
    assert list(artifacts.signals["agent"]) == ["momo\nv2", "momo"]
    assert list(artifacts.signals["horizon_s"]) == [14400, 86400]
    assert counts(artifacts, "alpha.csv") == (3, 2, 1, 0)


def test_load_artifacts__csv_blank_lines_before_the_header(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(
        "\n\nts,symbol,price\n2024-01-01T00:00:00Z,AAPL,0\n\n2024-01-01T01:00:00Z,AAPL,2\n", encoding="utf-8"
    )
    artifacts = load(tmp_path, prices=path)
    assert rejected(artifacts) == [("prices.csv", 4, "price must be finite and > 0")]
    assert list(artifacts.prices["price"]) == [2.0]
    assert counts(artifacts, "prices.csv") == (3, 1, 1, 1)


def test_load_artifacts__csv_with_a_repeated_column_is_an_error(tmp_path: Path) -> None:
    prices = write_csv(
        tmp_path / "prices.csv", ["ts", "symbol", "price", "price"], [["2024-01-01", "A", 1, 2]]
    )
    with pytest.raises(ArtifactError, match=r"prices\.csv: repeated column\(s\) price"):
        load(tmp_path, prices=prices)


def test_load_artifacts__prices_sorted_by_time_are_regrouped_by_symbol(tmp_path: Path) -> None:
    bars = [
        bar(f"2024-01-01T{hour:02d}:00:00Z", symbol, float(hour * 10 + index))
        for hour in range(3)
        for index, symbol in enumerate(["MSFT", "AAPL", "SPY"], 1)
    ]
    artifacts = load(tmp_path, prices=[*bars, bar("2024-01-01T02:00:00Z", "SPY", 999.0)])
    assert list(artifacts.prices["symbol"]) == ["AAPL"] * 3 + ["MSFT"] * 3 + ["SPY"] * 3
    assert list(artifacts.prices["price"]) == [2.0, 12.0, 22.0, 1.0, 11.0, 21.0, 3.0, 13.0, 23.0]
    assert list(artifacts.prices["ts"]) == [utc(f"2024-01-01T{hour:02d}:00:00Z") for hour in range(3)] * 3
    assert rejected(artifacts) == [("prices.jsonl", 10, "duplicate price bar")]


def test_load_artifacts__directory_mixing_formats_and_value_types(tmp_path: Path) -> None:
    folder = tmp_path / "alpha"
    folder.mkdir()
    write_jsonl(
        folder / "a.jsonl", [signal(1, direction=-1, signal_id=11), signal(2, direction=1, signal_id=12)]
    )
    write_records(folder / "b.csv", [signal(3, direction="sell"), signal(4, direction="bogus")])
    write_records(folder / "c.parquet", [signal(5, signal_id=15, strategy_class=DROP)])
    artifacts = load(tmp_path, alpha=folder)
    assert rejected(artifacts) == [("alpha/b.csv", 3, "unknown direction 'bogus'")]
    assert artifacts.signals[["signal_id", "direction"]].to_dict("list") == {
        "signal_id": ["11", "12", "s3", "15"],
        "direction": [-1, 1, -1, 1],
    }
    assert pd.isna(artifacts.signals["strategy_class"].iloc[3])
    assert_documented_dtypes(artifacts)


def test_load_artifacts__paths_outside_the_working_directory_are_shown_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write_jsonl(tmp_path / "alpha.jsonl", [signal(1, confidence=3)])
    monkeypatch.chdir(elsewhere)
    artifacts = load(elsewhere, alpha=tmp_path / "alpha.jsonl")
    assert rejected(artifacts) == [(str(tmp_path / "alpha.jsonl"), 1, "confidence outside [0, 1]")]


def test_load_artifacts__rejected_list_is_capped_but_all_are_counted(tmp_path: Path) -> None:
    total = MAX_REJECTED_LISTED + 50
    lines = [signal(number, confidence=2.0) for number in range(1, total + 1)] + [signal(total + 1)]
    artifacts = load(tmp_path, alpha=lines)
    listed = rejected(artifacts)
    assert len(listed) == MAX_REJECTED_LISTED
    assert [line for _, line, _ in listed] == list(range(1, MAX_REJECTED_LISTED + 1))
    assert artifacts.data_quality.rejected_total == total
    assert counts(artifacts, "alpha.jsonl") == (total + 1, 1, total, 0)


def test_load_artifacts__rejected_list_is_in_file_then_line_order(tmp_path: Path) -> None:
    artifacts = load(
        tmp_path,
        alpha=[signal(1), signal(1), signal(2, agent=3)],
        prices=[bar(price=-1)],
        telemetry=[event("run", cost_usd="x")],
    )
    assert rejected(artifacts) == [
        ("alpha.jsonl", 2, "duplicate signal_id"),
        ("alpha.jsonl", 3, "wrong type for 'agent'"),
        ("telemetry.jsonl", 1, "wrong type for 'cost_usd'"),
        ("prices.jsonl", 1, "price must be finite and > 0"),
    ]


def test_load_artifacts__every_line_is_accounted_for(tmp_path: Path) -> None:
    artifacts = load(
        tmp_path,
        alpha=[signal(1), "", "{x", {"type": "note"}, signal(1), signal(6, direction="up")],
        prices=[bar(), bar(price=0), "  "],
        telemetry=[event("run"), event("mystery"), {"agent": "a"}, ""],
    )
    for item in artifacts.data_quality.files:
        assert item.lines == item.accepted + item.rejected + item.ignored, item.path
    assert [(item.accepted, item.rejected, item.ignored) for item in artifacts.data_quality.files] == [
        (1, 3, 2),
        (1, 1, 2),
        (1, 1, 1),
    ]
    assert artifacts.data_quality.rejected_total == 5


# --------------------------------------------------------------------------------------------
# Artifacts.until


def test_until__drops_everything_after_as_of(tmp_path: Path) -> None:
    artifacts = load(
        tmp_path,
        alpha=[signal(1, ts="2024-01-01T00:00:00Z"), signal(2, ts="2024-01-03T00:00:00Z")],
        prices=[bar("2024-01-02T00:00:00Z"), bar("2024-01-02T00:00:01Z")],
        telemetry=[
            event(kind, ts=stamp)
            for kind in ("run", "behavioral_eval", "safety_violation", "regime")
            for stamp in ("2024-01-02T00:00:00Z", "2024-01-02T12:00:00Z")
        ],
    )
    cut = artifacts.until(pd.Timestamp("2024-01-02T00:00:00Z"))
    assert ids(cut) == ["s1"]
    assert list(cut.prices["ts"]) == [utc("2024-01-02T00:00:00Z")]
    for name in ("costs", "evals", "violations", "regimes"):
        assert list(getattr(cut, name)["ts"]) == [utc("2024-01-02T00:00:00Z")], name
    assert cut.data_quality == artifacts.data_quality
    assert len(artifacts.signals) == 2


@pytest.mark.parametrize(
    "arrow_type",
    [pa.timestamp("ns", tz="UTC"), pa.timestamp("us", tz="UTC"), pa.timestamp("ns", tz="+01:00")],
)
@pytest.mark.parametrize("with_null", [False, True])
def test_arrow_timestamps_become_the_same_pandas_column_as_to_pandas(
    arrow_type: pa.DataType, with_null: bool
) -> None:
    """The shortcut for UTC nanoseconds without nulls gives exactly what ``to_pandas`` gives."""
    values = [0, 1_736_121_600_000_000_000 // 1000, None if with_null else 7, -5]
    column = pa.chunked_array([pa.array(values[:2], pa.int64()), pa.array(values[2:], pa.int64())])
    stamps = column.cast(arrow_type)

    converted = _column_from_arrow(stamps)

    expected = stamps.to_pandas().reset_index(drop=True)
    assert converted.values.dtype == expected.dtype
    pd.testing.assert_series_equal(converted.values, expected)
    assert converted.missing.tolist() == [False, False, with_null, False]


@pytest.mark.parametrize("zone", ["UTC", None])
def test_utc_series__what_pandas_gives_with_nulls_as_nat_and_naive_read_as_utc(zone: str | None) -> None:
    """Parsed ``ts`` (UTC, or naive read as UTC) as epoch nanoseconds equals pandas' own conversion."""
    suffix = "Z" if zone else ""  # pyarrow casts text with an offset to UTC, text without to naive
    written = ["2025-01-06T00:00:04", None, "1970-01-01T00:00:00", "1677-09-22T00:12:43.145224193"]
    text = pa.array([None if value is None else value + suffix for value in written])
    stamps = text.cast(pa.timestamp("ns", tz=zone))

    converted = utc_series(pa.chunked_array([stamps.slice(0, 2), stamps.slice(2)]))

    expected = pd.Series(stamps.to_pandas())
    expected = expected.dt.tz_localize("UTC") if zone is None else expected
    pd.testing.assert_series_equal(converted, expected.astype("datetime64[ns, UTC]"))
    assert converted.isna().tolist() == [False, True, False, False]


@pytest.mark.parametrize(
    "second",
    ["ms", "naive", "new_york", "csv", "jsonl_with_a_bad_stamp"],
)
def test_load_artifacts__a_price_folder_of_differently_typed_files_keeps_every_good_bar(
    tmp_path: Path, second: str
) -> None:
    """Two price files, each fine alone: a Parquet file in ns UTC, and one in ms, naive, New York
    time, CSV text or JSON Lines with one bad stamp. Joined before their checks, the ``ts`` column
    became mixed objects and every bar of one file (or both) was rejected as "wrong type for 'ts'"."""
    folder = tmp_path / "market"
    folder.mkdir()
    stamps = pd.date_range("2024-01-01", periods=6, freq="h", tz="UTC")
    first = pd.DataFrame({"ts": stamps[:3], "symbol": "AAPL", "price": [100.0, 101.0, 102.0]})
    first.to_parquet(folder / "a.parquet", index=False)
    later = pd.DataFrame({"ts": stamps[3:], "symbol": "AAPL", "price": [103.0, 104.0, 105.0]})
    bad = 0
    if second == "ms":
        later.astype({"ts": "datetime64[ms, UTC]"}).to_parquet(folder / "b.parquet", index=False)
    elif second == "naive":
        later.assign(ts=later["ts"].dt.tz_localize(None)).to_parquet(folder / "b.parquet", index=False)
    elif second == "new_york":
        later.assign(ts=later["ts"].dt.tz_convert("America/New_York")).to_parquet(
            folder / "b.parquet", index=False
        )
    elif second == "csv":
        later.to_csv(folder / "b.csv", index=False)
    else:
        lines = [
            bar(ts=f"{stamp:%Y-%m-%dT%H:%M:%SZ}", price=price)
            for stamp, price in zip(later["ts"], later["price"], strict=True)
        ]
        write_jsonl(folder / "b.jsonl", [*lines, bar(ts="yesterday")])
        bad = 1

    artifacts = load(tmp_path, alpha=[signal()], prices=folder)

    assert list(artifacts.prices["ts"]) == list(stamps)
    assert list(artifacts.prices["price"]) == [100.0, 101.0, 102.0, 103.0, 104.0, 105.0]
    assert artifacts.data_quality.rejected_total == bad
    if bad:
        assert rejected(artifacts) == [("market/b.jsonl", 4, "unparsable timestamp")]


@pytest.mark.parametrize(
    "text",
    [
        "ts,symbol,price\r2024-01-01T00:00:00Z,AAPL,100\r2024-01-01T01:00:00Z,AAPL,101\r",
        "ts,symbol,price\r2024-01-01T00:00:00Z,AAPL,100\n2024-01-01T01:00:00Z,AAPL,101\n",
    ],
    ids=["every line ends in CR", "only the header does"],
)
def test_load_artifacts__a_csv_with_carriage_return_line_ends_is_refused_by_name(
    tmp_path: Path, text: str
) -> None:
    """A 'CSV (Macintosh)' export ends its lines in a bare CR: the header reader raised csv.Error,
    and the run ended as "Internal error (a bug in metasup …)"."""
    prices = tmp_path / "prices.csv"
    prices.write_bytes(text.encode())
    with pytest.raises(
        ArtifactError, match=r"prices\.csv: line 1 holds a carriage return \(\\r\) that ends no line"
    ):
        load(tmp_path, prices=prices)


def test_load_artifacts__a_file_name_that_is_not_utf8_is_shown_escaped(tmp_path: Path) -> None:
    """``prix_été.jsonl`` from a Latin-1 zip: Python holds its odd bytes as lone surrogates, which
    the review's JSON could not carry — ``evaluate --json`` ended as "Internal error" and left an
    empty file. The name is shown with the bytes escaped, and its signals load."""
    folder = tmp_path / "alpha"
    folder.mkdir()
    name = os.fsdecode(b"prix_\xe9t\xe9.jsonl")
    write_jsonl(folder / name, [signal()])

    artifacts = load(tmp_path, alpha=folder)

    assert next(item.path for item in artifacts.data_quality.files) == "alpha/prix_\\xe9t\\xe9.jsonl"
    assert len(artifacts.signals) == 1
    artifacts.data_quality.model_dump_json().encode("utf-8")  # no surrogate left to fail on


def test_load_artifacts__a_stray_quote_in_a_csv_counts_every_line_it_swallows(tmp_path: Path) -> None:
    """A quote opened on line 4 and never closed takes lines 5–7 into one record: the report said
    6 lines, 2 accepted, 1 rejected ("wrong number of columns"), and three bars were gone without
    a count. Each swallowed line is rejected, naming the quote."""
    prices = tmp_path / "prices.csv"
    bars = [f"2024-01-01T0{hour}:00:00Z,AAPL,{100 + hour}" for hour in range(6)]
    bars[2] = bars[2].replace(",AAPL,", ',"AAPL,')
    prices.write_text("ts,symbol,price\n" + "\n".join(bars) + "\n")

    artifacts = load(tmp_path, prices=prices)

    assert list(artifacts.prices["price"]) == [100.0, 101.0]
    assert counts(artifacts, "prices.csv") == (6, 2, 4, 0)
    assert rejected(artifacts) == [
        (
            "prices.csv",
            4,
            "wrong number of columns (expected 3, got 2); a quote opened on line 4 runs to line 7",
        ),
        ("prices.csv", 5, "inside the quoted field opened on line 4"),
        ("prices.csv", 6, "inside the quoted field opened on line 4"),
        ("prices.csv", 7, "inside the quoted field opened on line 4"),
    ]


def test_load_artifacts__a_csv_field_over_128_kib_rejects_its_line_only(tmp_path: Path) -> None:
    """A quoted newline sends the file to Python's csv reader, whose 128 KiB field limit made the
    whole file unusable for one pasted blob (exit 2, "field larger than field limit")."""
    prices = tmp_path / "prices.csv"
    rows = [
        "2024-01-01T00:00:00Z,AAPL,100",
        '2024-01-01T01:00:00Z,"MS\nFT",101',
        "2024-01-01T02:00:00Z,AAPL," + "9" * (200 << 10),
        "2024-01-01T03:00:00Z,AAPL,103",
    ]
    prices.write_text("ts,symbol,price\n" + "\n".join(rows) + "\n")
    limit = csv.field_size_limit()

    artifacts = load(tmp_path, prices=prices)

    assert sorted(artifacts.prices["price"]) == [100.0, 101.0, 103.0]
    assert [line for _, line, _ in rejected(artifacts)] == [5]
    assert csv.field_size_limit() == limit  # the process-wide limit is put back


def test_load_artifacts__json_lines_with_carriage_return_line_ends_say_so(tmp_path: Path) -> None:
    """A file whose lines end in a bare CR is one line to JSON Lines: it was rejected as "invalid
    JSON", which sent the user looking for a syntax error in three valid signals."""
    alpha = tmp_path / "alpha.jsonl"
    alpha.write_bytes(b"\r".join(json.dumps(signal(signal_id=f"s{i}")).encode() for i in range(3)) + b"\r")

    artifacts = load(tmp_path, alpha=alpha)

    assert rejected(artifacts) == [
        (
            "alpha.jsonl",
            1,
            "invalid JSON (carriage returns \\r inside the line: JSON Lines end lines with \\n)",
        )
    ]


def test_load_artifacts__an_agent_named_like_a_class_subject_is_rejected(tmp_path: Path) -> None:
    """Agents write their own signals: one named ``class:momentum`` would have been taken for the
    strategy class in kills and the ledger (found by an audit of the registry's own check)."""
    artifacts = load(tmp_path, alpha=[signal(1), signal(2, agent="class:momentum")])
    assert rejected(artifacts) == [
        ("alpha.jsonl", 2, "agent name starts with 'class:' (metasup names strategy classes so)")
    ]
    assert len(artifacts.signals) == 1
