"""``metasup convert``: the §2 artifacts as Parquet partitioned by day, the format to keep at scale (SPEC §8).

The artifacts are read and checked by the one loader (``ingest.load_artifacts``); what it accepts is
written, one folder per input, partitioned by the UTC day of ``ts`` (hive style:
``alpha/date=2026-10-30/part-0.parquet``), with the registry copied next to a ``metasup.yml`` that
points at them — the same config otherwise. Rejected lines are not carried over: the conversion
reports them (as ``evaluate`` does), and a review of the converted folder shows none. Telemetry of every
kind goes into one table with a ``type`` column, each kind in its original order.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from metasup.ingest.load import load_artifacts
from metasup.model.config import load_config, read_yaml_mapping
from metasup.model.review import DataQuality


def convert(config_path: Path, out: Path) -> DataQuality:
    """Write ``out/{alpha,telemetry,prices}/date=…/part-0.parquet`` and ``out/metasup.yml``."""
    config = load_config(config_path)
    artifacts = load_artifacts(config.artifacts)
    out.mkdir(parents=True, exist_ok=True)
    signals = artifacts.signals.rename(columns={"horizon_s": "horizon"})
    _write_by_day(signals, out / "alpha")
    telemetry = pd.concat(
        [
            artifacts.costs.rename(columns={"kind": "type"}),
            artifacts.evals.assign(type="behavioral_eval"),
            artifacts.violations.assign(type="safety_violation"),
            artifacts.regimes.assign(type="regime"),
        ],
        ignore_index=True,
    )
    _write_by_day(telemetry, out / "telemetry")
    _write_by_day(artifacts.prices, out / "prices")

    raw: dict[str, Any] = read_yaml_mapping(config_path)
    raw["artifacts"] = {"alpha": "alpha", "telemetry": "telemetry", "prices": "prices"}
    registry = out / config.registry.name
    if config.registry.resolve() != registry.resolve():
        shutil.copyfile(config.registry, registry)
    raw["registry"] = registry.name
    if config.comment_template is not None:
        raw["comment_template"] = str(config.comment_template.resolve())
    (out / "metasup.yml").write_text(
        "# written by `metasup convert`: the artifacts as Parquet partitioned by day\n"
        + yaml.safe_dump(raw, sort_keys=False),
        encoding="utf-8",
    )
    return artifacts.data_quality


def _write_by_day(frame: pd.DataFrame, folder: Path) -> None:
    """One Parquet file per UTC day of ``ts``, rows in their order; an empty frame gives one empty file."""
    if folder.exists():
        shutil.rmtree(folder)
    stamps = pd.to_datetime(frame["ts"], utc=True)
    days = stamps.dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    if len(frame) == 0:
        days = np.array(["1970-01-01"], dtype=object)
        frame = frame.iloc[:0]
    for day in sorted(set(days)):
        rows = frame if len(frame) == 0 else frame.loc[days == day]
        target = folder / f"date={day}"
        target.mkdir(parents=True)
        table = pa.Table.from_pandas(rows, preserve_index=False)
        pq.write_table(table, target / "part-0.parquet")
