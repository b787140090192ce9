"""Load and validate the artifacts: signals, telemetry and prices (SPEC §2).

The frames' columns are documented in ``docs/data-model.md``.

A bad line is never fatal and never silently dropped: every line of every file ends up accepted,
rejected (with file, line number and a short reason, in ``DataQuality``) or ignored (blank lines,
events of another type). Only a file that cannot be used at all — missing, unreadable, of an
unsupported type, a csv/parquet without a required column — raises :class:`ArtifactError`.

This module holds the entry point, :func:`load_artifacts` (re-exported by ``metasup.ingest``, the
wing's door); the work is done, fastest path first so clean data never costs Python work per
line, by:

* ``ingest.listing`` (local) and ``ingest.parquet_sources`` (object storage): which files a path names;
* ``ingest.files``: their bytes (memory-mapped, gunzipped), their lines;
* ``ingest.jsonl``: JSON Lines through pyarrow, piece by piece (16 MiB, pages released once read);
* ``ingest.jsonl_stretches``: a piece pyarrow refuses, bisected down to per-line diagnosis;
* ``ingest.tables``: csv and parquet through pyarrow, Python's ``csv`` only when pyarrow cannot
  say which line a record is on;
* ``ingest.rows``: the rows the readers produce, column by column, each located by file and line;
* ``ingest.checks``: vectorized field validation and the reason strings of rejected rows;
* ``ingest.fastpath``: hashed duplicate ids and blank-text screening read from arrow's buffers;
* ``ingest.frames``: per input, the checks in the SPEC's order and the frames they keep;
* ``ingest.bar_order``: price bars by symbol then time, the repeated ones found;
* ``ingest.quality``: :class:`LineAccounts`, the accounting of every line behind ``DataQuality``;
* ``ingest.empty_prices``: why no price bar was accepted, for the run that needs one to choose ``as_of``.

Decisions where the SPEC is silent:

* ``lines`` of a JSON Lines file counts its physical lines; blank (whitespace-only) lines are
  counted as ``ignored``. A csv's header is not counted: ``lines`` counts the records after it
  (blank lines included, as ``ignored``), and line numbers are physical, the header being line 1.
  A parquet file's "lines" are its rows, numbered from 1.
* The first reason found is reported, checking fields in the order of the SPEC's tables.
* ``signal_id`` may be a string or an integer (kept as its decimal string); an empty string is
  rejected. Required text fields must not be empty; an empty optional one counts as absent.
* Duplicates are looked for among otherwise valid signals only (a broken line cannot claim an id),
  across all the files of the input, in file order then line order; the first is kept.
* ``direction``: ±1 as a number or the strings ``"1"``, ``"+1"``, ``"-1"``, or ``long``/``buy``/
  ``short``/``sell`` in any case. ``horizon``: a positive whole number of seconds (number or digit
  string) or a duration such as ``"4h"`` / ``"1.5h"`` (``config.DURATION_PATTERN``), at most
  ``model.limits.MAX_DURATION_SECONDS``.
* Timestamps outside what ``datetime64[ns]`` holds (years ~1677–2262) are rejected.
* A line's ``type`` is compared exactly (``"signal"``, not ``"Signal"``); a non-string ``type`` is
  "another type" and ignored. A telemetry line without ``type`` is rejected.
* Optional telemetry fields that no frame holds (``tokens``, ``latency_ms``, ``status``) are not
  validated. Optional text fields that a frame holds (``severity``, ``detail``, ``symbol``) must be
  strings when present.
* A JSON Lines line that does not start with ``{`` (after whitespace) is rejected as
  ``not a JSON object`` before pyarrow reads the file (it crashes on some of them).
* A ``run`` event with ``"cost_usd": null`` is a run of unknown cost: kept at 0.0 and counted in
  ``DataQuality.cost_unknown``; without the key it is rejected, as is a ``cost`` event with null.
  In a Parquet file with a ``cost_usd`` column, a null cell is that ``null`` (a column cannot leave
  one row's field out): what ``metasup convert`` writes for such a run.
* A JSON object with a repeated key is rejected (``duplicate key 'x'``): which value was meant is
  ambiguous. A leading UTF-8 byte order mark is skipped.
* A directory is read recursively, in the order of each file's path below it; hidden entries,
  ``_``-prefixed folders and ``_``-prefixed non-data files (``_SUCCESS``) are skipped, any other file
  must have a supported extension, and a directory without a data file is an error
  (``ingest.listing``). ``.csv.gz`` is accepted as well.
* File paths in messages and in ``DataQuality`` are relative to the working directory when the file
  lies under it, else as configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa

from metasup.ingest.empty_prices import explain_empty
from metasup.ingest.files import UTF16_BOMS, suffix_of
from metasup.ingest.frames import (
    PRICES,
    SIGNALS,
    TELEMETRY,
    TELEMETRY_FRAMES,
    concat_frames,
    empty_frame,
    prices_frame,
    signals_frame,
    telemetry_frames,
)
from metasup.ingest.jsonl import read_jsonl
from metasup.ingest.parquet_sources import hive_partitions, shown_path, source_content, source_files
from metasup.ingest.quality import LineAccounts
from metasup.ingest.rows import InputSpec, Rows
from metasup.ingest.tables import read_csv, read_parquet
from metasup.model.artifacts import Artifacts
from metasup.model.config import ArtifactsConfig
from metasup.model.errors import ArtifactError

Progress = Callable[[str], None]


def load_artifacts(
    config: ArtifactsConfig, progress: Progress | None = None, *, unknown_cost: float = 0.0
) -> Artifacts:
    """Read and validate every artifact file of ``config``.

    Raises :class:`ArtifactError` when a file cannot be used at all; bad lines only end up in
    ``data_quality``. ``progress`` receives short messages (``"reading alpha/events.jsonl"``).
    ``unknown_cost`` is the ``cost_usd`` a ``run`` of unknown cost gets: 0.0, adding nothing to
    sums; ``metasup convert`` asks for NaN, to write it as the null it was.
    """
    say: Progress = progress if progress is not None else _quiet
    alpha_files = source_files(config.alpha)  # a file, a folder, a glob, hive partitions, s3://…
    telemetry_files = None if config.telemetry is None else source_files(config.telemetry)
    price_files = source_files(config.prices)

    accounts = LineAccounts()
    alpha_ids = _register(alpha_files, accounts)
    telemetry_ids = None if telemetry_files is None else _register(telemetry_files, accounts)
    price_ids = _register(price_files, accounts)
    # Prices, then telemetry, are read and checked in a second thread while the signals are read in
    # this one: pyarrow and most numpy work release the GIL, and the Python work of one input fills
    # the gaps of the other. Files were numbered above, in order, and bookings in the accounts only
    # append, so the report does not depend on which thread gets there first.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending_prices = pool.submit(_prices, price_files, price_ids, accounts, say)
        pending_telemetry = (
            None
            if telemetry_files is None or telemetry_ids is None
            else pool.submit(_telemetry, telemetry_files, telemetry_ids, accounts, say, unknown_cost)
        )
        signals = signals_frame(_pieces(alpha_files, alpha_ids, SIGNALS, accounts, say), accounts)
        telemetry = (
            {name: empty_frame(name) for name in TELEMETRY_FRAMES}
            if pending_telemetry is None
            else pending_telemetry.result()
        )
        prices = pending_prices.result()
    data_quality = accounts.report()
    explain_empty(prices, price_files, price_ids, accounts, data_quality.files)
    return Artifacts(
        signals=signals,
        costs=telemetry["costs"],
        evals=telemetry["evals"],
        violations=telemetry["violations"],
        regimes=telemetry["regimes"],
        prices=prices,
        data_quality=data_quality,
    )


def _quiet(_message: str) -> None:
    """Progress sink when nobody listens."""


def _register(files: Sequence[Path], accounts: LineAccounts) -> list[int]:
    """Number the files of one input in the line accounts, in order, before any is read."""
    return [accounts.add_file(shown_path(path)) for path in files]


def _prices(
    files: Sequence[Path], file_ids: Sequence[int], accounts: LineAccounts, say: Progress
) -> pd.DataFrame:
    prices = prices_frame(_pieces(files, file_ids, PRICES, accounts, say), accounts)
    pa.default_memory_pool().release_unused()
    return prices


def _telemetry(
    files: Sequence[Path],
    file_ids: Sequence[int],
    accounts: LineAccounts,
    say: Progress,
    unknown_cost: float,
) -> dict[str, pd.DataFrame]:
    """The telemetry frames, built piece by piece: each event is checked on its own, so only the
    frames' columns of earlier pieces, never every field of every line, are held at once."""
    pieces = _pieces(files, file_ids, TELEMETRY, accounts, say)
    parts = [telemetry_frames(rows, accounts, unknown_cost) for rows in pieces]
    return {name: concat_frames([part[name] for part in parts]) for name in TELEMETRY_FRAMES}


def _pieces(
    files: Sequence[Path], file_ids: Sequence[int], spec: InputSpec, accounts: LineAccounts, say: Progress
) -> Iterator[Rows]:
    """The rows of one input in order: a csv or parquet file at once, JSON Lines piece by piece."""
    for path, file_id in zip(files, file_ids, strict=True):
        shown = accounts.paths[file_id]
        say(f"reading {shown}")
        suffix = suffix_of(path)
        assert suffix is not None  # source_files only lets supported files through
        data = source_content(path, suffix).without_bom()
        if not suffix.startswith(".parquet") and data.bytes(0, 2) in UTF16_BOMS:
            raise ArtifactError(  # else each line was rejected as "not a JSON object" (an audit)
                f"{shown}: UTF-16 text (it starts with a UTF-16 byte order mark); metasup reads "
                "UTF-8: convert it, e.g. `iconv -f UTF-16 -t UTF-8 OLD > NEW`"
            )
        if suffix.startswith(".jsonl"):
            yield from read_jsonl(data, spec, file_id, accounts)
        elif suffix.startswith(".csv"):
            yield read_csv(data, spec, file_id, accounts, shown, typed_timestamps=len(files) == 1)
        else:
            yield read_parquet(
                data, spec, file_id, accounts, shown, hive_partitions(path, shown, spec.fields)
            )
