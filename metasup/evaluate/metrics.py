"""Per-agent and per-strategy-class metrics (SPEC §3.2).

The computation has two halves so that an agent's numbers and its class's numbers can never
disagree on a definition:

1. *facts*: every signal and telemetry event is turned, once, into per-row arrays that say which
   windows it falls in (W, P0..P3, W \\ P0), its weighted excess return, whether its regime
   mismatches its agent's declaration, and so on;
2. *aggregation*: those arrays are summed once per *cell*, the pair (agent, class) a row belongs
   to (:class:`Cells`, :class:`Sums`); an agent's sums are those of its cells, and so are a
   class's. Every metric is then a ratio of its group's sums, by one function for both.

Reductions are ``np.bincount`` over integer cell codes and the regime lookup is two
``merge_asof`` joins, so there is no Python loop over events: a million signals take about 0.1 s.

Nothing after ``as_of`` exists (SPEC §3): later signals and telemetry are dropped, and a signal
whose exit bar lies after ``as_of`` (a reconciliation made at a later date) is counted as ``open``,
which is what reconciling at ``as_of`` would have said.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metasup.evaluate.reconcile import NO_PRICE, REALIZED, STATUSES
from metasup.model.artifacts import Artifacts
from metasup.model.config import Config, WindowsConfig
from metasup.model.registry import UNCLASSIFIED, Registry
from metasup.model.review import Metrics
from metasup.model.timestamps import utc

N_PERIODS = 4
"""Periods P0..P3 behind ``alpha_period`` and ``regime_mismatch_periods``."""

NO_GROUP = -1
"""Group code of a row that belongs to no group (a missing agent name)."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


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
    class_code_of_agent = _codes(class_index, pd.Series([agent_class[name] for name in agent_names]))
    signal_agent_codes = _codes(agent_index, signals["agent"])
    signal_class_codes = signal_class_codes_for(
        signals["strategy_class"], signal_agent_codes, class_index, class_code_of_agent
    )
    telemetry_agent_codes = [_codes(agent_index, frame["agent"]) for frame in (costs, evals, violations)]

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
# Time
# --------------------------------------------------------------------------------------------


def _ts_ns(ts: pd.Series) -> IntArray:
    """Nanoseconds since the epoch (UTC); NaT stays ``iNaT`` (the smallest int64)."""
    if len(ts) == 0:
        return np.empty(0, dtype=np.int64)
    utc = pd.to_datetime(ts, utc=True)
    return np.asarray(utc.to_numpy(dtype="datetime64[ns]").view(np.int64), dtype=np.int64)


@dataclass(frozen=True)
class Windows:
    """W, P0..P3 and W \\ P0 expressed on *ages* (``as_of − t`` in ns).

    Every window is half-open on the left and closed on the right, so with ages the test is
    ``lo <= age < hi``: an event at exactly ``as_of − 30d`` has age 30d and is out of W, one at
    ``as_of`` has age 0 and is in. A missing time (NaT) or a time after ``as_of`` gets age −1,
    which is in no window.
    """

    as_of_ns: int
    window_ns: int
    period_ns: int

    @classmethod
    def from_config(cls, as_of: pd.Timestamp, windows: WindowsConfig) -> Windows:
        return cls(
            as_of_ns=utc(as_of).value,
            window_ns=pd.Timedelta(windows.window).value,
            period_ns=pd.Timedelta(windows.period).value,
        )

    def ages(self, ts: pd.Series) -> IntArray:
        ns = _ts_ns(ts)
        known = (ns != np.iinfo(np.int64).min) & (ns <= self.as_of_ns)
        return np.where(known, self.as_of_ns - np.where(known, ns, self.as_of_ns), -1).astype(
            np.int64, copy=False
        )

    def in_window(self, ages: IntArray) -> BoolArray:
        return (ages >= 0) & (ages < self.window_ns)

    def in_reference(self, ages: IntArray) -> BoolArray:
        """``W \\ P0 = (as_of − window, as_of − period]``."""
        return (ages >= self.period_ns) & (ages < self.window_ns)

    def period_index(self, ages: IntArray) -> IntArray:
        """k when the age falls in P_k (k = 0..3), else −1."""
        index = np.where(ages >= 0, ages // self.period_ns, -1)
        return np.where(index < N_PERIODS, index, -1).astype(np.int64, copy=False)


# --------------------------------------------------------------------------------------------
# Agents, classes and group codes
# --------------------------------------------------------------------------------------------


def collect_agent_names(registry: Registry, frames: Iterable[pd.DataFrame]) -> list[str]:
    """Registry agents in registry order, then every other agent seen in ``frames``, sorted."""
    registered = [agent.name for agent in registry.agents]
    seen: set[str] = set()
    for frame in frames:
        seen.update(str(name) for name in pd.unique(frame["agent"].dropna()))
    return registered + sorted(seen - set(registered))


def resolve_agent_classes(
    registry: Registry, agent_names: Sequence[str], signals: pd.DataFrame
) -> dict[str, str]:
    """The registry's class, else the most common ``strategy_class`` of the agent's signals.

    A tie between equally common classes goes to the alphabetically first one, so the answer does
    not depend on row order. An agent with neither is ``unclassified``.
    """
    from_signals = most_common_class(signals)
    resolved: dict[str, str] = {}
    for name in agent_names:
        agent = registry.agent(name)
        registered_class = agent.strategy_class if agent is not None else None
        resolved[name] = registered_class or from_signals.get(name, UNCLASSIFIED)
    return resolved


def most_common_class(signals: pd.DataFrame) -> dict[str, str]:
    """Per agent, the ``strategy_class`` most of its signals carry (ties: alphabetical)."""
    labelled = signals.loc[
        signals["strategy_class"].notna() & signals["agent"].notna(), ["agent", "strategy_class"]
    ]
    if labelled.empty:
        return {}
    counts = (
        labelled.groupby(["agent", "strategy_class"], sort=False, observed=True)
        .size()
        .rename("n")
        .reset_index()
    )
    ranked = counts.sort_values(
        ["agent", "n", "strategy_class"], ascending=[True, False, True], kind="stable"
    )
    first = ranked.drop_duplicates("agent")
    return {
        str(agent): str(klass) for agent, klass in zip(first["agent"], first["strategy_class"], strict=True)
    }


def collect_class_names(
    registry: Registry, agent_classes: Iterable[str], signal_classes: pd.Series
) -> list[str]:
    """Registry classes in registry order, then every other class an agent or a signal is in, sorted."""
    registered = [klass.name for klass in registry.strategy_classes]
    seen = set(agent_classes) | {str(name) for name in pd.unique(signal_classes.dropna())}
    return registered + sorted(seen - set(registered))


def declared_regimes(registry: Registry, agent_name: str, agent_class: str) -> list[str]:
    """The agent's regimes, else its class's, else any (empty) — SPEC §2.4.

    ``Registry.declared_regimes`` covers registered agents with a registered class; an agent whose
    class comes from its signals (unregistered, or registered without a class) falls back to that
    class's regimes when the registry declares the class.
    """
    declared = registry.declared_regimes(agent_name)
    if declared:
        return declared
    klass = registry.strategy_class(agent_class)
    return list(klass.regimes) if klass is not None else []


def _codes(index: pd.Index, values: pd.Series) -> IntArray:
    """Position of each value in ``index``; a missing value gets ``NO_GROUP``."""
    if len(values) == 0:
        return np.empty(0, dtype=np.int64)
    if _is_arrow_text(values.dtype) and index.is_unique and all(isinstance(name, str) for name in index):
        # Looked up by pyarrow on the arrow strings: no Python object per row (a loop per name only).
        strings = pa.array(values.array)
        try:
            names = pa.array(list(index), type=strings.type)
        except (pa.ArrowException, UnicodeEncodeError):
            names = None  # a name arrow cannot hold (a lone surrogate) cannot be in arrow data anyway
        if names is not None:
            found = pc.index_in(strings, value_set=names).fill_null(NO_GROUP)
            return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.asarray(index.get_indexer(pd.Index(values, dtype=object)), dtype=np.int64)


def _is_arrow_text(dtype: object) -> bool:
    """pandas strings stored by pyarrow (the loader's ``str`` columns)."""
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def signal_class_codes_for(
    strategy_class: pd.Series, agent_codes: IntArray, class_index: pd.Index, class_code_of_agent: IntArray
) -> IntArray:
    """A signal's class is its own ``strategy_class``, else its agent's class."""
    own = _codes(class_index, strategy_class)
    inherited = _class_codes_of(agent_codes, class_code_of_agent)
    return np.where(own >= 0, own, inherited).astype(np.int64, copy=False)


def _class_codes_of(agent_codes: IntArray, class_code_of_agent: IntArray) -> IntArray:
    """Map agent codes to the codes of the agents' classes (``NO_GROUP`` stays ``NO_GROUP``)."""
    if len(class_code_of_agent) == 0:
        return np.full(len(agent_codes), NO_GROUP, dtype=np.int64)
    mapped = class_code_of_agent[np.where(agent_codes >= 0, agent_codes, 0)]
    return np.where(agent_codes >= 0, mapped, NO_GROUP).astype(np.int64, copy=False)


# --------------------------------------------------------------------------------------------
# Regimes
# --------------------------------------------------------------------------------------------


def regime_mismatch(
    signals: pd.DataFrame,
    agent_codes: IntArray,
    regimes: pd.DataFrame,
    declared_by_agent: Sequence[Sequence[str]],
) -> BoolArray:
    """Per signal: was it emitted in a regime outside its own agent's declared regimes?

    No regime event before the signal, or an agent that declares nothing (fit for any regime),
    is never a mismatch.
    """
    regime_names = pd.Index(
        sorted({str(r) for r in regimes["regime"].dropna()} | {r for rs in declared_by_agent for r in rs}),
        dtype=object,
    )
    allowed = np.zeros((len(declared_by_agent), len(regime_names)), dtype=np.bool_)
    for agent_code, names in enumerate(declared_by_agent):
        allowed[agent_code, regime_names.get_indexer(pd.Index(list(names), dtype=object))] = True
    declares_something: BoolArray = np.asarray(allowed.any(axis=1), dtype=np.bool_)

    regime_codes = regime_codes_at_signals(signals, regimes, regime_names)
    known = (regime_codes >= 0) & (agent_codes >= 0)
    agent_rows = np.where(known, agent_codes, 0)
    regime_cols = np.where(known, regime_codes, 0)
    if allowed.size == 0:
        return np.zeros(len(signals), dtype=np.bool_)
    return known & declares_something[agent_rows] & ~allowed[agent_rows, regime_cols]


def regime_codes_at_signals(signals: pd.DataFrame, regimes: pd.DataFrame, regime_names: pd.Index) -> IntArray:
    """Code (in ``regime_names``) of the regime in force at each signal, −1 when none.

    The regime at a signal is the latest ``regime`` event for its symbol at or before ``ts``, else
    the latest global one (symbol NA). Events at the same time: the later line wins.
    """
    n = len(signals)
    if n == 0 or regimes.empty:
        return np.full(n, -1, dtype=np.int64)
    signal_ns = _ts_ns(signals["ts"])
    order = np.argsort(signal_ns, kind="stable")
    events = pd.DataFrame(
        {
            "ts": _ts_ns(regimes["ts"]),
            "symbol": regimes["symbol"].to_numpy(dtype=object),
            "code": _codes(regime_names, regimes["regime"]).astype(np.float64),
        }
    ).sort_values("ts", kind="stable")
    specific = events.loc[events["symbol"].notna()]
    symbol_index = pd.Index(pd.unique(specific["symbol"]), dtype=object)
    left = pd.DataFrame(
        {"ts": signal_ns[order], "symbol": _codes(symbol_index, signals["symbol"])[order]},
    )
    by_symbol = _latest_code(
        left, specific.assign(symbol=_codes(symbol_index, specific["symbol"])), by="symbol"
    )
    by_global = _latest_code(left, events.loc[events["symbol"].isna()], by=None)
    in_order = np.where(np.isnan(by_symbol), by_global, by_symbol)
    codes = np.empty(n, dtype=np.int64)
    codes[order] = np.where(np.isnan(in_order), -1, in_order).astype(np.int64, copy=False)
    return codes


def _latest_code(left: pd.DataFrame, events: pd.DataFrame, by: str | None) -> FloatArray:
    """For each (ts-sorted) row of ``left``, the ``code`` of the latest event at or before it; NaN if none."""
    if events.empty:
        return np.full(len(left), np.nan, dtype=np.float64)
    if by is None:
        merged = pd.merge_asof(left[["ts"]], events[["ts", "code"]], on="ts", direction="backward")
    else:
        merged = pd.merge_asof(left, events[["ts", by, "code"]], on="ts", by=by, direction="backward")
    return np.asarray(merged["code"].to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Per-row facts
# --------------------------------------------------------------------------------------------


def status_at(
    signals: pd.DataFrame, windows: Windows, config: Config
) -> tuple[BoolArray, BoolArray, BoolArray]:
    """(realized, open, no_price) as they stand at ``as_of``.

    For a reconciliation made at ``as_of`` this is the ``status`` column unchanged. For one made
    later it undoes what ``as_of`` could not know: an exit after ``as_of`` is still ``open``, and a
    bar whose tolerance had not run out by ``as_of`` (SPEC §3.1) is ``open``, not ``no_price``.
    """
    # One lookup per row (by pyarrow for arrow strings): the index of its status, -1 if unknown.
    status = _codes(pd.Index(STATUSES, dtype=object), signals["status"])
    exit_age = windows.ages(signals["exit_ts"])
    realized = (status == STATUSES.index(REALIZED)) & (exit_age >= 0)
    max_delay_ns = pd.Timedelta(config.reconcile.max_delay).value
    entry_missing = _ts_ns(signals["entry_ts"]) == np.iinfo(np.int64).min
    pending_from = np.where(entry_missing, _ts_ns(signals["ts"]), _ts_ns(signals["target_ts"]))
    tolerance_left = (pending_from != np.iinfo(np.int64).min) & (
        pending_from + max_delay_ns > windows.as_of_ns
    )
    no_price = (status == STATUSES.index(NO_PRICE)) & ~tolerance_left
    open_ = ~realized & ~no_price & (status >= 0)
    return realized, open_, no_price


def _floats(frame: pd.DataFrame, column: str) -> FloatArray:
    return np.asarray(frame[column].to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


@dataclass(frozen=True)
class SignalFacts:
    """What each signal contributes to the metrics, as flat arrays aligned with the signals frame."""

    realized_in_window: BoolArray
    decisive_in_window: BoolArray
    """Realized in W with r ≠ 0: the population of hit rate, confidence decay and Brier score."""
    realized_period: IntArray
    emitted_in_window: BoolArray
    emitted_in_reference: BoolArray
    emitted_period: IntArray
    realized: BoolArray
    open: BoolArray
    no_price: BoolArray
    ret: FloatArray
    won: FloatArray
    pnl: FloatArray
    notional: FloatArray
    weighted_excess: FloatArray
    confidence: FloatArray
    regime_mismatch: BoolArray

    @classmethod
    def build(
        cls, signals: pd.DataFrame, windows: Windows, config: Config, mismatch: BoolArray
    ) -> SignalFacts:
        realized, open_, no_price = status_at(signals, windows, config)
        exit_ages = windows.ages(signals["exit_ts"])
        emit_ages = windows.ages(signals["ts"])
        ret = _floats(signals, "ret")
        notional = np.nan_to_num(_floats(signals, "notional"), nan=config.reconcile.default_notional)
        realized_in_window = realized & windows.in_window(exit_ages)
        return cls(
            realized_in_window=realized_in_window,
            decisive_in_window=realized_in_window & np.isfinite(ret) & (ret != 0),
            realized_period=np.where(realized, windows.period_index(exit_ages), -1).astype(
                np.int64, copy=False
            ),
            emitted_in_window=windows.in_window(emit_ages),
            emitted_in_reference=windows.in_reference(emit_ages),
            emitted_period=windows.period_index(emit_ages),
            realized=realized,
            open=open_,
            no_price=no_price,
            ret=ret,
            won=(ret > 0).astype(np.float64),
            pnl=_floats(signals, "pnl"),
            notional=notional,
            weighted_excess=notional * _floats(signals, "excess"),
            confidence=_floats(signals, "confidence"),
            regime_mismatch=mismatch,
        )


@dataclass(frozen=True)
class TelemetryFacts:
    """Window membership and values of cost, evaluation and violation events."""

    cost_usd: FloatArray
    cost_in_window: BoolArray
    cost_in_first_period: BoolArray
    cost_in_reference: BoolArray
    score: FloatArray
    eval_in_window: BoolArray
    violation_in_window: BoolArray

    @classmethod
    def build(
        cls, costs: pd.DataFrame, evals: pd.DataFrame, violations: pd.DataFrame, windows: Windows
    ) -> TelemetryFacts:
        cost_ages = windows.ages(costs["ts"])
        return cls(
            cost_usd=_floats(costs, "cost_usd"),
            cost_in_window=windows.in_window(cost_ages),
            cost_in_first_period=windows.period_index(cost_ages) == 0,
            cost_in_reference=windows.in_reference(cost_ages),
            score=_floats(evals, "score"),
            eval_in_window=windows.in_window(windows.ages(evals["ts"])),
            violation_in_window=windows.in_window(windows.ages(violations["ts"])),
        )


# --------------------------------------------------------------------------------------------
# Aggregation (one code path for agents and classes)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cells:
    """Every row's cell: the pair (its agent, its class). Agents and classes are unions of cells.

    Rows are summed once, per cell; an agent's sums are the sums of its cells (over classes), a
    class's the sums of its cells (over agents). Index ``n_agents`` / ``n_classes`` is "none": a
    row without an agent (or a class) still counts for its class (or agent).
    """

    n_agents: int
    n_classes: int
    signal: IntArray
    cost: IntArray
    eval: IntArray
    violation: IntArray

    @classmethod
    def of(
        cls,
        n_agents: int,
        n_classes: int,
        signal_agent_codes: IntArray,
        signal_class_codes: IntArray,
        telemetry_agent_codes: Sequence[IntArray],
        class_code_of_agent: IntArray,
    ) -> Cells:
        def cells(agent_codes: IntArray, class_codes: IntArray) -> IntArray:
            agents = np.where(agent_codes >= 0, agent_codes, n_agents)
            classes = np.where(class_codes >= 0, class_codes, n_classes)
            return np.asarray(agents * (n_classes + 1) + classes, dtype=np.int64)

        cost, evals, violation = (
            cells(codes, _class_codes_of(codes, class_code_of_agent)) for codes in telemetry_agent_codes
        )
        return cls(n_agents, n_classes, cells(signal_agent_codes, signal_class_codes), cost, evals, violation)

    @property
    def count(self) -> int:
        return (self.n_agents + 1) * (self.n_classes + 1)

    def agent_of_cell(self) -> IntArray:
        return np.arange(self.count, dtype=np.int64) // (self.n_classes + 1)

    def class_of_cell(self) -> IntArray:
        return np.arange(self.count, dtype=np.int64) % (self.n_classes + 1)


@dataclass(frozen=True)
class _Rows:
    """The rows a mask picks and their cells: one selection serves every sum over those rows.

    Rows are kept as positions: ``take`` at positions is several times faster than selecting
    by a boolean mask again for every sum. Cells are never negative (a row without an agent or a
    class has a "none" cell).
    """

    picked: IntArray
    cells: IntArray
    n_cells: int

    @classmethod
    def of(cls, cells: IntArray, mask: BoolArray, n_cells: int) -> _Rows:
        picked = np.flatnonzero(mask)
        return cls(picked, cells.take(picked), n_cells)

    def count(self) -> FloatArray:
        return np.bincount(self.cells, minlength=self.n_cells).astype(np.float64, copy=False)

    def sum(self, weights: FloatArray) -> FloatArray:
        summed = np.bincount(self.cells, weights=weights.take(self.picked), minlength=self.n_cells)
        return np.asarray(summed, dtype=np.float64)


def _ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """``numerator / denominator``, NaN (→ null) where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = np.where(denominator != 0, numerator / denominator, np.nan)
    return np.asarray(quotient, dtype=np.float64)


@dataclass(frozen=True)
class Sums:
    """Per group (a cell, an agent or a class), every sum a metric is a ratio of.

    Arrays have one row per group; the ``*_by_period`` ones one column per period P0..P3. All of
    them add up from cells to groups, except ``ret_m2`` (squared deviations about the group's
    own mean), which :meth:`grouped` combines with Chan et al.'s pairwise formula.
    """

    realized: FloatArray
    ret: FloatArray
    ret_m2: FloatArray
    pnl: FloatArray
    weighted_excess: FloatArray
    notional: FloatArray
    confidence: FloatArray
    decisive: FloatArray
    won: FloatArray
    decisive_confidence: FloatArray
    brier_error: FloatArray
    weighted_excess_by_period: FloatArray
    notional_by_period: FloatArray
    emitted_by_period: FloatArray
    mismatched_by_period: FloatArray
    emitted: FloatArray
    emitted_realized: FloatArray
    emitted_open: FloatArray
    emitted_no_price: FloatArray
    emitted_p0: FloatArray
    emitted_reference: FloatArray
    evals: FloatArray
    score: FloatArray
    cost_p0: FloatArray
    cost_reference: FloatArray
    cost_window: FloatArray
    cost_events: FloatArray
    violations: FloatArray

    @classmethod
    def of_cells(cls, cells: Cells, signals: SignalFacts, telemetry: TelemetryFacts) -> Sums:
        n, codes = cells.count, cells.signal
        in_w = _Rows.of(codes, signals.realized_in_window, n)
        decisive = _Rows.of(codes, signals.decisive_in_window, n)
        realized, ret = in_w.count(), in_w.sum(signals.ret)
        deviation = signals.ret - _ratio(ret, realized)[codes]
        emitted_w = signals.emitted_in_window
        realized_period = _Rows.of(codes, signals.realized_period >= 0, n)
        costs_w = _Rows.of(cells.cost, telemetry.cost_in_window, n)
        evals_w = _Rows.of(cells.eval, telemetry.eval_in_window, n)

        def count(rows: IntArray, mask: BoolArray) -> FloatArray:
            return _Rows.of(rows, mask, n).count()

        return cls(
            realized=realized,
            ret=ret,
            ret_m2=in_w.sum(deviation * deviation),
            pnl=in_w.sum(signals.pnl),
            weighted_excess=in_w.sum(signals.weighted_excess),
            notional=in_w.sum(signals.notional),
            confidence=in_w.sum(signals.confidence),
            decisive=decisive.count(),
            won=decisive.sum(signals.won),
            decisive_confidence=decisive.sum(signals.confidence),
            brier_error=decisive.sum((signals.confidence - signals.won) ** 2),
            weighted_excess_by_period=_by_period(
                realized_period, signals.realized_period, signals.weighted_excess
            ),
            notional_by_period=_by_period(realized_period, signals.realized_period, signals.notional),
            emitted_by_period=_by_period(
                _Rows.of(codes, signals.emitted_period >= 0, n), signals.emitted_period
            ),
            mismatched_by_period=_by_period(
                _Rows.of(codes, signals.regime_mismatch & (signals.emitted_period >= 0), n),
                signals.emitted_period,
            ),
            emitted=count(codes, emitted_w),
            emitted_realized=count(codes, emitted_w & signals.realized),
            emitted_open=count(codes, emitted_w & signals.open),
            emitted_no_price=count(codes, emitted_w & signals.no_price),
            emitted_p0=count(codes, signals.emitted_period == 0),
            emitted_reference=count(codes, signals.emitted_in_reference),
            evals=evals_w.count(),
            score=evals_w.sum(telemetry.score),
            cost_p0=_Rows.of(cells.cost, telemetry.cost_in_first_period, n).sum(telemetry.cost_usd),
            cost_reference=_Rows.of(cells.cost, telemetry.cost_in_reference, n).sum(telemetry.cost_usd),
            cost_window=costs_w.sum(telemetry.cost_usd),
            cost_events=costs_w.count(),
            violations=count(cells.violation, telemetry.violation_in_window),
        )

    def grouped(self, group_of_cell: IntArray, n_groups: int) -> Sums:
        """The sums of groups made of cells (``group_of_cell == n_groups``: in no group)."""

        def add(values: FloatArray) -> FloatArray:
            if values.ndim == 1:
                summed = np.bincount(group_of_cell, weights=values, minlength=n_groups + 1)[:n_groups]
                return np.asarray(summed, dtype=np.float64)
            return np.stack([add(column) for column in values.T], axis=1)

        sums = {name: add(values) for name, values in vars(self).items() if name != "ret_m2"}
        # Chan et al.: M2 of a union = Σ M2 of the parts + Σ n_part · (mean_part − mean_union)².
        cell_mean = _ratio(self.ret, self.realized)
        group_mean = np.append(_ratio(sums["ret"], sums["realized"]), np.nan)[group_of_cell]
        spread = np.where(self.realized > 0, self.realized * (cell_mean - group_mean) ** 2, 0.0)
        sums["ret_m2"] = add(self.ret_m2 + spread)
        return Sums(**sums)


def _by_period(rows: _Rows, period: IntArray, weights: FloatArray | None = None) -> FloatArray:
    """Per cell and period P0..P3, an (n_cells, 4) array, over ``rows`` (whose ``period`` is ≥ 0)."""
    by_period = _Rows(
        rows.picked, rows.cells * N_PERIODS + period.take(rows.picked), rows.n_cells * N_PERIODS
    )
    summed = by_period.count() if weights is None else by_period.sum(weights)
    return summed.reshape(rows.n_cells, N_PERIODS)


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
    hit_rate = _ratio(sums.won, sums.decisive)
    decisive_confidence = _ratio(sums.decisive_confidence, sums.decisive)
    enough_for_decay = sums.decisive >= config.promotion.min_decay_signals
    mismatch_share = _ratio(sums.mismatched_by_period, sums.emitted_by_period)
    flagged = (sums.emitted_by_period > 0) & (mismatch_share >= config.retirement.mismatch_share)
    drift_defined = (sums.emitted_p0 > 0) & (sums.emitted_reference > 0) & (sums.cost_reference != 0)
    cost_per_signal_p0 = _ratio(sums.cost_p0, sums.emitted_p0)
    cost_per_signal_reference = _ratio(sums.cost_reference, sums.emitted_reference)
    return {
        "realized_pnl_30d": sums.pnl,
        "alpha_30d": _ratio(sums.weighted_excess, sums.notional),
        "mean_confidence": _ratio(sums.confidence, sums.realized),
        "hit_rate": hit_rate,
        "confidence_decay": np.where(
            enough_for_decay, np.clip(decisive_confidence - hit_rate, 0.0, 1.0), np.nan
        ),
        "brier": _ratio(sums.brier_error, sums.decisive),
        "volatility": np.where(sums.realized >= 2, np.sqrt(_ratio(sums.ret_m2, sums.realized - 1)), np.nan),
        "signals_realized": sums.realized,
        "signals_emitted": sums.emitted,
        "signals_open": sums.emitted_open,
        "signals_no_price": sums.emitted_no_price,
        "coverage": _ratio(sums.emitted_realized, sums.emitted_realized + sums.emitted_no_price),
        "behavioral_score": _ratio(sums.score, sums.evals),
        "safety_violations_30d": sums.violations,
        "cost_30d": sums.cost_window,
        "cost_drift": np.where(
            drift_defined, _ratio(cost_per_signal_p0, cost_per_signal_reference) - 1.0, np.nan
        ),
        "regime_mismatch_periods": np.asarray(flagged.sum(axis=1), dtype=np.float64),
    }


def aggregate(names: Sequence[str], sums: Sums, config: Config) -> dict[str, Metrics]:
    """Every SPEC §3.2 metric per group, as ``Metrics`` models (NaN becomes null in the model)."""
    columns = metric_columns(sums, config)
    alpha_periods = _ratio(sums.weighted_excess_by_period, sums.notional_by_period)
    table: dict[str, Metrics] = {}
    for position, name in enumerate(names):
        values: dict[str, object] = {
            metric: int(column[position]) if metric in INTEGER_METRICS else float(column[position])
            for metric, column in columns.items()
        }
        values["alpha_period"] = [float(alpha) for alpha in alpha_periods[position]]
        table[name] = Metrics.model_validate(values)
    return table
