"""What the demo generator's fleet is made of: the calendar bounds, agents, catalysts, signals.

A module of its own so the generator (``generate.py``) and the evidence-of-skill stories
(``skill_stories.py``) can share these types without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

FIRST_DAY = date(2026, 8, 3)
LAST_DAY = date(2026, 10, 30)


@dataclass(frozen=True)
class AgentSpec:
    name: str
    klass: str | None  # None: not in the registry
    stage: str
    declared: tuple[str, ...]  # empty: any regime
    first: date
    last: date
    per_day: tuple[int, ...]  # signals per trading day, cycled
    skill: tuple[tuple[date, float], ...]  # (from day, share of signals in the catalyst's direction)
    confidence: tuple[float, float]
    horizons_am: tuple[tuple[str | int, float], ...]
    horizons_pm: tuple[tuple[str | int, float], ...]
    directions: tuple[str | int, str | int]  # (long, short) spelling
    ts_style: str
    notional: float | None
    write_class: bool
    prefix: str
    run_cost: tuple[float, float]
    idle_runs: int
    idle_cost: tuple[float, float]
    daily_fee: float
    eval_mean: float | None
    cost_step: tuple[date, float] | None = None  # (from day, multiplier on run costs)
    paused: tuple[date, date] | None = None
    slowdown: tuple[date, int] | None = None  # (from day, signals per trading day from then on)
    mismatch_weeks: tuple[date, ...] = ()  # Mondays of weeks it trades outside its regimes
    write_type: bool = False
    retired_on: date | None = None
    mirrors: tuple[str, ...] = ()  # the agents whose signals it copies (its own rules then unused)


@dataclass(frozen=True)
class Catalyst:
    symbol: str
    day: date
    slot: str
    direction: int
    size: float


@dataclass(frozen=True)
class Signal:
    agent: AgentSpec
    signal_id: str
    ts: datetime
    symbol: str
    slot: str
    catalyst: Catalyst
    horizon: str | int
    confidence: float
    right: bool  # in the catalyst's direction
