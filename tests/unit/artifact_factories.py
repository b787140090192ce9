"""Builders of artifact files for the loader's tests: valid defaults, any field overridable.

Every builder writes real files (``.jsonl``, ``.jsonl.gz``, ``.csv``, ``.parquet``) so the tests go
through the same readers a user's data does.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from metasup.ingest import load_artifacts
from metasup.model.artifacts import Artifacts
from metasup.model.config import ArtifactsConfig

Line = Mapping[str, Any] | str
"""A line to write: a mapping becomes one JSON object, a string is written verbatim."""

DROP = object()
"""Value for ``signal(field=DROP)``: leave the field out of the line."""


def signal(index: int = 1, **fields: Any) -> dict[str, Any]:
    """A valid signal line; ``signal_id`` is ``s<index>``. ``DROP`` removes a field."""
    line: dict[str, Any] = {
        "ts": f"2024-01-01T{index % 24:02d}:00:00Z",
        "signal_id": f"s{index}",
        "agent": "momo",
        "strategy_class": "momentum",
        "symbol": "AAPL",
        "direction": 1,
        "confidence": 0.5,
        "horizon": "4h",
        "notional": 1000.0,
    }
    line.update(fields)
    return {key: value for key, value in line.items() if value is not DROP}


def bar(ts: str = "2024-01-01T00:00:00Z", symbol: str = "AAPL", price: Any = 100.0) -> dict[str, Any]:
    return {"ts": ts, "symbol": symbol, "price": price}


def event(kind: str, **fields: Any) -> dict[str, Any]:
    """A valid telemetry event of ``kind`` with plausible fields; ``DROP`` removes a field."""
    defaults: dict[str, dict[str, Any]] = {
        "run": {"agent": "momo", "cost_usd": 1.5, "tokens": 1200, "latency_ms": 800, "status": "ok"},
        "cost": {"agent": "momo", "cost_usd": 2.0},
        "behavioral_eval": {"agent": "momo", "score": 85.0},
        "safety_violation": {
            "agent": "momo",
            "rule": "max-position",
            "severity": "high",
            "detail": "3x limit",
        },
        "regime": {"regime": "trending", "symbol": "AAPL"},
    }
    line: dict[str, Any] = {"type": kind, "ts": "2024-01-01T00:00:00Z", **defaults.get(kind, {})}
    line.update(fields)
    return {key: value for key, value in line.items() if value is not DROP}


def write_jsonl(path: Path, lines: Iterable[Line]) -> Path:
    """One line per item; JSON ``NaN``/``Infinity`` literals are allowed on purpose (bad input)."""
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_records_csv(path: Path, records: Sequence[Mapping[str, Any]]) -> Path:
    """Records as csv, columns in first-seen order, an absent field as an empty cell."""
    header = list(dict.fromkeys(key for record in records for key in record))
    return write_csv(path, header, ([record.get(key, "") for key in header] for record in records))


def write_parquet(path: Path, records: Sequence[Mapping[str, Any]]) -> Path:
    """Records as parquet; an absent field is null (every record gets every column, in first-seen order)."""
    columns = list(dict.fromkeys(key for record in records for key in record))
    pq.write_table(
        pa.Table.from_pylist([{key: record.get(key) for key in columns} for record in records]), path
    )
    return path


def write_records(path: Path, records: Sequence[Mapping[str, Any]]) -> Path:
    """``records`` in the format ``path``'s extension names."""
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        return write_jsonl(path, records)
    if path.name.endswith(".csv"):
        return write_records_csv(path, records)
    return write_parquet(path, records)


def load(
    directory: Path,
    alpha: Iterable[Line] | Path | None = None,
    prices: Iterable[Line] | Path | None = None,
    telemetry: Iterable[Line] | Path | None = None,
) -> Artifacts:
    """Write what is given as lines (or use the given paths) and load it.

    Without ``alpha``/``prices`` a single valid signal / bar is used, so a test only writes the
    input it is about.
    """

    def place(name: str, given: Iterable[Line] | Path | None, default: list[Line]) -> Path:
        if isinstance(given, Path):
            return given
        return write_jsonl(directory / name, default if given is None else given)

    alpha_path = place("alpha.jsonl", alpha, [signal()])
    prices_path = place("prices.jsonl", prices, [bar()])
    telemetry_path = None if telemetry is None else place("telemetry.jsonl", telemetry, [])
    return load_artifacts(ArtifactsConfig(alpha=alpha_path, prices=prices_path, telemetry=telemetry_path))


def rejected(artifacts: Artifacts) -> list[tuple[str, int, str]]:
    """The listed rejected lines as ``(file, line, reason)``."""
    return [(item.file, item.line, item.reason) for item in artifacts.data_quality.rejected]


def counts(artifacts: Artifacts, path: str) -> tuple[int, int, int, int]:
    """``(lines, accepted, rejected, ignored)`` of one file."""
    quality = next(item for item in artifacts.data_quality.files if item.path == path)
    return quality.lines, quality.accepted, quality.rejected, quality.ignored
