"""Capital allocation and PnL attribution (SPEC §3.5).

Allocation, in three steps that each answer one question:

1. who may hold capital — ``eligible_for_allocation`` (prod, not killed, enough realized
   signals, a measured volatility);
2. how good each one is — ``allocation_score``: ``s = alpha_30d · mean_confidence /
   max(volatility, vol_floor)``;
3. how much each one gets — ``allocate``: ``w = softmax(s / temperature)``, then the caps
   ``w_i = clip(λ·w_i, min_weight, max_weight)`` with ``λ`` chosen so that ``Σw = 1``.

``clip(λ·softmax)`` is exactly the KKT solution of the entropy-regularized problem
``min Σ w log w − Σ w s / T`` subject to ``Σw = 1`` and ``min ≤ w ≤ max``, so the capped
weights are "the softmax, as close as the caps allow" rather than an ad-hoc rescaling.

Attribution (``attribute``) splits realized PnL and cost of a window by agent and by class.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping

import numpy as np
import numpy.typing as npt

from metasup.evaluate.metrics import MetricsTable, Sums
from metasup.evaluate.promotion import AgentStanding, kill_reasons
from metasup.model.config import PortfolioConfig
from metasup.model.review import Allocation, Attribution, AttributionRow, Metrics

FloatArray = npt.NDArray[np.float64]

SUM_TOLERANCE = 1e-12
"""Invested ``Σw`` this close to 1 is fully invested (no dust of cash from rounding)."""

LOG_WEIGHT_FLOOR = -1e300
"""Where an astronomically bad score's log-weight stops: finite, so λ can still be solved for."""


def allocation_score(
    alpha: float | None, mean_confidence: float | None, volatility: float | None, vol_floor: float
) -> float | None:
    """``alpha · confidence / max(volatility, vol_floor)``; ``None`` when an input is missing.

    The floor keeps an agent with a handful of near-identical returns from getting an
    unbounded score out of a near-zero volatility.
    """
    if alpha is None or mean_confidence is None or volatility is None:
        return None
    score = alpha * mean_confidence / max(volatility, vol_floor)
    return score if math.isfinite(score) else None


def exclusion_reason(
    standing: AgentStanding, metrics: Metrics, config: PortfolioConfig, kill_list: Collection[str] = ()
) -> str | None:
    """Why the agent gets no capital, in words; ``None`` when it is eligible.

    Killed follows ``promotion.kill_reasons``: killed in the registry (agent retired, class
    killed), named in config ``kill_list``, or killed (agent or class) in this run. A deprecated
    class does not exclude its prod agents. An agent whose score cannot be computed is excluded
    as well (cannot happen with a measured volatility, but the allocation must never see NaN).
    """
    if standing.stage != "prod":
        return f"stage is {standing.stage}, not prod"
    reasons = kill_reasons(standing, kill_list)
    if reasons:
        return "; ".join(reasons)
    if standing.demoted:
        return "demoted: its live edge is negative (SPEC §3.8)"
    if metrics.signals_realized < config.min_signals:
        return f"{metrics.signals_realized} realized signals < {config.min_signals}"
    if metrics.volatility is None:
        return "volatility unknown (fewer than 2 realized signals)"
    score = allocation_score(metrics.alpha_30d, metrics.mean_confidence, metrics.volatility, config.vol_floor)
    if score is None:
        return "allocation score unknown (alpha or mean confidence missing)"
    return None


def eligible_for_allocation(
    candidates: Mapping[str, tuple[AgentStanding, Metrics]],
    config: PortfolioConfig,
    kill_list: Collection[str] = (),
) -> dict[str, float]:
    """The eligible agents and their scores, in the candidates' order, ready for ``allocate``."""
    eligible: dict[str, float] = {}
    for name, (standing, metrics) in candidates.items():
        if exclusion_reason(standing, metrics, config, kill_list) is not None:
            continue
        score = allocation_score(
            metrics.alpha_30d, metrics.mean_confidence, metrics.volatility, config.vol_floor
        )
        if score is not None:
            eligible[name] = score
    return eligible


def allocate(scores: Mapping[str, float], config: PortfolioConfig) -> Allocation:
    """Weights, capital and cash for the eligible agents' scores.

    - No agent: 100% cash, ``effective_agents`` null.
    - ``n · max_weight < 1``: the caps cannot absorb the capital — every agent sits at
      ``max_weight`` and the remainder is cash (SPEC §3.5).
    - ``n · min_weight > 1``: the floors cannot all be honored. ``min_weight`` is read as a
      minimum position size, so the weakest agents are dropped (weight 0, still listed) until
      the floors fit — the ``⌊1 / min_weight⌋`` best scores keep a position, ties broken by
      input order — and the caps are solved among those. Spreading the capital equally below
      the floor instead would hold every position at a size the user said is too small.
    - Otherwise the capital is fully invested and every weight lies in ``[min, max]``.

    ``PortfolioConfig`` guarantees ``min_weight ≤ max_weight``; a non-finite score is a ``ValueError``.
    """
    names = list(scores)
    if not names:
        return Allocation(capital=config.capital, cash=1.0)
    values = np.array([scores[name] for name in names], dtype=np.float64)
    bad = [name for name, value in zip(names, values, strict=True) if not math.isfinite(value)]
    if bad:
        raise ValueError(f"allocation scores must be finite: {', '.join(bad)}")
    weights = capped_softmax(values, config.temperature, config.min_weight, config.max_weight)
    invested = math.fsum(weights.tolist())
    return Allocation(
        capital=config.capital,
        cash=max(0.0, 1.0 - invested) if invested < 1.0 - SUM_TOLERANCE else 0.0,
        effective_agents=effective_agents(weights),
        weights={name: float(w) for name, w in zip(names, weights, strict=True)},
        capital_usd={name: float(w) * config.capital for name, w in zip(names, weights, strict=True)},
        scores={name: float(s) for name, s in zip(names, values, strict=True)},
    )


def effective_agents(weights: FloatArray) -> float | None:
    """``(Σw)² / Σw²``: how many equal positions the invested capital is worth; ``None`` with none.

    Fully invested this is SPEC's ``1 / Σw²``. With cash left over (every agent at its cap), the
    raw ``1 / Σw²`` would count more agents than there are (two agents at 10% → 50), so the
    weights are taken relative to the invested capital.
    """
    concentration = float(np.sum(np.square(weights)))
    if concentration == 0:
        return None
    return math.fsum(weights.tolist()) ** 2 / concentration


def log_softmax(scores: FloatArray, temperature: float) -> FloatArray:
    """``log softmax(s / T)`` without overflow: scores are shifted by their max before dividing.

    Differences so large that they overflow (``-inf``) are floored at ``LOG_WEIGHT_FLOOR`` so the
    log-weights stay finite and ordered.
    """
    with np.errstate(over="ignore"):
        shifted: FloatArray = np.maximum((scores - scores.max()) / temperature, LOG_WEIGHT_FLOOR)
    return shifted - log_sum_exp(shifted)


def log_sum_exp(values: FloatArray) -> float:
    """``log Σ exp(x)``, stable for any finite input."""
    top = float(values.max())
    return top + math.log(float(np.sum(np.exp(values - top))))


def softmax(scores: FloatArray, temperature: float) -> FloatArray:
    """``exp(s_i / T) / Σ exp(s_j / T)``, computed in the log domain (no overflow, no NaN)."""
    return np.exp(log_softmax(scores, temperature))


def capped_softmax(
    scores: FloatArray, temperature: float, min_weight: float, max_weight: float
) -> FloatArray:
    """``clip(λ·softmax(s / T), min, max)`` with ``Σ = 1`` when the caps allow it (see ``allocate``)."""
    count = len(scores)
    if count * max_weight <= 1.0:
        return np.full(count, max_weight)
    if count * min_weight > 1.0:
        return _best_at_floor(scores, temperature, min_weight, max_weight)
    return _solve_capped(log_softmax(scores, temperature), min_weight, max_weight)


def _best_at_floor(
    scores: FloatArray, temperature: float, min_weight: float, max_weight: float
) -> FloatArray:
    """Keep the ``⌊1 / min⌋`` best scores (ties: input order), solve among them, zero the rest."""
    keep = int(1.0 / min_weight)
    while keep * min_weight > 1.0:
        keep -= 1
    ranked = np.argsort(-scores, kind="stable")[:keep]
    weights = np.zeros(len(scores))
    weights[ranked] = capped_softmax(scores[ranked], temperature, min_weight, max_weight)
    return weights


Breakpoint = tuple[int, bool]
"""``(rank, at_max)``: the λ where that rank reaches the cap (``True``) or leaves the floor."""


def _solve_capped(log_p: FloatArray, min_weight: float, max_weight: float) -> FloatArray:
    """``clip(λ·p, min, max)`` with ``Σ = 1``, for ``n·min ≤ 1 < n·max``; ``log_p`` = log softmax.

    ``Σ clip(λp)`` is continuous and non-decreasing in λ, and between two *breakpoints* (the λ
    where some agent reaches a cap) the set of capped agents does not change. So λ is found by
    bisection over the sorted breakpoints — at most ``log2(2n) + 1`` steps, no tolerance — and
    then in closed form on the bracketing piece: ``λ·p_free = rem · softmax(log p_free)`` with
    ``rem = 1 − Σ capped``. Everything is computed from differences of log-weights, so scores
    hundreds of orders of magnitude apart neither overflow nor lose the active set.
    """
    order = np.argsort(-log_p, kind="stable")
    ranked = log_p[order]
    breakpoints = _breakpoints(ranked, min_weight, max_weight)
    first, last = 0, len(breakpoints) - 1  # Σ at the last breakpoint (everyone at max) is ≥ 1
    while first < last:
        middle = (first + last) // 2
        if _capped_at(breakpoints[middle], ranked, min_weight, max_weight).sum() >= 1.0:
            last = middle
        else:
            first = middle + 1
    weights = _weights_below(breakpoints, first, ranked, min_weight, max_weight)
    result = np.empty_like(weights)
    result[order] = weights
    return result


def _breakpoints(ranked: FloatArray, min_weight: float, max_weight: float) -> list[Breakpoint]:
    """All breakpoints in increasing λ: agent ``r`` leaves the floor at ``λ = min / p_r`` and
    reaches the cap at ``λ = max / p_r``; the two sorted families are merged by comparing
    ``log p_s − log p_r`` with ``log(max / min)`` (never λ itself, which may not be representable).
    With ``min = 0`` nobody is ever at the floor, so only cap breakpoints exist."""
    count = len(ranked)
    if min_weight == 0:
        return [(rank, True) for rank in range(count)]
    gap = math.log(max_weight) - math.log(min_weight)
    merged: list[Breakpoint] = []
    leaving, capping = 0, 0
    while capping < count:
        if leaving < count and ranked[capping] - ranked[leaving] <= gap:
            merged.append((leaving, False))
            leaving += 1
        else:
            merged.append((capping, True))
            capping += 1
    return merged


def _capped_at(
    breakpoint: Breakpoint, ranked: FloatArray, min_weight: float, max_weight: float
) -> FloatArray:
    """``clip(λ·p)`` at a breakpoint, from log-weight differences (``λ·p_i = cap·p_i / p_rank``)."""
    rank, at_max = breakpoint
    cap = max_weight if at_max else min_weight
    exponent = np.minimum(ranked - ranked[rank] + math.log(cap), math.log(max_weight))
    weights: FloatArray = np.clip(np.exp(exponent), min_weight, max_weight)
    return weights


def _weights_below(
    breakpoints: list[Breakpoint], index: int, ranked: FloatArray, min_weight: float, max_weight: float
) -> FloatArray:
    """The weights on the piece just below ``breakpoints[index]``, the first with ``Σ ≥ 1``.

    On that piece the top ``at_max`` ranks sit at the cap (their cap breakpoint is behind), the
    ranks from ``not_at_min`` on sit at the floor, and the ones between share what is left in
    proportion to their softmax weights. If nothing is free there, ``Σ`` reaches 1 exactly at the
    breakpoint itself, whose weights are then the answer.
    """
    passed = breakpoints[:index]
    at_max = sum(1 for _, reaches_max in passed if reaches_max)
    not_at_min = len(ranked) if min_weight == 0 else sum(1 for _, reaches_max in passed if not reaches_max)
    free = ranked[at_max:not_at_min]
    if len(free) == 0:
        return _capped_at(breakpoints[index], ranked, min_weight, max_weight)
    remaining = 1.0 - at_max * max_weight - (len(ranked) - not_at_min) * min_weight
    weights = np.full(len(ranked), min_weight)
    weights[:at_max] = max_weight
    relative = np.exp(free - free.max())  # differences only: exact even for log-weights near -1e300
    weights[at_max:not_at_min] = max(remaining, 0.0) * relative / relative.sum()
    clipped: FloatArray = np.clip(weights, min_weight, max_weight)
    return clipped


def attribute(table: MetricsTable) -> Attribution:
    """Realized PnL and cost over the window W, by agent and by strategy class.

    These are the metrics' own sums (``realized_pnl_30d``, ``cost_30d``), so the two can never
    disagree: a signal counts when it is realized with ``exit_ts`` in W, a cost when its ``ts``
    is; a signal's class is its own ``strategy_class`` when set, else its agent's; a cost's class
    is its agent's. ``share`` is ``pnl / total pnl`` (null when the total is 0; a negative total
    flips the signs, as it should: a loser's share of a loss is positive). Only agents and
    classes with a realized signal or a cost in W are listed, by name.
    """
    total_pnl = float(table.total.pnl.sum())
    return Attribution(
        agents=_attribution_rows(list(table.agents), table.agent_sums, total_pnl),
        classes=_attribution_rows(list(table.classes), table.class_sums, total_pnl),
        total_pnl=total_pnl,
        total_cost=float(table.total.cost_window.sum()),
    )


def _attribution_rows(names: list[str], sums: Sums, total_pnl: float) -> dict[str, AttributionRow]:
    """One row per group with a realized signal or a cost event in W, sorted by name."""
    listed = np.flatnonzero((sums.realized > 0) | (sums.cost_events > 0))
    rows = {}
    for position in listed.tolist():
        pnl, cost = float(sums.pnl[position]), float(sums.cost_window[position])
        share = pnl / total_pnl if total_pnl != 0 else math.nan
        rows[names[position]] = AttributionRow(realized_pnl=pnl, cost=cost, net=pnl - cost, share=share)
    return dict(sorted(rows.items()))
