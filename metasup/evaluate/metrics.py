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
    "most_common_class",
    "regime_codes_at_signals",
    "regime_mismatch",
    "resolve_agent_classes",
    "signal_class_codes_for",
    "status_at",
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
    """
    as_of = utc(as_of)
    windows = Windows.from_config(as_of, config.windows)
    signals = recon
    costs, evals, violations = artifacts.costs, artifacts.evals, artifacts.violations

    agent_names = collect_agent_names(registry, [signals, costs, evals, violations])
    agent_class = resolve_agent_classes(registry, agent_names, signals)
    class_names = collect_class_names(registry, agent_class.values(), signals["strategy_class"])

    agent_index = pd.Index(agent_names, dtype=object)
    class_index = pd.Index(class_names, dtype=object)
    class_code_of_agent = codes(class_index, pd.Series([agent_class[name] for name in agent_names]))
    signal_agent_codes = codes(agent_index, signals["agent"])
    signal_class_codes = signal_class_codes_for(
        signals["strategy_class"], signal_agent_codes, class_index, class_code_of_agent
    )
    telemetry_agent_codes = [codes(agent_index, frame["agent"]) for frame in (costs, evals, violations)]

    mismatch = regime_mismatch(
        signals,
        signal_agent_codes,
        artifacts.regimes,
        [declared_regimes(registry, name, agent_class[name]) for name in agent_names],
    )
    signal_facts = SignalFacts.build(signals, windows, config, mismatch)
    telemetry_facts = TelemetryFacts.build(costs, evals, violations, windows)

    cells = Cells.of(
        len(agent_names),
        len(class_names),
        signal_agent_codes,
        signal_class_codes,
        telemetry_agent_codes,
        class_code_of_agent,
    )
    sums = Sums.of_cells(cells, signal_facts, telemetry_facts)
    agent_sums = sums.grouped(cells.agent_of_cell(), cells.n_agents)
    class_sums = sums.grouped(cells.class_of_cell(), cells.n_classes)
    return MetricsTable(
        agents=aggregate(agent_names, agent_sums, config),
        classes=aggregate(class_names, class_sums, config),
        agent_class=agent_class,
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
