"""Per-agent and per-strategy-class metrics (SPEC §3.2).

The computation has two halves so that an agent's numbers and its class's numbers can never
disagree on a definition:

1. *facts* (``row_facts``): every signal and telemetry event is turned, once, into per-row arrays
   that say which windows it falls in (W, P0..P3, W \\ P0; ``windows``), its weighted excess
   return, whether its regime mismatches its agent's declaration (``regimes``), and so on;
2. *aggregation* (``cells``): those arrays are summed once per *cell*, the pair (agent, class) a
   row belongs to (``groups`` says which), by :class:`Cells` and :class:`Sums`; an agent's sums are
   those of its cells, and so are a class's. Every metric is then a ratio of its group's sums, by
   one function for both (:func:`metric_columns`, here).

Reductions are ``np.bincount`` over integer cell codes and the regime lookup is two
``merge_asof`` joins, so there is no Python loop over events (timings: see
``docs/performance.md``).

Nothing after ``as_of`` exists (SPEC §3): later signals and telemetry are dropped, and a signal
whose exit bar lies after ``as_of`` (a reconciliation made at a later date) is counted as ``open``,
which is what reconciling at ``as_of`` would have said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from metasup.evaluate.cells import Cells, Sums, ratio
from metasup.evaluate.columns import NO_GROUP, BoolArray, FloatArray, IntArray, codes
from metasup.evaluate.groups import (
    collect_agent_names,
    collect_class_names,
    declared_regimes,
    most_common_class,
    resolve_agent_classes,
    signal_class_codes_for,
)
from metasup.evaluate.regimes import regime_codes_at_signals, regime_mismatch
from metasup.evaluate.row_facts import SignalFacts, TelemetryFacts, status_at
from metasup.evaluate.windows import N_PERIODS, Windows
from metasup.model.artifacts import Artifacts
from metasup.model.config import Config
from metasup.model.registry import Registry
from metasup.model.review import Metrics
from metasup.model.timestamps import utc

__all__ = [  # the names this module has always offered; most now live in the modules above
    "INTEGER_METRICS",
    "NO_GROUP",
    "N_PERIODS",
    "BoolArray",
    "Cells",
    "FloatArray",
    "IntArray",
    "MetricGroups",
    "MetricsTable",
    "SignalFacts",
    "Sums",
    "TelemetryFacts",
    "Windows",
    "aggregate",
    "collect_agent_names",
    "collect_class_names",
    "compute_metrics",
    "declared_regimes",
    "metric_columns",
    "metrics_table",
    "most_common_class",
    "regime_codes_at_signals",
    "regime_mismatch",
    "resolve_agent_classes",
    "signal_cell_sums",
    "signal_class_codes_for",
    "status_at",
    "telemetry_cell_sums",
]


@dataclass(frozen=True)
class MetricsTable:
    """SPEC §3.2 metrics for every agent and every strategy class, and which class each agent is in.

    The sums behind them come along (row ``i`` of ``agent_sums`` is the ``i``-th agent, and so on;
    ``total`` is one row over every signal and cost), for what is built from the same sums:
    the attribution (``portfolio.attribute``).
    """

    agents: dict[str, Metrics]
    classes: dict[str, Metrics]
    agent_class: dict[str, str]
    agent_sums: Sums = field(compare=False)  # derived data: tables are equal when their metrics are
    class_sums: Sums = field(compare=False)
    total: Sums = field(compare=False)


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def compute_metrics(
    recon: pd.DataFrame,
    artifacts: Artifacts,
    registry: Registry,
    config: Config,
    as_of: pd.Timestamp,
) -> MetricsTable:
    """Every SPEC §3.2 metric, per agent and per strategy class, evaluated at ``as_of``.

    ``recon`` is the reconciled signals frame (``docs/data-model.md``); telemetry and regimes come
    from ``artifacts``. Both are already cut at ``as_of`` (``model.artifacts``: the one cut).
    Agents are the registry's plus every agent seen in signals or telemetry up to ``as_of``;
    classes are the registry's plus every class a signal or an agent falls in.

    The steps are public so that a distributed engine (``engine/dask``) runs the same ones: the
    groups from all rows, the signals' cell sums per partition, the telemetry's once, merged.
    """
    windows = Windows.from_config(utc(as_of), config.windows)
    groups = MetricGroups.of(registry, recon, artifacts)
    signals = signal_cell_sums(recon, groups, artifacts.regimes, windows, config)
    telemetry = telemetry_cell_sums(artifacts, groups, windows)
    return metrics_table(groups, Sums.merged([signals, telemetry]), config)


@dataclass(frozen=True)
class MetricGroups:
    """Which agents and classes there are and how they map: the frame every partition's cells share."""

    agent_names: list[str]
    class_names: list[str]
    agent_class: dict[str, str]
    declared: list[list[str]]
    """Per agent (in ``agent_names`` order), the regimes it declares (empty: any)."""

    @classmethod
    def of(cls, registry: Registry, signals: pd.DataFrame, artifacts: Artifacts) -> MetricGroups:
        """From the signals (``agent``, ``strategy_class``) and telemetry frames up to ``as_of``."""
        frames = [signals, artifacts.costs, artifacts.evals, artifacts.violations]
        agent_names = collect_agent_names(registry, frames)
        agent_class = resolve_agent_classes(registry, agent_names, signals)
        class_names = collect_class_names(registry, agent_class.values(), signals["strategy_class"])
        declared = [declared_regimes(registry, name, agent_class[name]) for name in agent_names]
        return cls(agent_names, class_names, agent_class, declared)

    @property
    def agent_index(self) -> pd.Index:
        return pd.Index(self.agent_names, dtype=object)

    @property
    def class_index(self) -> pd.Index:
        return pd.Index(self.class_names, dtype=object)

    def class_code_of_agent(self) -> IntArray:
        return codes(self.class_index, pd.Series([self.agent_class[name] for name in self.agent_names]))

    def cells(
        self, signal_agent_codes: IntArray, signal_class_codes: IntArray, telemetry: Sequence[IntArray]
    ) -> Cells:
        return Cells.of(
            len(self.agent_names),
            len(self.class_names),
            signal_agent_codes,
            signal_class_codes,
            telemetry,
            self.class_code_of_agent(),
        )


_NO_ROWS = np.empty(0, dtype=np.int64)


def signal_cell_sums(
    recon: pd.DataFrame, groups: MetricGroups, regimes: pd.DataFrame, windows: Windows, config: Config
) -> Sums:
    """The signals' sums per cell; any subset of the signals (a partition) gives sums that merge."""
    agent_codes = codes(groups.agent_index, recon["agent"])
    class_codes = signal_class_codes_for(
        recon["strategy_class"], agent_codes, groups.class_index, groups.class_code_of_agent()
    )
    mismatch = regime_mismatch(recon, agent_codes, regimes, groups.declared)
    cells = groups.cells(agent_codes, class_codes, [_NO_ROWS, _NO_ROWS, _NO_ROWS])
    no_events = pd.DataFrame({"ts": pd.Series([], dtype="datetime64[ns, UTC]")})
    nothing = TelemetryFacts.build(
        no_events.assign(cost_usd=np.empty(0)), no_events.assign(score=np.empty(0)), no_events, windows
    )
    return Sums.of_cells(cells, SignalFacts.build(recon, windows, config, mismatch), nothing)


def telemetry_cell_sums(artifacts: Artifacts, groups: MetricGroups, windows: Windows) -> Sums:
    """The telemetry's sums per cell (telemetry is per agent, not per symbol: computed once)."""
    costs, evals, violations = artifacts.costs, artifacts.evals, artifacts.violations
    telemetry_codes = [codes(groups.agent_index, frame["agent"]) for frame in (costs, evals, violations)]
    cells = groups.cells(_NO_ROWS, _NO_ROWS, telemetry_codes)
    return Sums.of_cells(cells, SignalFacts.none(), TelemetryFacts.build(costs, evals, violations, windows))


def metrics_table(groups: MetricGroups, sums: Sums, config: Config) -> MetricsTable:
    """The metrics of every agent and class from the cells' sums (all rows merged)."""
    cells = groups.cells(_NO_ROWS, _NO_ROWS, [_NO_ROWS, _NO_ROWS, _NO_ROWS])
    agent_sums = sums.grouped(cells.agent_of_cell(), cells.n_agents)
    class_sums = sums.grouped(cells.class_of_cell(), cells.n_classes)
    return MetricsTable(
        agents=aggregate(groups.agent_names, agent_sums, config),
        classes=aggregate(groups.class_names, class_sums, config),
        agent_class=groups.agent_class,
        agent_sums=agent_sums,
        class_sums=class_sums,
        total=sums.grouped(np.zeros(cells.count, dtype=np.int64), 1),
    )


# --------------------------------------------------------------------------------------------
# Metrics from sums (one code path for agents and classes)
# --------------------------------------------------------------------------------------------


INTEGER_METRICS = (
    "safety_violations_30d",
    "regime_mismatch_periods",
    "signals_emitted",
    "signals_realized",
    "signals_open",
    "signals_no_price",
)


def metric_columns(sums: Sums, config: Config) -> dict[str, FloatArray]:
    """Every SPEC §3.2 metric but ``alpha_period``, one value per group, from the group's sums."""
    hit_rate = ratio(sums.won, sums.decisive)
    decisive_confidence = ratio(sums.decisive_confidence, sums.decisive)
    enough_for_decay = sums.decisive >= config.promotion.min_decay_signals
    mismatch_share = ratio(sums.mismatched_by_period, sums.emitted_by_period)
    flagged = (sums.emitted_by_period > 0) & (mismatch_share >= config.retirement.mismatch_share)
    drift_defined = (sums.emitted_p0 > 0) & (sums.emitted_reference > 0) & (sums.cost_reference != 0)
    cost_per_signal_p0 = ratio(sums.cost_p0, sums.emitted_p0)
    cost_per_signal_reference = ratio(sums.cost_reference, sums.emitted_reference)
    return {
        "realized_pnl_30d": sums.pnl,
        "alpha_30d": ratio(sums.weighted_excess, sums.notional),
        "mean_confidence": ratio(sums.confidence, sums.realized),
        "hit_rate": hit_rate,
        "confidence_decay": np.where(
            enough_for_decay, np.clip(decisive_confidence - hit_rate, 0.0, 1.0), np.nan
        ),
        "brier": ratio(sums.brier_error, sums.decisive),
        "volatility": np.where(sums.realized >= 2, np.sqrt(ratio(sums.ret_m2, sums.realized - 1)), np.nan),
        "signals_realized": sums.realized,
        "signals_emitted": sums.emitted,
        "signals_open": sums.emitted_open,
        "signals_no_price": sums.emitted_no_price,
        "coverage": ratio(sums.emitted_realized, sums.emitted_realized + sums.emitted_no_price),
        "behavioral_score": ratio(sums.score, sums.evals),
        "safety_violations_30d": sums.violations,
        "cost_30d": sums.cost_window,
        "cost_drift": np.where(
            drift_defined, ratio(cost_per_signal_p0, cost_per_signal_reference) - 1.0, np.nan
        ),
        "regime_mismatch_periods": np.asarray(flagged.sum(axis=1), dtype=np.float64),
    }


def aggregate(names: Sequence[str], sums: Sums, config: Config) -> dict[str, Metrics]:
    """Every SPEC §3.2 metric per group, as ``Metrics`` models (NaN becomes null in the model)."""
    columns = metric_columns(sums, config)
    alpha_periods = ratio(sums.weighted_excess_by_period, sums.notional_by_period)
    table: dict[str, Metrics] = {}
    for position, name in enumerate(names):
        values: dict[str, object] = {
            metric: int(column[position]) if metric in INTEGER_METRICS else float(column[position])
            for metric, column in columns.items()
        }
        values["alpha_period"] = [float(alpha) for alpha in alpha_periods[position]]
        table[name] = Metrics.model_validate(values)
    return table
