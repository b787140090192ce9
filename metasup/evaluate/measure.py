"""What a review measures before it decides: reconciliation, metrics, skill sums (SPEC §3.1–3.2, §3.7).

``supervise`` takes a :data:`Measure`; :func:`measure_locally` (the default) reconciles every signal
and computes the metrics and the skill sums here, in this process. A distributed engine
(``engine/dask``) gives another ``Measure`` that runs the same steps (``reconcile``,
``metrics.signal_cell_sums``, ``skill_inputs.SkillInputs.of``, …) on partitions of the signals and merges
their sums; every decision after it is the same code.
"""

from __future__ import annotations

from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from metasup.evaluate.metrics import MetricsTable, compute_metrics
from metasup.evaluate.reconcile import reconcile
from metasup.evaluate.skill_inputs import SkillInputs
from metasup.model.artifacts import Artifacts
from metasup.model.config import Config
from metasup.model.registry import Registry


@dataclass(frozen=True)
class Measurement:
    reconciled: pd.DataFrame
    """The reconciled signals at ``as_of``. An engine that reconciles elsewhere and gathers sums
    (``engine/dask``) brings back at most what the LP report books, when asked to: the prod agents'
    realized signals, in ``lp.statistics.BOOKED_COLUMNS`` (else no rows)."""
    benchmark_missing: int
    table: MetricsTable
    skill: SkillInputs
    """The sums behind the skill statistics and the demotion rule (SPEC §3.7, §3.8)."""


class Measure(Protocol):
    """``(visible artifacts, registry, config, as_of) → Measurement``; the artifacts are cut at
    ``as_of``. ``booked``: agents besides today's prod ones whose realized signals the LP report may
    book (the ledger moved them in or out of prod), for an engine that brings back only those."""

    def __call__(
        self,
        visible: Artifacts,
        registry: Registry,
        config: Config,
        as_of: pd.Timestamp,
        booked: Collection[str] = (),
    ) -> Measurement: ...


def measure_locally(
    visible: Artifacts,
    registry: Registry,
    config: Config,
    as_of: pd.Timestamp,
    booked: Collection[str] = (),  # every signal is reconciled here, booked ones included
) -> Measurement:
    """Reconcile, then the metrics and (in a second thread) the skill sums, which are independent.

    numpy and pandas' group kernels release the GIL for most of that work, so the two overlap on
    a second core (``docs/performance.md``); neither result depends on which finishes first.
    """
    reconciliation = reconcile(visible.signals, visible.prices, config.reconcile, as_of, config.benchmark)
    with ThreadPoolExecutor(max_workers=1) as pool:
        skill = pool.submit(SkillInputs.of, reconciliation.signals, as_of, config)
        table = compute_metrics(reconciliation.signals, visible, registry, config, as_of)
        return Measurement(reconciliation.signals, reconciliation.benchmark_missing, table, skill.result())
