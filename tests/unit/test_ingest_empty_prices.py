"""When no price bar is accepted, ``as_of`` cannot be taken from the bars: the error names the prices
file, how many rows it refused, the first one and why — or that the file is empty. It used to say
"no valid price bars: cannot choose as_of (pass --as-of)", for a file of 4,034 epoch-second bars."""

from __future__ import annotations

from pathlib import Path

import pytest
from artifact_factories import bar, load, signal, write_csv, write_jsonl

from metasup.model.errors import ArtifactError
from metasup.runner import default_as_of

TAIL = "; without a valid price bar, as_of cannot be chosen"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def why_no_as_of(tmp_path: Path, prices: Path, alpha: Path | None = None) -> str:
    artifacts = load(tmp_path, prices=prices, alpha=alpha)
    assert artifacts.prices.empty
    with pytest.raises(ArtifactError) as raised:
        default_as_of(artifacts)
    return str(raised.value)


def test_epoch_second_timestamps_name_the_file_the_count_and_the_first_line(tmp_path: Path) -> None:
    prices = write_csv(
        tmp_path / "prices.csv",
        ["ts", "symbol", "price"],
        [[1785765600 + 3600 * i, "AAPL", 100.5] for i in range(4)],
    )
    assert why_no_as_of(tmp_path, prices) == (
        "prices.csv: 0 of 4 rows accepted"
        " (first rejected: line 2, unparsable timestamp: '1785765600,AAPL,100.5')" + TAIL
    )


def test_lowercase_t_and_z_in_json_lines(tmp_path: Path) -> None:
    prices = write_jsonl(
        tmp_path / "prices.jsonl", [bar("2024-01-01t00:00:00z"), bar("2024-01-01t01:00:00z")]
    )
    assert why_no_as_of(tmp_path, prices) == (
        "prices.jsonl: 0 of 2 rows accepted (first rejected: line 1, unparsable timestamp:"
        """ '{"ts": "2024-01-01t00:00:00z", "symbol": "AAPL", "price": 100.0}')""" + TAIL
    )


@pytest.mark.parametrize("text", ["", "ts,symbol,price\n"], ids=["empty", "header only"])
def test_an_empty_prices_file_is_called_empty(tmp_path: Path, text: str) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_text(text, encoding="utf-8")
    assert why_no_as_of(tmp_path, prices) == "prices.csv: empty, no price rows" + TAIL


def test_the_first_price_line_is_found_behind_many_rejected_signals(tmp_path: Path) -> None:
    """``data_quality`` lists the first 100 rejected lines of all files: here all of the signals'."""
    alpha = write_jsonl(tmp_path / "alpha.jsonl", [signal(1), *["{bad"] * 150])
    market = tmp_path / "market"
    market.mkdir()
    write_csv(market / "a.csv", ["ts", "symbol", "price"], [])
    write_csv(market / "b.csv", ["ts", "symbol", "price"], [["2024-01-01T00:00:00Z", "AAPL", -1]])
    assert why_no_as_of(tmp_path, market, alpha) == (
        "2 price files (market/a.csv, market/b.csv): 0 of 1 rows accepted (first rejected: market/b.csv"
        " line 2, price must be finite and > 0: '2024-01-01T00:00:00Z,AAPL,-1')" + TAIL
    )
