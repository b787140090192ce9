"""Evidence of skill (SPEC §3.7): separate an agent's edge from luck before it gets capital.

A month of positive PnL is what a coin-flipper shows one time in two. What does separate skill
from luck is how long and how steady the record is: the Probabilistic Sharpe Ratio (PSR) is the
probability that the true Sharpe ratio is above 0, given the observed one, the number of
observations and their skewness and kurtosis (Bailey & López de Prado 2012); the Deflated Sharpe
Ratio (DSR) raises the bar to what the best of N skill-less trials would show (2014).

This module turns the reconciliation that the review already did into one value per agent and
booked trading day (no second pass over the prices), then computes the statistics with
:mod:`metasup.evaluate.skill_stats`. Everything is vectorized over signals; the only loops are
over agents. The signals are first reduced to sums that add up over any split of them
(:class:`SkillInputs`: per-(agent, booked day) and per-(agent, confidence bin) sums), so the local
engine and a distributed one (SPEC §8, sums per partition, :func:`merge_sums` on the driver) feed
the same statistics; the series and the calibration are computed from the sums only.

The series ``x_d`` of an agent: for each UTC weekday ``d`` on which at least one of its signals
was realized inside the track record (exit bar booked as for the LP e-mail: a Saturday or Sunday
exit counts on the next Monday), ``x_d = Σ notional·e / Σ notional`` over those signals (``e`` is
the excess return of §3.1). Days without a realized signal are not in the series.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from metasup.evaluate import skill_stats as stats
from metasup.evaluate.skill_inputs import (
    CALIBRATION_BINS,
    calibration_sums,
    skill_day_sums,
    track_record_span,
    weekday_numbers,
)
from metasup.model.config import Config, PromotionConfig
from metasup.model.review import Calibration, Skill

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class DailySeries:
    """One agent's skill series: booked days (days since 1970-01-01, UTC) and their values, and the
    weekdays its signals were held (notional-weighted mean), which says how far values overlap."""

    days: IntArray
    values: FloatArray
    holding: float = 0.0

    @property
    def n(self) -> int:
        return len(self.values)


EMPTY_SERIES: Final = DailySeries(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))


def series_from_sums(sums: pd.DataFrame) -> dict[str, DailySeries]:
    """Every agent's skill series from its day sums: ``x_d = Σ notional·e / Σ notional``, days ascending."""
    if not len(sums):
        return {}
    codes, agents = pd.factorize(sums["agent"].to_numpy(dtype=object))
    days = sums["day"].to_numpy(dtype=np.int64)
    order = np.lexsort((days, codes))
    days = days[order]  # once: ordering it per agent made 5,000 agents take 27 s, not 0.1 s
    values = (
        sums["weighted_excess"].to_numpy(dtype=np.float64)[order]
        / sums["notional"].to_numpy(dtype=np.float64)[order]
    )
    bounds = np.searchsorted(codes[order], np.arange(len(agents) + 1))
    notional = np.bincount(codes, weights=sums["notional"].to_numpy(dtype=np.float64))
    holding = np.bincount(codes, weights=sums["weighted_holding"].to_numpy(dtype=np.float64)) / notional
    return {
        str(agent): DailySeries(
            days=days[bounds[i] : bounds[i + 1]],
            values=values[bounds[i] : bounds[i + 1]],
            holding=float(holding[i]),
        )
        for i, agent in enumerate(agents)
    }


def daily_series(recon: pd.DataFrame, as_of: pd.Timestamp, span: timedelta) -> dict[str, DailySeries]:
    """Every agent's skill series over ``(as_of − span, as_of]`` (exit time in that range)."""
    return series_from_sums(skill_day_sums(recon, as_of, span))


def prod_book_series(series: Mapping[str, DailySeries], prod_agents: Collection[str]) -> DailySeries:
    """``p_d``: the mean of ``x_d`` over the prod agents (not killed) that have day ``d``."""
    members = [series[name] for name in prod_agents if name in series and series[name].n]
    if not members:
        return EMPTY_SERIES
    days = np.concatenate([m.days for m in members])
    values = np.concatenate([m.values for m in members])
    unique, inverse = np.unique(days, return_inverse=True)
    means = np.bincount(inverse, weights=values) / np.bincount(inverse)
    return DailySeries(unique.astype(np.int64), means)


def calibration_from_sums(sums: pd.DataFrame) -> dict[str, Calibration]:
    """Murphy's decomposition of each agent's Brier score from its bin sums (``skill_stats.murphy``)."""
    result: dict[str, Calibration] = {}
    if not len(sums):
        return result
    codes, agents = pd.factorize(sums["agent"].to_numpy(dtype=object))
    cell = codes.astype(np.int64) * CALIBRATION_BINS + sums["bin"].to_numpy(dtype=np.int64)
    grids = [np.zeros(len(agents) * CALIBRATION_BINS, dtype=np.float64) for _ in range(3)]
    for grid, column in zip(grids, ("count", "confidence", "outcome"), strict=True):
        grid[cell] = sums[column].to_numpy(dtype=np.float64)
    count, confidence, outcome = (grid.reshape(len(agents), CALIBRATION_BINS) for grid in grids)
    for i, agent in enumerate(agents):
        parts = stats.murphy_from_sums(count[i], confidence[i], outcome[i])
        result[str(agent)] = (
            Calibration()
            if parts is None
            else Calibration(reliability=parts[0], resolution=parts[1], uncertainty=parts[2])
        )
    return result


def calibration_by_agent(
    recon: pd.DataFrame, window_start: pd.Timestamp, as_of: pd.Timestamp
) -> dict[str, Calibration]:
    """Murphy's decomposition of each agent's Brier score, over the signals ``brier`` uses."""
    return calibration_from_sums(calibration_sums(recon, window_start, as_of))


@dataclass(frozen=True)
class SharpeFacts:
    """The per-agent statistics that do not depend on the rest of the fleet."""

    n: int
    sharpe: float | None
    skewness: float | None
    kurtosis: float | None
    q: float | None
    psr: float | None
    overlap: float = 1.0
    """:func:`skill_stats.overlap_factor`: the series holds ``n / overlap`` independent values."""

    @property
    def effective_n(self) -> float:
        return self.n / self.overlap


def sharpe_facts(series: DailySeries) -> SharpeFacts:
    """Sharpe per day, its higher moments and PSR(0) over the series' independent values; nulls
    when the series cannot say."""
    found = stats.moments(series.values)
    if found is None:
        return SharpeFacts(series.n, None, None, None, None, None)
    mean, std, skew, kurt = found
    sharpe = mean / std
    q = stats.q_factor(sharpe, skew, kurt)
    overlap = stats.overlap_factor(weekday_numbers(series.days), series.holding)
    return SharpeFacts(series.n, sharpe, skew, kurt, q, stats.psr(sharpe, series.n / overlap, q), overlap)


def deflation(facts: Mapping[str, SharpeFacts], trials: int | None, min_days: int = 2) -> tuple[int, float]:
    """``(N, SR0)``: the number of trials and the Sharpe ratio the best of them shows by luck.

    ``N`` is ``promotion.trials`` when set, else the sandbox agents with a defined Sharpe ratio over
    at least ``min_days`` values (``promotion.min_skill_days``: the skill gate judges no shorter
    record); ``V`` is the variance (ddof 1) of those agents' Sharpe ratios — with fewer than two of
    them there is nothing to estimate it from, and ``SR0`` is 0 (no deflation). A Sharpe ratio of
    two or three days is noise of order 1: one new agent's made ``V`` so large that under
    ``skill_test: dsr`` no agent of the fleet could pass (found by an audit; ``docs/decisions.md``).
    """
    sharpes = np.array(
        [f.sharpe for f in facts.values() if f.sharpe is not None and f.n >= min_days], dtype=np.float64
    )
    count = trials if trials is not None else len(sharpes)
    if len(sharpes) < 2 or count < 2:
        return count, 0.0
    return count, stats.expected_max_sharpe(float(np.var(sharpes, ddof=1)), count)


def correlation_with_book(
    series: DailySeries, book: DailySeries
) -> tuple[int, float | None, tuple[float, float | None] | None]:
    """Common days, Pearson ρ and the marginal alpha ``(a, t)`` of ``x = a + b·p`` on them."""
    common, mine, theirs = np.intersect1d(series.days, book.days, assume_unique=True, return_indices=True)
    x, p = series.values[mine], book.values[theirs]
    return len(common), stats.pearson(x, p), stats.marginal_alpha(x, p)


def skill_report(
    facts: SharpeFacts,
    series: DailySeries,
    book: DailySeries,
    deflated: tuple[int, float],
    calibration: Calibration,
    rules: PromotionConfig,
    track_record: timedelta,
) -> Skill:
    """Everything §3.7 reports for one agent (the gates read it; the review JSON carries it)."""
    trials, sr0 = deflated
    dsr = None
    if facts.sharpe is not None and facts.q is not None:
        dsr = stats.psr(facts.sharpe, facts.effective_n, facts.q, sr_star=sr0)
    min_trl = gate_trl = None
    if facts.sharpe is not None and facts.q is not None:
        min_trl = stats.min_track_record(facts.sharpe, facts.q, rules.min_psr, overlap=facts.overlap)
        # The days to eligibility count what the gate's own test needs: under ``dsr``, the bar SR0.
        bar = sr0 if rules.skill_test == "dsr" else 0.0
        gate_trl = (
            min_trl
            if bar == 0
            else stats.min_track_record(
                facts.sharpe, facts.q, rules.min_psr, sr_star=bar, overlap=facts.overlap
            )
        )
    common, rho, alpha = (0, None, None) if book.n == 0 else correlation_with_book(series, book)
    if common < rules.min_skill_days:
        rho, alpha = None, None
    return Skill(
        track_record_days=track_record.total_seconds() / 86_400,
        n=facts.n,
        effective_n=None if facts.sharpe is None else facts.effective_n,
        sharpe=facts.sharpe,
        skewness=facts.skewness,
        kurtosis=facts.kurtosis,
        psr=facts.psr,
        dsr=dsr,
        trials=trials,
        sr0=sr0,
        min_track_record_days=min_trl,
        eligible_in_days=stats.eligible_in_days(gate_trl, facts.n, rules.min_skill_days),
        prod_correlation=rho,
        prod_book_days=book.n,
        common_days=common,
        marginal_alpha=None if alpha is None else alpha[0],
        marginal_alpha_t=None if alpha is None else alpha[1],
        calibration=calibration,
    )


def fleet_skill(
    series: Mapping[str, DailySeries],
    calibration: Mapping[str, Calibration],
    config: Config,
    sandbox: Collection[str],
    prod_book: Collection[str],
) -> dict[str, Skill]:
    """§3.7 for every agent with a realized signal in its track record, and every sandbox agent.

    ``series`` are the agents' series over the track record (:func:`track_record_span`),
    ``calibration`` their Brier decomposition over the metrics' window. ``sandbox`` are the trials
    of the deflated Sharpe ratio; ``prod_book`` the prod agents (not killed) whose mean daily value
    is the prod book. For a prod agent the book it is compared with includes itself.
    """
    rules = config.promotion
    track_record = track_record_span(config)
    names = list(dict.fromkeys([*series, *sandbox]))
    facts = {name: sharpe_facts(series.get(name, EMPTY_SERIES)) for name in names}
    deflated = deflation({name: facts[name] for name in sandbox}, rules.trials, rules.min_skill_days)
    book = prod_book_series(series, prod_book)
    return {
        name: skill_report(
            facts[name],
            series.get(name, EMPTY_SERIES),
            book,
            deflated,
            calibration.get(name, Calibration()),
            rules,
            track_record,
        )
        for name in names
    }
