"""Per-agent and per-strategy-class metrics (SPEC §3.2).

The computation has two halves so that an agent's numbers and its class's numbers can never
disagree on a definition:

1. *facts*: every signal and telemetry event is turned, once, into per-row arrays that say which
   windows it falls in (W, P0..P3, W \\ P0), its weighted excess return, whether its regime
   mismatches its agent's declaration, and so on;
2. *aggregation*: the same function reduces those arrays by a group code, once with the agent as
   the group and once with the strategy class.

Reductions are ``np.bincount`` over integer group codes and the regime lookup is two
``merge_asof`` joins, so there is no Python loop over events: a million signals take well under
a couple of seconds.

Nothing after ``as_of`` exists (SPEC §3): later signals and telemetry are dropped, and a signal
whose exit bar lies after ``as_of`` (a reconciliation made at a later date) is counted as ``open``,
which is what reconciling at ``as_of`` would have said.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from metasup.artifacts import Artifacts
from metasup.config import Config, WindowsConfig
from metasup.registry import UNCLASSIFIED, Registry
from metasup.review import Metrics

N_PERIODS = 4
"""Periods P0..P3 behind ``alpha_period`` and ``regime_mismatch_periods``."""

NO_GROUP = -1
"""Group code of a row that belongs to no group (a missing agent name)."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class MetricsTable:
    """SPEC §3.2 metrics for every agent and every strategy class, and which class each agent is in."""

    agents: dict[str, Metrics]
    classes: dict[str, Metrics]
    agent_class: dict[str, str]


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
    from ``artifacts``. Agents are the registry's plus every agent seen in signals or telemetry up
    to ``as_of``; classes are the registry's plus every class a signal or an agent falls in.
    """
    as_of = to_utc_timestamp(as_of)
    windows = Windows.from_config(as_of, config.windows)
    signals = _until(recon, as_of)
    costs, evals, violations = (
        _until(f, as_of) for f in (artifacts.costs, artifacts.evals, artifacts.violations)
    )

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
        _until(artifacts.regimes, as_of),
        [declared_regimes(registry, name, agent_class[name]) for name in agent_names],
    )
    signal_facts = SignalFacts.build(signals, windows, config, mismatch)
    telemetry_facts = TelemetryFacts.build(costs, evals, violations, windows)

    by_agent = Grouping(agent_names, signal_agent_codes, *telemetry_agent_codes)
    by_class = Grouping(
        class_names,
        signal_class_codes,
        *(_class_codes_of(codes, class_code_of_agent) for codes in telemetry_agent_codes),
    )
    return MetricsTable(
        agents=aggregate(by_agent, signal_facts, telemetry_facts, config),
        classes=aggregate(by_class, signal_facts, telemetry_facts, config),
        agent_class=agent_class,
    )


# --------------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------------


def to_utc_timestamp(value: pd.Timestamp | str) -> pd.Timestamp:
    """``as_of`` in UTC at nanosecond resolution; a naive timestamp is UTC (SPEC §2)."""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.as_unit("ns")


def _ts_ns(ts: pd.Series) -> IntArray:
    """Nanoseconds since the epoch (UTC); NaT stays ``iNaT`` (the smallest int64)."""
    if len(ts) == 0:
        return np.empty(0, dtype=np.int64)
    utc = pd.to_datetime(ts, utc=True)
    return np.asarray(utc.to_numpy(dtype="datetime64[ns]").view(np.int64), dtype=np.int64)


def _until(frame: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Rows with ``ts <= as_of``: nothing later exists for the evaluation."""
    ns = _ts_ns(frame["ts"])
    keep = (ns <= as_of.value) & (ns != np.iinfo(np.int64).min)
    return frame if bool(keep.all()) else frame.loc[keep]


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
            as_of_ns=to_utc_timestamp(as_of).value,
            window_ns=pd.Timedelta(windows.window).value,
            period_ns=pd.Timedelta(windows.period).value,
        )

    def ages(self, ts: pd.Series) -> IntArray:
        ns = _ts_ns(ts)
        known = (ns != np.iinfo(np.int64).min) & (ns <= self.as_of_ns)
        return np.where(known, self.as_of_ns - np.where(known, ns, self.as_of_ns), -1).astype(np.int64)

    def in_window(self, ages: IntArray) -> BoolArray:
        return (ages >= 0) & (ages < self.window_ns)

    def in_reference(self, ages: IntArray) -> BoolArray:
        """``W \\ P0 = (as_of − window, as_of − period]``."""
        return (ages >= self.period_ns) & (ages < self.window_ns)

    def period_index(self, ages: IntArray) -> IntArray:
        """k when the age falls in P_k (k = 0..3), else −1."""
        index = np.where(ages >= 0, ages // self.period_ns, -1)
        return np.where(index < N_PERIODS, index, -1).astype(np.int64)


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
    return np.where(own >= 0, own, inherited).astype(np.int64)


def _class_codes_of(agent_codes: IntArray, class_code_of_agent: IntArray) -> IntArray:
    """Map agent codes to the codes of the agents' classes (``NO_GROUP`` stays ``NO_GROUP``)."""
    if len(class_code_of_agent) == 0:
        return np.full(len(agent_codes), NO_GROUP, dtype=np.int64)
    mapped = class_code_of_agent[np.where(agent_codes >= 0, agent_codes, 0)]
    return np.where(agent_codes >= 0, mapped, NO_GROUP).astype(np.int64)


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
    codes[order] = np.where(np.isnan(in_order), -1, in_order).astype(np.int64)
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
    # Arrow strings are compared by pyarrow as they are; anything else as Python objects.
    status = signals["status"]
    status = status if _is_arrow_text(status.dtype) else status.astype(object)
    exit_age = windows.ages(signals["exit_ts"])
    realized = _is(status, "realized") & (exit_age >= 0)
    max_delay_ns = pd.Timedelta(config.reconcile.max_delay).value
    entry_missing = _ts_ns(signals["entry_ts"]) == np.iinfo(np.int64).min
    pending_from = np.where(entry_missing, _ts_ns(signals["ts"]), _ts_ns(signals["target_ts"]))
    tolerance_left = (pending_from != np.iinfo(np.int64).min) & (
        pending_from + max_delay_ns > windows.as_of_ns
    )
    no_price = _is(status, "no_price") & ~tolerance_left
    known = status.isin(["realized", "open", "no_price"]).to_numpy(dtype=np.bool_, na_value=False)
    open_ = ~realized & ~no_price & known
    return realized, open_, no_price


def _is(values: pd.Series, word: str) -> BoolArray:
    """Rows equal to ``word``; a missing value is not."""
    return np.asarray((values == word).to_numpy(dtype=np.bool_, na_value=False), dtype=np.bool_)


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
            realized_period=np.where(realized, windows.period_index(exit_ages), -1).astype(np.int64),
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
class Grouping:
    """Group names and, for every row of each frame, the position of its group (``NO_GROUP``: none)."""

    names: list[str]
    signal_codes: IntArray
    cost_codes: IntArray
    eval_codes: IntArray
    violation_codes: IntArray


def _sum_by(codes: IntArray, mask: BoolArray, n_groups: int, weights: FloatArray | None = None) -> FloatArray:
    """Per group, the sum of ``weights`` (or the count) over the rows selected by ``mask``."""
    selected = mask & (codes >= 0)
    chosen_weights = None if weights is None else weights[selected]
    return np.bincount(codes[selected], weights=chosen_weights, minlength=n_groups).astype(np.float64)


def _ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """``numerator / denominator``, NaN (→ null) where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = np.where(denominator != 0, numerator / denominator, np.nan)
    return np.asarray(quotient, dtype=np.float64)


def realized_columns(group: Grouping, facts: SignalFacts, config: Config) -> dict[str, FloatArray]:
    """PnL, alpha, confidence, hit rate, decay, Brier and volatility over signals realized in W."""
    n, codes, in_w = len(group.names), group.signal_codes, facts.realized_in_window
    realized_count = _sum_by(codes, in_w, n)
    mean_ret = _ratio(_sum_by(codes, in_w, n, facts.ret), realized_count)
    deviation = facts.ret - mean_ret[np.where(codes >= 0, codes, 0)] if n else facts.ret
    squared_deviation = _sum_by(codes, in_w, n, deviation * deviation)

    decisive = facts.decisive_in_window
    decisive_count = _sum_by(codes, decisive, n)
    hit_rate = _ratio(_sum_by(codes, decisive, n, facts.won), decisive_count)
    decisive_confidence = _ratio(_sum_by(codes, decisive, n, facts.confidence), decisive_count)
    enough_for_decay = decisive_count >= config.promotion.min_decay_signals
    brier_error = (facts.confidence - facts.won) ** 2
    return {
        "realized_pnl_30d": _sum_by(codes, in_w, n, facts.pnl),
        "alpha_30d": _ratio(
            _sum_by(codes, in_w, n, facts.weighted_excess), _sum_by(codes, in_w, n, facts.notional)
        ),
        "mean_confidence": _ratio(_sum_by(codes, in_w, n, facts.confidence), realized_count),
        "hit_rate": hit_rate,
        "confidence_decay": np.where(
            enough_for_decay, np.clip(decisive_confidence - hit_rate, 0.0, 1.0), np.nan
        ),
        "brier": _ratio(_sum_by(codes, decisive, n, brier_error), decisive_count),
        "volatility": np.where(
            realized_count >= 2, np.sqrt(_ratio(squared_deviation, realized_count - 1)), np.nan
        ),
        "signals_realized": realized_count,
    }


def alpha_period_columns(group: Grouping, facts: SignalFacts) -> FloatArray:
    """``alpha_period[k]`` for k = 0..3 as an (n_groups, 4) array: alpha over signals realized in P_k."""
    n = len(group.names)
    in_period = facts.realized_period >= 0
    cell = group.signal_codes * N_PERIODS + facts.realized_period
    cell = np.where(group.signal_codes >= 0, cell, NO_GROUP)
    weighted = _sum_by(cell, in_period, n * N_PERIODS, facts.weighted_excess)
    notional = _sum_by(cell, in_period, n * N_PERIODS, facts.notional)
    return _ratio(weighted, notional).reshape(n, N_PERIODS)


def regime_mismatch_period_counts(group: Grouping, facts: SignalFacts, config: Config) -> FloatArray:
    """Number of periods P0..P3 with ≥ 1 signal emitted where ≥ ``mismatch_share`` of them mismatch."""
    n = len(group.names)
    in_period = facts.emitted_period >= 0
    cell = np.where(group.signal_codes >= 0, group.signal_codes * N_PERIODS + facts.emitted_period, NO_GROUP)
    emitted = _sum_by(cell, in_period, n * N_PERIODS).reshape(n, N_PERIODS)
    mismatched = _sum_by(cell, in_period & facts.regime_mismatch, n * N_PERIODS).reshape(n, N_PERIODS)
    share = _ratio(mismatched, emitted)
    flagged = (emitted > 0) & (share >= config.retirement.mismatch_share)
    return np.asarray(flagged.sum(axis=1), dtype=np.float64)


def emission_columns(group: Grouping, facts: SignalFacts) -> dict[str, FloatArray]:
    """Counts among signals emitted in W, and coverage = realized / (realized + no_price) over them."""
    n, codes, in_w = len(group.names), group.signal_codes, facts.emitted_in_window
    realized = _sum_by(codes, in_w & facts.realized, n)
    no_price = _sum_by(codes, in_w & facts.no_price, n)
    return {
        "signals_emitted": _sum_by(codes, in_w, n),
        "signals_open": _sum_by(codes, in_w & facts.open, n),
        "signals_no_price": no_price,
        "coverage": _ratio(realized, realized + no_price),
    }


def telemetry_columns(
    group: Grouping, signals: SignalFacts, telemetry: TelemetryFacts
) -> dict[str, FloatArray]:
    """Behavioral score, violations, cost in W, and the cost per emitted signal drift P0 vs W \\ P0."""
    n = len(group.names)
    eval_count = _sum_by(group.eval_codes, telemetry.eval_in_window, n)
    cost_p0 = _sum_by(group.cost_codes, telemetry.cost_in_first_period, n, telemetry.cost_usd)
    cost_reference = _sum_by(group.cost_codes, telemetry.cost_in_reference, n, telemetry.cost_usd)
    emitted_p0 = _sum_by(group.signal_codes, signals.emitted_period == 0, n)
    emitted_reference = _sum_by(group.signal_codes, signals.emitted_in_reference, n)
    drift_defined = (emitted_p0 > 0) & (emitted_reference > 0) & (cost_reference != 0)
    cost_per_signal_p0 = _ratio(cost_p0, emitted_p0)
    cost_per_signal_reference = _ratio(cost_reference, emitted_reference)
    return {
        "behavioral_score": _ratio(
            _sum_by(group.eval_codes, telemetry.eval_in_window, n, telemetry.score), eval_count
        ),
        "safety_violations_30d": _sum_by(group.violation_codes, telemetry.violation_in_window, n),
        "cost_30d": _sum_by(group.cost_codes, telemetry.cost_in_window, n, telemetry.cost_usd),
        "cost_drift": np.where(
            drift_defined, _ratio(cost_per_signal_p0, cost_per_signal_reference) - 1.0, np.nan
        ),
    }


INTEGER_METRICS = (
    "safety_violations_30d",
    "regime_mismatch_periods",
    "signals_emitted",
    "signals_realized",
    "signals_open",
    "signals_no_price",
)


def aggregate(
    group: Grouping, signals: SignalFacts, telemetry: TelemetryFacts, config: Config
) -> dict[str, Metrics]:
    """Every SPEC §3.2 metric per group, as ``Metrics`` models (NaN becomes null in the model)."""
    columns = {
        **realized_columns(group, signals, config),
        **emission_columns(group, signals),
        **telemetry_columns(group, signals, telemetry),
        "regime_mismatch_periods": regime_mismatch_period_counts(group, signals, config),
    }
    alpha_periods = alpha_period_columns(group, signals)
    table: dict[str, Metrics] = {}
    for position, name in enumerate(group.names):
        values: dict[str, object] = {
            metric: int(column[position]) if metric in INTEGER_METRICS else float(column[position])
            for metric, column in columns.items()
        }
        values["alpha_period"] = [float(alpha) for alpha in alpha_periods[position]]
        table[name] = Metrics.model_validate(values)
    return table
