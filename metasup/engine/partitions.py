"""The distributed review's units of work: signals and prices split by symbol, each part reduced to sums.

Every signal is reconciled against its own symbol's bars (and the benchmark's), so a split by symbol
loses nothing: each partition holds some symbols' signals and bars plus every benchmark bar. A
partition is reconciled by the one pure core (``evaluate.reconcile.reconcile``) and reduced to the
metrics' per-cell sums (``evaluate.metrics.signal_cell_sums``) and the skill statistics' sums
(``evaluate.skill_inputs.SkillInputs``: per-(agent, booked day) over the track record and the demotion window,
per-(agent, confidence bin) over the metrics' window); the driver merges them (``Sums.merged``,
``SkillInputs.merged``). The prod agents' realized signals, in the LP report's columns, come back
too: the rolling run's LP report books them. No dask here: ``engine/dask`` ships these functions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metasup.evaluate.cells import Sums
from metasup.evaluate.metrics import MetricGroups, signal_cell_sums
from metasup.evaluate.reconcile import reconcile
from metasup.evaluate.skill_inputs import SkillInputs
from metasup.evaluate.windows import Windows
from metasup.lp.statistics import booked_signals
from metasup.model.config import Config
from metasup.model.timestamps import utc


@dataclass(frozen=True)
class Shared:
    """What every partition is reduced with (scattered once; each worker fetches it once)."""

    groups: MetricGroups
    regimes: pd.DataFrame
    config: Config
    as_of: pd.Timestamp
    prod_agents: tuple[str, ...] = ()
    """Whose realized signals each partition brings back (``lp.statistics.booked_signals``)."""


@dataclass(frozen=True)
class PartitionSums:
    cells: Sums
    skill: SkillInputs
    benchmark_missing: int
    signals: int
    booked: pd.DataFrame
    """The realized signals of ``Shared.prod_agents`` (today's prod ones and those the ledger moved),
    the LP report's columns only (``lp.statistics.BOOKED_COLUMNS``)."""


def reduce_partition(signals: pd.DataFrame, prices: pd.DataFrame, shared: Shared) -> PartitionSums:
    """One partition reconciled and reduced to sums (runs on a worker)."""
    config, as_of = shared.config, utc(shared.as_of)
    reconciliation = reconcile(signals, prices, config.reconcile, as_of, config.benchmark)
    recon = reconciliation.signals
    windows = Windows.from_config(as_of, config.windows)
    return PartitionSums(
        cells=signal_cell_sums(recon, shared.groups, shared.regimes, windows, config),
        skill=SkillInputs.of(recon, as_of, config),
        benchmark_missing=reconciliation.benchmark_missing,
        signals=len(recon),
        booked=booked_signals(recon, shared.prod_agents, as_of),
    )


SIGNALS_PER_PARTITION: Final = 1_000_000
"""The most signals ``auto`` puts in one partition (unless one symbol alone has more)."""


def auto_partitions(signals: int, workers: int) -> int:
    """Twice the workers, so each has a second partition to start on; more when the signals are many,
    so that no partition holds more than :data:`SIGNALS_PER_PARTITION` of them.

    A worker reconciles one partition at a time per thread: sized by the count, a longer track
    record means more partitions, not bigger ones (what a worker process keeps between partitions
    is another matter: ``docs/scale.md``).
    """
    return max(2 * workers, math.ceil(signals / SIGNALS_PER_PARTITION))


def split_by_symbol(
    signals: pd.DataFrame, prices: pd.DataFrame, benchmark: str | None, count: int
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """At most ``count`` (signals, prices) parts, symbols dealt so that parts hold similar signal counts.

    Rows keep their order inside a part; the benchmark's bars are in every part. Parts are made one
    at a time, as they are asked for: a driver that ships each away before asking for the next
    never holds a second copy of all the signals.
    """
    signal_codes, symbols = pd.factorize(signals["symbol"])
    if len(symbols) == 0:
        yield signals, prices
        return
    per_symbol = np.bincount(signal_codes[signal_codes >= 0], minlength=len(symbols))
    parts = max(1, min(count, len(symbols)))
    part_of_symbol = np.empty(len(symbols), dtype=np.int64)
    load = np.zeros(parts, dtype=np.int64)
    for code in np.argsort(-per_symbol, kind="stable"):  # largest first, onto the lightest part
        lightest = int(np.argmin(load))
        part_of_symbol[code] = lightest
        load[lightest] += per_symbol[code]
    signal_part = np.where(signal_codes >= 0, part_of_symbol[np.maximum(signal_codes, 0)], 0)
    # Looked up by arrow (no Python string per bar: 10M bars would be 10M objects on the driver).
    wanted = pa.array(np.asarray(symbols, dtype=object), pa.large_string())
    found = pc.index_in(pa.array(prices["symbol"].array, pa.large_string()), value_set=wanted)
    price_codes = np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    price_part = np.where(price_codes >= 0, part_of_symbol[np.maximum(price_codes, 0)], -1)
    is_benchmark = (
        np.zeros(len(prices), dtype=np.bool_)
        if benchmark is None
        else np.asarray(prices["symbol"] == benchmark, dtype=np.bool_)
    )
    for part in range(parts):
        rows = np.flatnonzero(signal_part == part)
        bars = np.flatnonzero((price_part == part) | is_benchmark)
        yield signals.iloc[rows], prices.iloc[bars]
