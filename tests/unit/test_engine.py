"""Engine choice (SPEC §8) and the split by symbol, without a cluster."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metasup.engine import SCHEDULER_ENV, engine_settings, partitions
from metasup.engine.partitions import auto_partitions, split_by_symbol
from metasup.lp.statistics import booked_signals
from metasup.model.config import EngineConfig, artifact_url, config_from_mapping
from metasup.model.errors import ConfigError, InputError


def test_engine_section_defaults_and_typos() -> None:
    config = config_from_mapping({"artifacts": {"alpha": "a.jsonl", "prices": "p.csv"}}, Path("/w"))
    assert config.engine == EngineConfig(kind="local", address=None, partitions="auto")
    with pytest.raises(ConfigError, match=r"engine\.adress: unknown key"):
        config_from_mapping(
            {"artifacts": {"alpha": "a", "prices": "p"}, "engine": {"adress": "x"}}, Path("/w")
        )
    with pytest.raises(ConfigError, match=r"engine\.kind"):
        config_from_mapping(
            {"artifacts": {"alpha": "a", "prices": "p"}, "engine": {"kind": "spark"}}, Path("/w")
        )


def test_object_storage_paths_are_not_joined_to_the_config_folder() -> None:
    config = config_from_mapping(
        {"artifacts": {"alpha": "s3://bucket/alpha/", "prices": "p.csv"}}, Path("/w")
    )
    assert artifact_url(config.artifacts.alpha) == "s3://bucket/alpha"
    assert config.artifacts.prices == Path("/w/p.csv")
    assert artifact_url(Path("C:/data/x.csv")) is None


def test_flags_win_over_environment_over_config() -> None:
    configured = EngineConfig(kind="dask", address="tcp://config:8786")
    assert engine_settings(configured).address == "tcp://config:8786"
    env = {SCHEDULER_ENV: "tcp://env:8786"}
    assert engine_settings(configured, environ=env).address == "tcp://env:8786"
    assert engine_settings(configured, scheduler="tcp://flag:8786", environ=env).address == "tcp://flag:8786"
    assert engine_settings(configured, kind="local").kind == "local"
    assert engine_settings(EngineConfig(), environ=env).kind == "local"  # env never switches engines
    assert engine_settings(EngineConfig(), scheduler="tcp://x:1").kind == "dask"
    with pytest.raises(InputError, match="--scheduler"):
        engine_settings(EngineConfig(), kind="local", scheduler="tcp://x:1")


def test_split_by_symbol_keeps_every_signal_once_and_the_benchmark_everywhere() -> None:
    signals = pd.DataFrame({"symbol": ["A", "B", "A", "C", "D", "B"], "n": range(6)})
    prices = pd.DataFrame({"symbol": ["A", "B", "C", "D", "SPY", "SPY"], "n": range(6)})
    parts = list(split_by_symbol(signals, prices, "SPY", 3))
    assert len(parts) == 3
    assert sorted(n for s, _ in parts for n in s["n"]) == list(range(6))
    for part_signals, part_prices in parts:
        assert list(part_signals["n"]) == sorted(part_signals["n"])  # order kept
        assert set(part_signals["symbol"]) | {"SPY"} == set(part_prices["symbol"])
    assert len(list(split_by_symbol(signals.iloc[:0], prices, None, 4))) == 1


def test_auto_partitions_grow_with_the_signals_not_the_partition_size() -> None:
    assert auto_partitions(0, 2) == 4  # twice the workers, at the least
    assert auto_partitions(3_500_000, 2) == 4
    assert auto_partitions(10_000_000, 2) == 10  # a million signals a partition, at the most
    assert auto_partitions(10_000_001, 2) == 11
    assert auto_partitions(10_000_000, 8) == 16


def test_auto_partitions_keep_every_part_near_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(partitions, "SIGNALS_PER_PARTITION", 100)
    symbols = [f"S{i:03d}" for i in range(200)]
    signals = pd.DataFrame({"symbol": symbols * 5, "n": range(1000)})  # 5 signals a symbol
    prices = pd.DataFrame({"symbol": symbols, "n": range(200)})
    parts = list(split_by_symbol(signals, prices, None, auto_partitions(len(signals), 1)))
    assert len(parts) == 10
    assert max(len(part) for part, _ in parts) <= 100 + 5  # within one symbol of the limit
    assert sum(len(part) for part, _ in parts) == 1000


def _held_bytes(frame: pd.DataFrame) -> int:
    """Bytes of every numpy array the frame's columns keep alive, counting each array once."""
    roots = {}
    for column in frame.columns:
        root = frame[column].to_numpy()
        while isinstance(root.base, np.ndarray):
            root = root.base
        roots[id(root)] = root.nbytes
    return sum(roots.values())


@pytest.mark.parametrize("prod", [(), ("a",)])
def test_a_partitions_booked_rows_do_not_hold_on_to_its_reconciliation(prod: tuple[str, ...]) -> None:
    """A worker keeps each partition's result until the driver has gathered them all: the booked rows
    (none in a review) must be copies, not views that keep the whole reconciliation alive."""
    rows = 100_000
    recon = pd.DataFrame(
        {
            "status": "realized",
            "agent": "a",
            "strategy_class": "c",
            "ts": pd.Timestamp("2025-01-01", tz="UTC"),  # emitted: the LP report books by it
            "exit_ts": pd.Timestamp("2025-01-02", tz="UTC"),
            "pnl": np.ones(rows),
            "fee": np.zeros(rows),
            "confidence": np.full(rows, 0.5),
        }
    )
    booked = booked_signals(recon, prod, pd.Timestamp("2025-02-01", tz="UTC"))
    assert len(booked) == (rows if prod else 0)
    assert _held_bytes(booked) <= booked.memory_usage(index=False).sum()


@pytest.mark.parametrize(
    "address",
    ["garbage", "tcp://a..b:8786", "http://127.0.0.1:1", "tcp://127.0.0.1:notaport", "tcp://[::1"],
)
def test_a_scheduler_address_distributed_cannot_parse_is_an_input_error(address: str) -> None:
    """No connection is attempted: the address is refused as written, naming the flag's value."""
    from metasup.engine.dask import connect

    with (
        pytest.raises(InputError, match=r"not a scheduler address .*; use tcp://host:8786"),
        connect(EngineConfig(kind="dask", address=address)),
    ):
        pass
