"""The metrics' sums: every row summed once into its cell, cells added up into agents and classes.

A *cell* is the pair (agent, class) a row belongs to (:class:`Cells`). Rows are summed once per
cell (:class:`Sums`, by ``np.bincount`` over integer cell codes); an agent's sums are those of its
cells, and so are a class's, so an agent's numbers and its class's can never disagree on a
definition. Every sum adds up from cells to groups except the squared deviations behind the
volatility, which are pooled with Chan et al.'s pairwise formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metasup.evaluate.columns import BoolArray, FloatArray, IntArray
from metasup.evaluate.groups import class_codes_of
from metasup.evaluate.row_facts import SignalFacts, TelemetryFacts
from metasup.evaluate.windows import N_PERIODS


def ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """``numerator / denominator``, NaN (→ null) where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = np.where(denominator != 0, numerator / denominator, np.nan)
    return np.asarray(quotient, dtype=np.float64)


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
            cells(codes, class_codes_of(codes, class_code_of_agent)) for codes in telemetry_agent_codes
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

    Rows are kept as positions: ``take`` at positions is faster than selecting by a boolean mask
    again for every sum (see ``docs/performance.md``). Cells are never negative (a row without an
    agent or a class has a "none" cell).
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
        deviation = signals.ret - ratio(ret, realized)[codes]
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
        cell_mean = ratio(self.ret, self.realized)
        group_mean = np.append(ratio(sums["ret"], sums["realized"]), np.nan)[group_of_cell]
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
