"""``metasup convert``: the §2 artifacts as Parquet partitioned by day, the format to keep at scale (SPEC §8).

The artifacts are read and checked by the one loader (``ingest.load_artifacts``); what it accepts is
written, one folder per input, partitioned by the UTC day of ``ts`` (hive style:
``alpha/date=2026-10-30/part-0.parquet``), with the registry copied next to a ``metasup.yml`` that
points at them — the same config otherwise. Rejected lines are not carried over: the conversion
reports them (as ``evaluate`` does), and a review of the converted folder shows none. Telemetry of every
kind goes into one table with a ``type`` column, each kind in its original order (none when the
config names no telemetry); a ``run`` of unknown cost keeps its null ``cost_usd``.

``--out`` must be a local folder (a URL is refused: copy the folder there afterwards), new or empty,
or one an earlier ``convert`` wrote (its ``metasup.yml`` starts with :data:`MARKER`), and may neither
hold nor sit inside any input: a conversion into the workspace itself once replaced the user's
``metasup.yml`` and deleted ``alpha/``. The output is
written into a fresh folder beside ``--out`` and moved into place at the end, so a failed run leaves
the earlier output as it was, and a re-run leaves no day of the previous one behind.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from metasup.evaluate.findings import DATA_QUALITY_EXAMPLES
from metasup.ingest.load import load_artifacts
from metasup.model.artifacts import Artifacts
from metasup.model.config import Config, artifact_url, load_config, local_inputs
from metasup.model.errors import InputError
from metasup.model.review import DataQuality
from metasup.model.yaml_files import read_yaml_mapping

MARKER = "# written by `metasup convert`: the artifacts as Parquet partitioned by day"
"""The first line of the ``metasup.yml`` a conversion writes: how a later one knows the folder is its own."""

OUTPUT_NAMES = frozenset({"alpha", "telemetry", "prices", "metasup.yml"})


def convert(config_path: Path, out: Path) -> DataQuality:
    """Write ``out/{alpha,telemetry,prices}/date=…/part-0.parquet`` and ``out/metasup.yml``."""
    url = artifact_url(out)
    if url is not None:  # before anything: as a path, ``s3://b/p`` made an empty ``./s3:/b/``
        copy = f"aws s3 sync pq/ {url}" if url.startswith("s3://") else "your store's copy or sync tool"
        raise InputError(
            f"--out {url}: must be a local folder; convert into one (--out pq), then copy it to"
            f" object storage afterwards, e.g. {copy}"
        )
    config = load_config(config_path)
    check_out(out, [config_path, *local_inputs(config)], config.registry.name)
    artifacts = load_artifacts(config.artifacts, unknown_cost=math.nan)  # written as null, as it was
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise InputError(f"--out {out}: cannot create it ({exc.strerror or exc})") from None
    try:
        _write(config_path, config, artifacts, staging)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except OSError as exc:  # a full disk, a folder made read-only meanwhile: the run's, not a bug
        raise InputError(f"--out {out}: cannot write the conversion ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return artifacts.data_quality


def check_out(out: Path, inputs: Iterable[Path], registry_name: str) -> None:
    """Refuse an ``--out`` that is a file, holds or sits in an input, or holds anything but an earlier
    conversion (``InputError``, exit 2, before anything is read or written)."""
    target = out.resolve()
    if target.exists() and not target.is_dir():
        raise InputError(f"--out {out}: is a file; give a folder")
    for given in inputs:
        path = given.resolve()
        if path == target or target in path.parents or path in target.parents:
            raise InputError(
                f"--out {out}: overlaps the input {given}; give a folder outside the workspace's inputs"
            )
    if not target.is_dir() or not any(target.iterdir()):
        return
    config = target / "metasup.yml"
    written = config.is_file() and config.read_text(encoding="utf-8", errors="replace").startswith(MARKER)
    others = {entry.name for entry in target.iterdir()} - OUTPUT_NAMES - {registry_name}
    if not written or others:
        raise InputError(
            f"--out {out}: not empty, and not a folder `metasup convert` wrote"
            + (f" (also holds {', '.join(sorted(others))})" if written else "")
            + "; give a new or empty folder"
        )


def _write(config_path: Path, config: Config, artifacts: Artifacts, out: Path) -> None:
    signals = artifacts.signals.rename(columns={"horizon_s": "horizon"})
    _write_by_day(signals, out / "alpha")
    written = {"alpha": "alpha", "telemetry": "telemetry", "prices": "prices"}
    if config.artifacts.telemetry is None:  # none is no empty file (which a review would call one)
        del written["telemetry"]
    else:
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
    raw["artifacts"] = written
    registry = out / config.registry.name
    if config.registry.resolve() != registry.resolve():
        shutil.copyfile(config.registry, registry)
    raw["registry"] = registry.name
    if config.comment_template is not None:
        raw["comment_template"] = str(config.comment_template.resolve())
    (out / "metasup.yml").write_text(MARKER + "\n" + yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")


def _write_by_day(frame: pd.DataFrame, folder: Path) -> None:
    """One Parquet file per UTC day of ``ts``, rows in their order.

    An empty frame (an empty input, or one whose every line was rejected) has no day: it is one
    empty ``part-0.parquet`` holding the columns, with no ``date=`` folder. A ``date=1970-01-01``
    partition, as written until 2026-12, claimed data on a day there was none; and without any file
    the converted config would name a folder the loader refuses ("holds no data files"), where the
    input itself loaded fine. Read back, the empty file is what the input was: an artifact file
    without a row (a MEDIUM finding naming it).
    """
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    if len(frame) == 0:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), folder / "part-0.parquet")
        return
    stamps = pd.to_datetime(frame["ts"], utc=True)
    days = stamps.dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    for day in sorted(set(days)):
        target = folder / f"date={day}"
        target.mkdir()
        table = pa.Table.from_pandas(frame.loc[days == day], preserve_index=False)
        pq.write_table(table, target / "part-0.parquet")


def summary(quality: DataQuality, out: str) -> str:
    """What ``convert`` prints: what it wrote, and the lines it left out — the rejected ones, the first
    few named as the review's data-quality finding names them (``file:line reason``), so they can be
    fixed, and how many were ignored (blank, or of a ``type`` the input does not read: not
    ``signal`` in alpha, no telemetry kind), which the converted folder no longer has either."""
    folders = "alpha/, telemetry/, prices/" if (Path(out) / "telemetry").is_dir() else "alpha/, prices/"
    wrote = f"wrote {out}/: {folders} (by day), metasup.yml"
    ignored = sum(item.ignored for item in quality.files)
    also = f"; {ignored} ignored line(s) (blank, or of a type not read) not carried over" if ignored else ""
    if not quality.rejected_total:
        return f"{wrote}; no line rejected{also}"
    examples = "; ".join(f"{r.file}:{r.line} {r.reason}" for r in quality.rejected[:DATA_QUALITY_EXAMPLES])
    return f"{wrote}; {quality.rejected_total} rejected line(s) not carried over{also}\n  first: {examples}"
