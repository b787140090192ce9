"""Hive-partitioned Parquet (SPEC §8, "hive partitions allowed"): a ``key=value`` folder is a column.

``pq.write_to_dataset(table, "prices", partition_cols=["symbol"])`` and Spark's ``partitionBy`` leave
the partition column out of the files; until 2026-12 every such file was refused ("missing required
column(s) symbol").
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from artifact_factories import bar, load, rejected, signal, write_parquet

from metasup.model.errors import ArtifactError


def _bars() -> list[dict[str, object]]:
    return [
        bar("2024-01-01T00:00:00Z", "AAPL", 100.0),
        bar("2024-01-01T01:00:00Z", "AAPL", 101.0),
        bar("2024-01-01T00:00:00Z", "MSFT", 300.0),
        bar("2024-01-01T01:00:00Z", "BRK A", 5.0),
    ]


def test_write_to_dataset_partitions_read_as_the_flat_file(tmp_path: Path) -> None:
    flat = load(tmp_path, prices=write_parquet(tmp_path / "prices.parquet", _bars()))
    table = pa.Table.from_pylist(_bars())
    pq.write_to_dataset(table, str(tmp_path / "prices"), partition_cols=["symbol"])
    assert (tmp_path / "prices" / "symbol=BRK%20A").is_dir()  # pyarrow URL-encodes the value
    hive = load(tmp_path, prices=tmp_path / "prices")
    assert hive.prices.to_dict("list") == flat.prices.to_dict("list")
    assert hive.data_quality.rejected_total == 0


def test_signals_partitioned_by_agent_and_a_typed_field_from_its_folder(tmp_path: Path) -> None:
    """Every value from a folder is text, converted and checked as a column read from the file:
    ``confidence=0.25`` is a number, ``confidence=high`` is rejected like the same cell of a csv."""
    folders = {"agent=momo/confidence=0.25": signal(1), "agent=revy/confidence=high": signal(2)}
    for folder, line in folders.items():
        (tmp_path / "alpha" / folder).mkdir(parents=True)
        trimmed = {key: value for key, value in line.items() if key not in ("agent", "confidence")}
        write_parquet(tmp_path / "alpha" / folder / "part-0.parquet", [trimmed])
    artifacts = load(tmp_path, alpha=tmp_path / "alpha")
    assert artifacts.signals[["signal_id", "agent", "confidence"]].to_dict("records") == [
        {"signal_id": "s1", "agent": "momo", "confidence": 0.25}
    ]
    [(file, line, reason)] = rejected(artifacts)
    assert (file.endswith("alpha/agent=revy/confidence=high/part-0.parquet"), line) == (True, 1)
    assert "confidence" in reason


def test_a_null_partition_is_a_missing_value(tmp_path: Path) -> None:
    table = pa.Table.from_pylist([bar(symbol=None), bar(symbol="AAPL")])  # type: ignore[arg-type]
    pq.write_to_dataset(table, str(tmp_path / "prices"), partition_cols=["symbol"])
    assert (tmp_path / "prices" / "symbol=__HIVE_DEFAULT_PARTITION__").is_dir()
    artifacts = load(tmp_path, prices=tmp_path / "prices")
    assert list(artifacts.prices["symbol"]) == ["AAPL"]
    assert [reason for _, _, reason in rejected(artifacts)] == ["missing required field 'symbol'"]


def test_a_file_with_the_column_keeps_its_values_and_a_different_one_is_rejected(tmp_path: Path) -> None:
    """The file's own column wins; a row naming another value than its folder is ambiguous (pyarrow's
    datasets would silently take the folder's) and rejected, named, in ``data_quality``."""
    (tmp_path / "prices" / "symbol=AAPL").mkdir(parents=True)
    write_parquet(tmp_path / "prices" / "symbol=AAPL" / "part-0.parquet", [bar(), bar(symbol="MSFT")])
    artifacts = load(tmp_path, prices=tmp_path / "prices")
    assert list(artifacts.prices["symbol"]) == ["AAPL"]
    assert [(line, reason) for _, line, reason in rejected(artifacts)] == [
        (2, "symbol differs from its folder's (symbol=AAPL)")
    ]


def test_other_folders_are_no_columns_and_a_key_given_twice_must_agree(tmp_path: Path) -> None:
    folder = tmp_path / "prices" / "date=2024-01-01" / "venue=x" / "venue=y"
    folder.mkdir(parents=True)
    write_parquet(folder / "part-0.parquet", _bars())  # no price field: ignored, twice or not
    assert len(load(tmp_path, prices=tmp_path / "prices").prices) == 4
    twice = tmp_path / "twice" / "symbol=AAPL" / "symbol=MSFT"
    twice.mkdir(parents=True)
    write_parquet(twice / "part-0.parquet", [{"ts": "2024-01-01T00:00:00Z", "price": 1.0}])
    with pytest.raises(ArtifactError, match=r"part-0\.parquet: its folders give symbol two values"):
        load(tmp_path, prices=tmp_path / "twice")


def test_a_file_still_missing_a_column_names_it(tmp_path: Path) -> None:
    (tmp_path / "prices" / "venue=x").mkdir(parents=True)
    write_parquet(
        tmp_path / "prices" / "venue=x" / "part-0.parquet", [{"ts": "2024-01-01T00:00:00Z", "price": 1.0}]
    )
    with pytest.raises(ArtifactError, match=r"missing required column\(s\) symbol"):
        load(tmp_path, prices=tmp_path / "prices")
