"""A deliberately naive reading of SPEC §3.7 (evidence of skill) and §3.8 (demotion).

Plain Python over reconciled signals (``test_examples.spec_reconcile``'s, or anything with the
same attributes), with ``scipy.stats`` for the moments and Student's t — none of metasup's
functions, so ``test_examples.py`` can check metasup's numbers against it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import correlation, mean, stdev
from typing import Protocol

from scipy import stats

MIN_SKILL_DAYS = 10  # promotion.min_skill_days
MIN_PSR = 0.95  # promotion.min_psr
MAX_MIN_TRL = 10_000  # MinTRL is searched up to this many days


class Realized(Protocol):
    agent: str
    status: str
    exit_ts: datetime | None
    notional: float
    e: float


def booked_day(exit_ts: datetime) -> date:
    """SPEC §6's booking: a Saturday or Sunday exit counts on the next Monday."""
    day = exit_ts.date()
    return day + timedelta(days={5: 2, 6: 1}.get(day.weekday(), 0))


def series(signals: Iterable[Realized], as_of: datetime, span: timedelta) -> dict[str, dict[date, float]]:
    """Every agent's ``x_d = Σ notional·e / Σ notional`` over its signals realized in the span."""
    sums: dict[str, dict[date, list[float]]] = {}
    for s in signals:
        if s.status != "realized" or s.exit_ts is None or not as_of - span < s.exit_ts <= as_of:
            continue
        cell = sums.setdefault(s.agent, {}).setdefault(booked_day(s.exit_ts), [0.0, 0.0])
        cell[0] += s.notional * s.e
        cell[1] += s.notional
    return {agent: {d: w / n for d, (w, n) in sorted(days.items())} for agent, days in sums.items()}


@dataclass(frozen=True)
class Sharpe:
    n: int
    sharpe: float
    q: float

    def psr(self, sr_star: float = 0.0, n: int | None = None) -> float:
        """PSR(SR*) with Student's t of ``n − 1`` degrees of freedom (``n``: the record's length)."""
        days = self.n if n is None else n
        return float(stats.t.cdf((self.sharpe - sr_star) * math.sqrt(days - 1) / math.sqrt(self.q), days - 1))

    def min_track_record(self) -> int | None:
        """The smallest ``n' ≥ 2`` whose PSR(0) at this Sharpe ratio reaches ``min_psr``."""
        if self.sharpe <= 0:
            return None
        return next((n for n in range(2, MAX_MIN_TRL + 1) if self.psr(n=n) >= MIN_PSR), None)

    def eligible_in_days(self) -> int | None:
        """Days until the skill gate (PSR) could pass: MinTRL, and never before ``min_skill_days``."""
        found = self.min_track_record()
        return None if found is None else max(0, found - self.n, MIN_SKILL_DAYS - self.n)


def sharpe(values: Collection[float]) -> Sharpe | None:
    """Per-day Sharpe ratio and ``q = 1 − g3·SR + (g4 − 1)/4·SR²`` (biased skewness and kurtosis)."""
    xs = list(values)
    if len(xs) < 2 or stdev(xs) == 0:
        return None
    sr = mean(xs) / stdev(xs)
    g3 = float(stats.skew(xs))
    g4 = float(stats.kurtosis(xs, fisher=False))
    q = 1 - g3 * sr + (g4 - 1) / 4 * sr**2
    return Sharpe(len(xs), sr, q) if q > 0 else None


def book(by_agent: Mapping[str, Mapping[date, float]], prod: Collection[str]) -> dict[date, float]:
    """``p_d``: the mean of ``x_d`` over the prod agents (not killed) that have day ``d``."""
    days: dict[date, list[float]] = {}
    for agent in prod:
        for d, x in by_agent.get(agent, {}).items():
            days.setdefault(d, []).append(x)
    return {d: mean(xs) for d, xs in days.items()}


def prod_correlation(own: Mapping[date, float], prod_book: Mapping[date, float]) -> float | None:
    """Pearson ρ of the agent's ``x`` and the book ``p`` over their common days."""
    common = sorted(set(own) & set(prod_book))
    if len(common) < MIN_SKILL_DAYS:
        return None
    return correlation([own[d] for d in common], [prod_book[d] for d in common])
