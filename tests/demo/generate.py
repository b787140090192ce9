"""Write the bundled demo data: ``python tests/demo/generate.py [--out DIR]``.

The generator lives in ``tests/`` because the package ships data only (SPEC §1); its default
output folder is ``metasup/examples/``, and ``tests/unit/test_examples.py`` imports it
(``tests/unit/conftest.py`` puts this folder on ``sys.path``).

Deterministic: one seeded :class:`numpy.random.Generator` per component, no wall clock, no
environment. Running it again rewrites ``metasup.yml``, ``agents.yaml``,
``alpha/events.jsonl``, ``telemetry/events.jsonl`` and ``market/prices.csv`` byte for byte.

The market
    Hourly close bars 14:00–20:00 UTC on US trading days from 2026-08-03 to 2026-10-30
    (weekends and Labor Day have no bars, so a horizon that crosses them finds no exit bar in
    time). Each symbol follows a geometric random walk with its own drift and beta to SPY, whose
    hourly noise depends on the symbol's regime (trending: positively autocorrelated;
    mean_reverting: negatively; volatile: larger). On top of it, every symbol has two
    *catalysts* a day: a move of 1.1–2.4 % (larger in a volatile regime) that starts after the
    14:00 bar (finishing at 17:00) or after the 17:00 bar (finishing at 20:00).

The agents
    Every signal is emitted shortly before a catalyst starts, with a horizon that covers it. A
    skilled agent takes the catalyst's direction in a share ``p`` of its signals (exactly
    ``round(p·n)`` of the ``n`` signals of each week, so the stories do not hang on luck), the
    opposite direction otherwise. An agent only trades symbols whose regime (the telemetry's
    ``regime`` events, SPEC §3.2's lookup) is one it declares, except in the weeks its story
    says it trades outside them; ``momo-twin`` copies other agents' signals instead
    (``AgentSpec.mirrors``). The evidence-of-skill agents are in ``skill_stories.py``.
    ``metasup/examples/README.md`` tells each story;
    ``tests/unit/test_examples.py`` checks them with an independent implementation of SPEC §3.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from fleet_spec import FIRST_DAY, LAST_DAY, AgentSpec, Catalyst, Signal
from skill_stories import SKILL_AGENTS, SKILL_NOTES, mirror_signals

SEED = 20261030

HOLIDAYS = frozenset({date(2026, 9, 7)})  # Labor Day: no bars
BAR_HOURS = (14, 15, 16, 17, 18, 19, 20)
AS_OF = datetime(2026, 10, 30, 20, 0, tzinfo=UTC)
"""The last price bar: the default ``as_of`` of an evaluation of this data."""

BENCHMARK = "SPY"
REGIMES = ("trending", "mean_reverting", "volatile")

ALPHA_FILE = "alpha/events.jsonl"
TELEMETRY_FILE = "telemetry/events.jsonl"
PRICES_FILE = "market/prices.csv"
CONFIG_FILE = "metasup.yml"
REGISTRY_FILE = "agents.yaml"
OUTPUT_FILES = (CONFIG_FILE, REGISTRY_FILE, ALPHA_FILE, TELEMETRY_FILE, PRICES_FILE)

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "metasup" / "examples"
"""Where the package ships the demo data (``metasup/examples`` of this repository)."""

# Catalysts: a slot's signals enter on its entry bar; the move is spread over the next three bars.
SLOT_ENTRY_HOUR = {"am": 14, "pm": 17}
CATALYST_WEIGHTS = (0.6, 0.3, 0.1)
CATALYST_RANGE = (0.011, 0.024)
VOLATILE_CATALYST_BOOST = 1.3

# (autocorrelation of the hourly noise, volatility multiplier) per regime.
REGIME_DYNAMICS = {"trending": (0.12, 1.0), "mean_reverting": (-0.25, 0.9), "volatile": (0.0, 1.7)}
BARS_PER_YEAR = 252 * len(BAR_HOURS)
OVERNIGHT_VOL = 2.5
WEEKEND_VOL = 3.0


@dataclass(frozen=True)
class SymbolSpec:
    name: str
    start: float
    drift: float  # annualized
    beta: float
    sigma: float  # hourly idiosyncratic volatility


SYMBOLS = (
    SymbolSpec("AAPL", 226.40, 0.12, 1.05, 0.0030),
    SymbolSpec("MSFT", 428.10, 0.10, 0.95, 0.0028),
    SymbolSpec("NVDA", 118.60, 0.45, 1.60, 0.0050),
    SymbolSpec("AMZN", 184.20, 0.15, 1.20, 0.0038),
    SymbolSpec("GOOGL", 166.90, 0.08, 1.05, 0.0034),
    SymbolSpec("META", 512.30, 0.25, 1.25, 0.0040),
    SymbolSpec("TSLA", 236.80, -0.10, 1.90, 0.0045),
    SymbolSpec("JPM", 214.50, 0.05, 0.85, 0.0026),
)
SPY = SymbolSpec(BENCHMARK, 552.40, 0.08, 1.0, 0.0014)
STOCKS = tuple(s.name for s in SYMBOLS)


# --------------------------------------------------------------------------------------------
# Regimes: a classifier publishes each tracked symbol's regime every trading day at 13:00 UTC;
# the market-wide regime (used for AMZN and GOOGL, which it does not track) only when it changes.

GLOBAL_REGIMES = (
    (date(2026, 8, 3), "trending"),
    (date(2026, 8, 24), "volatile"),
    (date(2026, 9, 8), "mean_reverting"),
    (date(2026, 9, 28), "trending"),
)
SYMBOL_REGIMES: dict[str, tuple[tuple[date, str], ...]] = {
    "NVDA": ((FIRST_DAY, "trending"),),
    "META": ((FIRST_DAY, "trending"),),
    "TSLA": ((FIRST_DAY, "volatile"),),
    "AAPL": ((FIRST_DAY, "mean_reverting"),),
    "MSFT": (
        (FIRST_DAY, "mean_reverting"),
        (date(2026, 9, 14), "trending"),
        (date(2026, 9, 28), "mean_reverting"),
    ),
    "JPM": ((FIRST_DAY, "mean_reverting"), (date(2026, 10, 26), "volatile")),
}
GLOBAL_REGIME_TIME = time(12, 0)
SYMBOL_REGIME_TIME = time(13, 0)


def _step_value(steps: Sequence[tuple[date, str]], day: date) -> str:
    value = steps[0][1]
    for start, regime in steps:
        if start <= day:
            value = regime
    return value


def regime_on(symbol: str, day: date) -> str:
    """The regime in force on ``day`` after the classifier's 13:00 run (what every signal sees)."""
    steps = SYMBOL_REGIMES.get(symbol)
    return _step_value(steps if steps is not None else GLOBAL_REGIMES, day)


# --------------------------------------------------------------------------------------------
# Agents


AGENTS = (
    AgentSpec(
        name="momo-alpha",
        klass="momentum",
        stage="prod",
        declared=("trending",),
        first=FIRST_DAY,
        last=LAST_DAY,
        per_day=(3,),
        skill=((FIRST_DAY, 0.86),),
        confidence=(0.66, 0.86),
        horizons_am=(("3h", 0.9), ("1d", 0.1)),
        horizons_pm=(("3h", 0.8), ("4h", 0.2)),
        directions=("long", "short"),
        ts_style="millis",
        notional=25000.0,
        write_class=True,
        prefix="ma",
        run_cost=(0.9, 1.5),
        idle_runs=4,
        idle_cost=(0.4, 0.7),
        daily_fee=3.0,
        eval_mean=91.0,
    ),
    AgentSpec(
        name="momo-slow",
        klass="momentum",
        stage="prod",
        declared=("trending",),
        first=FIRST_DAY,
        last=LAST_DAY,
        per_day=(2,),
        skill=((FIRST_DAY, 0.58),),
        confidence=(0.35, 0.55),
        horizons_am=((10800, 0.85), (86400, 0.15)),
        horizons_pm=((10800, 0.7), (14400, 0.3)),
        directions=(1, -1),
        ts_style="z",
        notional=None,
        write_class=False,
        prefix="ms",
        run_cost=(0.5, 0.9),
        idle_runs=3,
        idle_cost=(0.3, 0.5),
        daily_fee=2.0,
        eval_mean=79.0,
        cost_step=(date(2026, 10, 26), 1.8),
    ),
    AgentSpec(
        name="momo-beta",
        klass="momentum",
        stage="sandbox",
        declared=("trending",),
        first=date(2026, 9, 1),
        last=LAST_DAY,
        per_day=(2, 3),
        skill=((FIRST_DAY, 0.74),),
        confidence=(0.52, 0.72),
        horizons_am=(("3h", 0.8), ("1d", 0.2)),
        horizons_pm=(("3h", 0.8), ("4h", 0.2)),
        directions=("buy", "sell"),
        ts_style="z",
        notional=10000.0,
        write_class=False,
        prefix="mb",
        run_cost=(0.7, 1.1),
        idle_runs=4,
        idle_cost=(0.3, 0.5),
        daily_fee=2.5,
        eval_mean=88.5,
    ),
    AgentSpec(
        name="meanrev-core",
        klass="mean_reversion",
        stage="prod",
        declared=(),  # inherits the class's regimes
        first=FIRST_DAY,
        last=LAST_DAY,
        per_day=(3,),
        skill=((FIRST_DAY, 0.72),),
        confidence=(0.52, 0.72),
        horizons_am=(("30m", 0.3), ("2h", 0.4), ("3h", 0.3)),
        horizons_pm=(("30m", 0.3), ("2h", 0.4), ("3h", 0.3)),
        directions=(1, -1),
        ts_style="plus",
        notional=None,
        write_class=False,
        prefix="mc",
        run_cost=(0.6, 1.0),
        idle_runs=4,
        idle_cost=(0.3, 0.5),
        daily_fee=2.5,
        eval_mean=84.0,
    ),
    AgentSpec(
        name="meanrev-fast",
        klass="mean_reversion",
        stage="sandbox",
        declared=(),
        first=date(2026, 8, 17),
        last=LAST_DAY,
        per_day=(3, 2),
        skill=((FIRST_DAY, 0.74),),
        confidence=(0.52, 0.72),
        horizons_am=(("30m", 0.5), ("2h", 0.5)),
        horizons_pm=(("30m", 0.5), ("2h", 0.5)),
        directions=("long", "short"),
        ts_style="z",
        notional=8000.0,
        write_class=False,
        prefix="mf",
        run_cost=(0.5, 0.8),
        idle_runs=4,
        idle_cost=(0.3, 0.5),
        daily_fee=2.0,
        eval_mean=87.0,
    ),
    AgentSpec(
        name="meanrev-legacy",
        klass="mean_reversion",
        stage="prod",
        declared=(),
        first=FIRST_DAY,
        last=LAST_DAY,
        per_day=(2,),
        skill=((FIRST_DAY, 0.62), (date(2026, 9, 28), 0.25)),
        confidence=(0.32, 0.48),
        horizons_am=(("2h", 0.5), ("3h", 0.5)),
        horizons_pm=(("2h", 0.5), ("3h", 0.5)),
        directions=(1, -1),
        ts_style="z",
        notional=6000.0,
        write_class=False,
        prefix="ml",
        run_cost=(2.5, 3.5),
        idle_runs=4,
        idle_cost=(1.0, 1.5),
        daily_fee=3.0,
        eval_mean=72.0,
    ),
    AgentSpec(
        name="macro-llm",
        klass="llm_macro",
        stage="prod",
        declared=("volatile",),
        first=FIRST_DAY,
        last=LAST_DAY,
        per_day=(2,),
        skill=(
            (FIRST_DAY, 0.55),
            (date(2026, 10, 5), 0.30),
            (date(2026, 10, 12), 0.15),
            (date(2026, 10, 26), 0.90),
        ),
        confidence=(0.40, 0.60),
        horizons_am=(("3h", 0.8), ("1d", 0.2)),
        horizons_pm=(("3h", 0.8), ("4h", 0.2)),
        directions=("long", "short"),
        ts_style="new_york",
        notional=None,
        write_class=True,
        prefix="llm",
        run_cost=(10.0, 14.0),
        idle_runs=5,
        idle_cost=(8.0, 12.0),
        daily_fee=15.0,
        eval_mean=76.0,
        paused=(date(2026, 10, 19), date(2026, 10, 23)),
        slowdown=(date(2026, 10, 26), 1),
        mismatch_weeks=(date(2026, 10, 12),),
    ),
    AgentSpec(
        name="news-sent",
        klass="llm_macro",
        stage="sandbox",
        declared=(),
        first=date(2026, 10, 19),
        last=LAST_DAY,
        per_day=(4,),
        skill=((FIRST_DAY, 0.15),),
        confidence=(0.88, 0.98),
        horizons_am=(("3h", 0.7), ("1d", 0.3)),
        horizons_pm=(("3h", 0.7), ("4h", 0.3)),
        directions=("buy", "sell"),
        ts_style="z",
        notional=25000.0,
        write_class=True,
        prefix="ns",
        run_cost=(2.0, 4.0),
        idle_runs=4,
        idle_cost=(1.0, 2.0),
        daily_fee=4.0,
        eval_mean=63.0,
        cost_step=(date(2026, 10, 26), 1.5),
        mismatch_weeks=(date(2026, 10, 19),),
        write_type=True,
    ),
    AgentSpec(
        name="momo-v1",
        klass="momentum",
        stage="retired",
        declared=(),
        first=FIRST_DAY,
        last=date(2026, 8, 14),
        per_day=(2,),
        skill=((FIRST_DAY, 0.40),),
        confidence=(0.70, 0.90),
        horizons_am=(("4h", 1.0),),
        horizons_pm=(("4h", 1.0),),
        directions=(1, -1),
        ts_style="z",
        notional=None,
        write_class=False,
        prefix="m1",
        run_cost=(0.8, 1.2),
        idle_runs=2,
        idle_cost=(0.3, 0.5),
        daily_fee=2.0,
        eval_mean=68.0,
        retired_on=date(2026, 8, 14),
    ),
    AgentSpec(
        name="scalper-x",
        klass=None,
        stage="sandbox",
        declared=(),
        first=date(2026, 10, 20),
        last=date(2026, 10, 29),
        per_day=(2, 0),
        skill=((FIRST_DAY, 0.5),),
        confidence=(0.40, 0.60),
        horizons_am=(("30m", 1.0),),
        horizons_pm=(("30m", 1.0),),
        directions=(1, -1),
        ts_style="naive",
        notional=None,
        write_class=False,
        prefix="sx",
        run_cost=(0.0, 0.0),
        idle_runs=0,
        idle_cost=(0.0, 0.0),
        daily_fee=0.0,
        eval_mean=None,
    ),
    *SKILL_AGENTS,  # the evidence-of-skill stories (SPEC §3.7, §3.8): skill_stories.py
)
"""The fleet. ``metasup/examples/README.md`` has the story behind each parameter; the stories of
SPEC §3.7–§3.8 (evidence of skill, demotion) are in ``skill_stories.py``."""

SAFETY_VIOLATION = {
    "type": "safety_violation",
    "ts": "2026-10-21T15:12:44Z",
    "agent": "meanrev-fast",
    "rule": "max_gross_exposure",
    "severity": "high",
    "detail": "requested 3.2x the allowed gross exposure on AAPL; order blocked by the risk gateway",
}


# --------------------------------------------------------------------------------------------
# Calendar and formatting


def trading_days() -> list[date]:
    days: list[date] = []
    day = FIRST_DAY
    while day <= LAST_DAY:
        if day.weekday() < 5 and day not in HOLIDAYS:
            days.append(day)
        day += timedelta(days=1)
    return days


def at(day: date, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=UTC)


def iso_z(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_ts(ts: datetime, style: str) -> str:
    """The same instant, spelled the ways real agents spell it (all RFC 3339 but ``naive``)."""
    utc = ts.astimezone(UTC)
    if style == "z":
        return iso_z(utc)
    if style == "millis":
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if style == "plus":
        return utc.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    if style == "naive":  # SPEC §2: a timestamp without offset is UTC
        return utc.strftime("%Y-%m-%dT%H:%M:%S")
    if style == "new_york":  # every day of the data is in EDT (UTC-4)
        return (utc - timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%S-04:00")
    raise ValueError(f"unknown timestamp style {style!r}")


def json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False)


def money(value: float) -> float:
    return round(value, 4)


# Every draw goes through ``rng.random()`` (uniform doubles) or ``rng.standard_normal()``: the two
# primitives whose streams numpy has kept stable, so a numpy upgrade does not rewrite the data.


def integer(rng: np.random.Generator, low: int, high: int) -> int:
    """Uniform integer in ``[low, high)``."""
    return low + int(float(rng.random()) * (high - low))


def uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return bounds[0] + (bounds[1] - bounds[0]) * float(rng.random())


def sample(rng: np.random.Generator, population: int, size: int) -> list[int]:
    """``size`` distinct indexes of ``range(population)``, in increasing order."""
    keys = [float(rng.random()) for _ in range(population)]
    return sorted(sorted(range(population), key=keys.__getitem__)[:size])


def pick(rng: np.random.Generator, weighted: Sequence[tuple[str | int, float]]) -> str | int:
    """One value of ``(value, weight)`` pairs, with probability proportional to its weight."""
    threshold = float(rng.random()) * sum(w for _, w in weighted)
    for value, weight in weighted:
        threshold -= weight
        if threshold < 0:
            return value
    return weighted[-1][0]


def stream(*key: int) -> np.random.Generator:
    """An independent, reproducible random stream per component (tuning one leaves the rest)."""
    return np.random.default_rng([SEED, *key])


# --------------------------------------------------------------------------------------------
# Market


@dataclass(frozen=True)
class Market:
    days: list[date]
    bars: list[datetime]
    prices: dict[str, list[float]]  # rounded to cents, aligned with ``bars``
    catalysts: dict[tuple[str, date, str], Catalyst]


def make_catalysts(days: Sequence[date]) -> dict[tuple[str, date, str], Catalyst]:
    rng = stream(1)
    catalysts: dict[tuple[str, date, str], Catalyst] = {}
    for day in days:
        for symbol in STOCKS:
            for slot in ("am", "pm"):
                direction = 1 if rng.random() < 0.5 else -1
                size = uniform(rng, CATALYST_RANGE)
                if regime_on(symbol, day) == "volatile":
                    size *= VOLATILE_CATALYST_BOOST
                catalysts[(symbol, day, slot)] = Catalyst(symbol, day, slot, direction, size)
    return catalysts


def make_market() -> Market:
    days = trading_days()
    bars = [at(day, hour) for day in days for hour in BAR_HOURS]
    catalysts = make_catalysts(days)

    # Gap factor of each bar's return: the first bar of a day carries the overnight move.
    gaps: list[float] = []
    for index, bar in enumerate(bars):
        if index == 0 or bar.hour != BAR_HOURS[0]:
            gaps.append(1.0)
        else:
            calendar_gap = (bar.date() - bars[index - 1].date()).days
            gaps.append(OVERNIGHT_VOL if calendar_gap == 1 else WEEKEND_VOL)

    rng = stream(2)
    spy_returns = [0.0]
    for gap in gaps[1:]:
        spy_returns.append(SPY.drift / BARS_PER_YEAR + SPY.sigma * gap * float(rng.standard_normal()))
    prices = {BENCHMARK: _path(SPY.start, spy_returns)}

    for number, spec in enumerate(SYMBOLS):
        rng = stream(3, number)
        returns = [0.0]
        noise = 0.0
        for index in range(1, len(bars)):
            bar = bars[index]
            regime = regime_on(spec.name, bar.date())
            phi, vol = REGIME_DYNAMICS[regime]
            noise = phi * noise + spec.sigma * vol * gaps[index] * float(rng.standard_normal())
            move = _catalyst_move(catalysts, spec.name, bar)
            returns.append(spec.drift / BARS_PER_YEAR + spec.beta * spy_returns[index] + noise + move)
        prices[spec.name] = _path(spec.start, returns)
    return Market(days=days, bars=bars, prices=prices, catalysts=catalysts)


def _catalyst_move(catalysts: dict[tuple[str, date, str], Catalyst], symbol: str, bar: datetime) -> float:
    for slot, entry_hour in SLOT_ENTRY_HOUR.items():
        step = bar.hour - entry_hour
        if 1 <= step <= len(CATALYST_WEIGHTS):
            catalyst = catalysts[(symbol, bar.date(), slot)]
            return catalyst.direction * catalyst.size * CATALYST_WEIGHTS[step - 1]
    return 0.0


def _path(start: float, log_returns: Sequence[float]) -> list[float]:
    level = math.log(start)
    out: list[float] = []
    for value in log_returns:
        level += value
        out.append(round(math.exp(level), 2))
    return out


# --------------------------------------------------------------------------------------------
# Signals


CLASS_REGIMES: dict[str, tuple[str, ...]] = {
    "momentum": ("trending",),
    "mean_reversion": ("mean_reverting",),
    "llm_macro": ("volatile",),
}
CLASS_NOTES = {
    "momentum": "Trend followers: fit for trending markets only.",
    "mean_reversion": "Fade over-extensions: fit for range-bound (mean-reverting) markets.",
    "llm_macro": "LLMs reading news and macro releases; they claim an edge in volatile markets.",
}
AGENT_NOTES = {
    "momo-alpha": "flagship trend follower, largest size",
    "momo-slow": "low-conviction trend follower, thin edge",
    "momo-beta": "candidate for prod since 2026-09-01",
    "meanrev-core": "workhorse range trader",
    "meanrev-fast": "short-horizon range trader, candidate since 2026-08-17",
    "meanrev-legacy": "older range trader, twice the running cost of meanrev-core",
    "macro-llm": "LLM macro desk",
    "news-sent": "headline-sentiment LLM, live in sandbox since 2026-10-19",
    "momo-v1": "first generation, replaced by momo-alpha",
    **SKILL_NOTES,
}


def declared_regimes(agent: AgentSpec) -> tuple[str, ...]:
    """The agent's own regimes, else its class's; empty means any (SPEC §2.4)."""
    if agent.declared:
        return agent.declared
    return CLASS_REGIMES.get(agent.klass or "", ())


def is_paused(agent: AgentSpec, day: date) -> bool:
    return agent.paused is not None and agent.paused[0] <= day <= agent.paused[1]


def active_days(agent: AgentSpec, days: Iterable[date]) -> list[date]:
    return [d for d in days if agent.first <= d <= agent.last and not is_paused(agent, d)]


def universe(agent: AgentSpec, day: date) -> list[str]:
    """Symbols the agent trades on ``day``: its declared regimes, or outside them in a mismatch week."""
    declared = declared_regimes(agent)
    if not declared:
        return list(STOCKS)
    inside = monday_of(day) not in agent.mismatch_weeks
    return [s for s in STOCKS if (regime_on(s, day) in declared) == inside]


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def skill_on(agent: AgentSpec, day: date) -> float:
    value = agent.skill[0][1]
    for start, p in agent.skill:
        if start <= day:
            value = p
    return value


def emission_time(rng: np.random.Generator, day: date, slot: str) -> datetime:
    """Shortly before the slot's entry bar; sometimes exactly on the previous bar (16:00:00)."""
    if slot == "am":
        return at(day, 13, integer(rng, 5, 56), integer(rng, 0, 60), integer(rng, 0, 1000) * 1000)
    if rng.random() < 0.15:  # entry is the first bar *strictly after* ts: the 17:00 bar
        return at(day, 16)
    return at(day, 16, integer(rng, 1, 56), integer(rng, 0, 60), integer(rng, 0, 1000) * 1000)


def make_signals(market: Market) -> list[Signal]:
    signals: list[Signal] = []
    for number, agent in enumerate(AGENTS):
        if agent.mirrors:
            continue
        rng = stream(4, number)
        picks: list[tuple[datetime, str, str]] = []
        for index, day in enumerate(active_days(agent, market.days)):
            count = agent.per_day[index % len(agent.per_day)]
            if agent.slowdown is not None and day >= agent.slowdown[0]:
                count = agent.slowdown[1]
            candidates = [(symbol, slot) for symbol in universe(agent, day) for slot in ("am", "pm")]
            for position in sample(rng, len(candidates), min(count, len(candidates))):
                symbol, slot = candidates[position]
                picks.append((emission_time(rng, day, slot), symbol, slot))
        picks.sort()
        weeks: dict[date, list[int]] = {}
        for position, (ts, _, _) in enumerate(picks):
            weeks.setdefault(monday_of(ts.date()), []).append(position)
        right: set[int] = set()
        for monday, members in weeks.items():
            hits = round(skill_on(agent, monday) * len(members))
            right.update(members[i] for i in sample(rng, len(members), hits))
        per_day: dict[date, int] = {}
        for position, (ts, symbol, slot) in enumerate(picks):
            seq = per_day[ts.date()] = per_day.get(ts.date(), 0) + 1
            catalyst = market.catalysts[(symbol, ts.date(), slot)]
            horizons = agent.horizons_am if slot == "am" else agent.horizons_pm
            signals.append(
                Signal(
                    agent=agent,
                    signal_id=f"{agent.prefix}-{ts:%Y%m%d}-{seq:02d}",
                    ts=ts,
                    symbol=symbol,
                    slot=slot,
                    catalyst=catalyst,
                    horizon=pick(rng, horizons),
                    confidence=round(uniform(rng, agent.confidence), 2),
                    right=position in right,
                )
            )
    for number, agent in enumerate(AGENTS):
        if agent.mirrors:
            source = [s for s in signals if s.agent.name in agent.mirrors]
            signals.extend(mirror_signals(agent, source, stream(4, number)))
    signals.extend(macro_views(market))
    signals.sort(key=lambda s: (s.ts, s.signal_id))
    return signals


def macro_views(market: Market) -> list[Signal]:
    """macro-llm's two-week views on TSLA in August and early September (all exit before W)."""
    agent = next(a for a in AGENTS if a.name == "macro-llm")
    rng = stream(6)
    views: list[Signal] = []
    for day in market.days:
        if day.weekday() == 0 and day < date(2026, 9, 14):
            ts = at(day, 13, 30, integer(rng, 0, 60))
            catalyst = market.catalysts[("TSLA", day, "am")]
            views.append(
                Signal(
                    agent=agent,
                    signal_id=f"{agent.prefix}-{ts:%Y%m%d}-w2",
                    ts=ts,
                    symbol="TSLA",
                    slot="am",
                    catalyst=catalyst,
                    horizon="2w",
                    confidence=round(uniform(rng, agent.confidence), 2),
                    right=bool(rng.random() < 0.5),
                )
            )
    return views


def signal_record(signal: Signal) -> dict[str, Any]:
    agent = signal.agent
    direction = signal.catalyst.direction if signal.right else -signal.catalyst.direction
    record: dict[str, Any] = {}
    if agent.write_type:
        record["type"] = "signal"
    record["ts"] = format_ts(signal.ts, agent.ts_style)
    record["signal_id"] = signal.signal_id
    record["agent"] = agent.name
    if agent.write_class and agent.klass is not None:
        record["strategy_class"] = agent.klass
    record["symbol"] = signal.symbol
    record["direction"] = agent.directions[0] if direction > 0 else agent.directions[1]
    record["confidence"] = signal.confidence
    record["horizon"] = signal.horizon
    if agent.notional is not None:
        record["notional"] = int(agent.notional) if agent.notional.is_integer() else agent.notional
    return record


# --------------------------------------------------------------------------------------------
# Telemetry

IDLE_HOURS = (12, 15, 18, 21, 23)


def make_telemetry(market: Market, signals: Sequence[Signal]) -> list[tuple[datetime, dict[str, Any]]]:
    events: list[tuple[datetime, dict[str, Any]]] = []
    for day, regime in GLOBAL_REGIMES:
        ts = datetime.combine(day, GLOBAL_REGIME_TIME, tzinfo=UTC)
        events.append((ts, {"type": "regime", "ts": iso_z(ts), "regime": regime}))
    for day in market.days:
        ts = datetime.combine(day, SYMBOL_REGIME_TIME, tzinfo=UTC)
        for symbol in SYMBOL_REGIMES:
            events.append(
                (ts, {"type": "regime", "ts": iso_z(ts), "regime": regime_on(symbol, day), "symbol": symbol})
            )

    for number, agent in enumerate(AGENTS):
        if agent.klass is None:  # an unregistered agent nobody instrumented
            continue
        rng = stream(5, number)
        own = [s for s in signals if s.agent is agent]
        for day in market.days:
            if not agent.first <= day <= agent.last:
                continue
            multiplier = agent.cost_step[1] if agent.cost_step and day >= agent.cost_step[0] else 1.0
            if not is_paused(agent, day):
                for hour in IDLE_HOURS[: agent.idle_runs]:
                    ts = at(day, hour, integer(rng, 0, 60), integer(rng, 0, 60))
                    events.append((ts, run_event(rng, agent, ts, uniform(rng, agent.idle_cost) * multiplier)))
                for signal in (s for s in own if s.ts.date() == day):
                    ts = signal.ts - timedelta(seconds=integer(rng, 30, 300))
                    ts = ts.replace(microsecond=0)
                    events.append((ts, run_event(rng, agent, ts, uniform(rng, agent.run_cost) * multiplier)))
            fee_ts = at(day, 23, 50)
            events.append(
                (
                    fee_ts,
                    {"type": "cost", "ts": iso_z(fee_ts), "agent": agent.name, "cost_usd": agent.daily_fee},
                )
            )
        if agent.eval_mean is not None:
            day = agent.first
            while day <= agent.last:
                if day.weekday() == 2:
                    ts = at(day, 3 + number // 12, 5 * (number % 12), integer(rng, 0, 60))
                    score = round(agent.eval_mean + uniform(rng, (-2.5, 2.5)), 1)
                    events.append(
                        (
                            ts,
                            {"type": "behavioral_eval", "ts": iso_z(ts), "agent": agent.name, "score": score},
                        )
                    )
                day += timedelta(days=1)
    violation_ts = datetime.fromisoformat(str(SAFETY_VIOLATION["ts"]))
    events.append((violation_ts, dict(SAFETY_VIOLATION)))
    events.sort(key=lambda e: e[0])
    return events


def run_event(rng: np.random.Generator, agent: AgentSpec, ts: datetime, cost: float) -> dict[str, Any]:
    tokens = int(cost * uniform(rng, (9000.0, 11000.0)))
    return {
        "type": "run",
        "ts": iso_z(ts),
        "agent": agent.name,
        "cost_usd": money(cost),
        "tokens": tokens,
        "latency_ms": integer(rng, 800, 9000),
        "status": "error" if rng.random() < 0.03 else "ok",
    }


# --------------------------------------------------------------------------------------------
# Planted bad lines (SPEC §2.6): each one must be rejected (or ignored) and reported, never fatal.


@dataclass(frozen=True)
class Planted:
    file: str
    anchor: datetime  # sorts into the file right after the lines at or before it
    text: str
    outcome: str  # "rejected" or "ignored"
    reason: str


def planted_alpha(signals: Sequence[Signal]) -> list[Planted]:
    original = next(
        s for s in signals if s.agent.name == "meanrev-core" and s.ts.date() == date(2026, 10, 22)
    )
    resent = signal_record(original)
    resent["ts"] = format_ts(original.ts + timedelta(hours=2), original.agent.ts_style)
    resent["direction"] = -int(resent["direction"])
    truncated = json_line(
        {
            "ts": "2026-10-06T13:31:02Z",
            "signal_id": "mc-20261006-xx",
            "agent": "meanrev-core",
            "symbol": "AAPL",
        }
    )
    lines = [
        (
            utc("2026-10-06T13:31:02"),
            truncated[: truncated.index('"symbol"') + 12],
            "rejected",
            "invalid JSON",
        ),
        (
            utc("2026-10-08T16:20:11"),
            json_line(
                {
                    "ts": "2026-10-08T16:20:11Z",
                    "signal_id": "ms-20261008-x1",
                    "agent": "momo-slow",
                    "direction": 1,
                    "confidence": 0.55,
                    "horizon": 86400,
                }
            ),
            "rejected",
            "missing required field: symbol",
        ),
        (
            utc("2026-10-13T13:40:27"),
            json_line(
                {
                    "ts": "2026-10-13T13:40:27.512Z",
                    "signal_id": "ma-20261013-x1",
                    "agent": "momo-alpha",
                    "strategy_class": "momentum",
                    "symbol": "NVDA",
                    "direction": "long",
                    "confidence": 1.7,
                    "horizon": "3h",
                    "notional": 25000,
                }
            ),
            "rejected",
            "confidence 1.7 outside [0, 1]",
        ),
        (
            utc("2026-10-15T16:10:45"),
            json_line(
                {
                    "ts": "2026-10-15T16:10:45+00:00",
                    "signal_id": "mc-20261015-x1",
                    "agent": "meanrev-core",
                    "symbol": "JPM",
                    "direction": "flat",
                    "confidence": 0.6,
                    "horizon": "2h",
                }
            ),
            "rejected",
            "unknown direction 'flat'",
        ),
        (
            utc("2026-10-20T13:22:09"),
            json_line(
                {
                    "type": "signal",
                    "ts": "2026-10-20T13:22:09Z",
                    "signal_id": "ns-20261020-x1",
                    "agent": "news-sent",
                    "strategy_class": "llm_macro",
                    "symbol": "NVDA",
                    "direction": "buy",
                    "confidence": 0.93,
                    "horizon": "soon",
                    "notional": 25000,
                }
            ),
            "rejected",
            "unparsable horizon 'soon'",
        ),
        (
            original.ts + timedelta(hours=2),
            json_line(resent),
            "rejected",
            f"duplicate signal_id {original.signal_id} (re-sent 2 h later, direction flipped)",
        ),
        (
            utc("2026-10-27T12:00:00"),
            json_line(
                {"type": "heartbeat", "ts": "2026-10-27T12:00:00Z", "agent": "news-sent", "status": "alive"}
            ),
            "ignored",
            "type 'heartbeat' is not a signal",
        ),
    ]
    return [Planted(ALPHA_FILE, anchor, text, outcome, reason) for anchor, text, outcome, reason in lines]


def planted_telemetry() -> list[Planted]:
    lines = [
        (
            utc("2026-10-07T14:05:00"),
            '{"type": "run", "ts": "2026-10-07T14:05:00Z", "agent": "momo-alpha", "cost_usd": 1.2',
            "rejected",
            "invalid JSON (truncated line)",
        ),
        (
            utc("2026-10-09T15:00:00"),
            json_line({"type": "run", "ts": "2026-10-09T15:00:00Z", "agent": "meanrev-core", "tokens": 8120}),
            "rejected",
            "missing required field: cost_usd",
        ),
        (
            utc("2026-10-14T03:30:00"),
            json_line(
                {"type": "behavioral_eval", "ts": "2026-10-14T03:30:00Z", "agent": "momo-slow", "score": 140}
            ),
            "rejected",
            "score 140 outside [0, 100]",
        ),
        (
            utc("2026-10-16T23:51:00"),
            json_line(
                {"type": "cost", "ts": "2026-10-16T23:51:00Z", "agent": "macro-llm", "cost_usd": "twelve"}
            ),
            "rejected",
            "cost_usd 'twelve' is not a number",
        ),
        (
            utc("2026-10-20T13:00:30"),
            json_line({"type": "regime", "ts": "2026-10-20T13:00:30Z", "symbol": "AAPL"}),
            "rejected",
            "missing required field: regime",
        ),
        (
            utc("2026-10-22T12:00:00"),
            json_line({"type": "heartbeat", "ts": "2026-10-22T12:00:00Z", "agent": "macro-llm"}),
            "ignored",
            "unknown event type 'heartbeat'",
        ),
    ]
    return [Planted(TELEMETRY_FILE, anchor, text, outcome, reason) for anchor, text, outcome, reason in lines]


def planted_prices() -> list[Planted]:
    return [
        Planted(
            PRICES_FILE,
            utc("2026-10-14T16:30:00"),
            "2026-10-14T16:30:00Z,NVDA,0",
            "rejected",
            "price 0 (must be > 0)",
        ),
        Planted(
            PRICES_FILE,
            utc("2026-10-20T17:30:00"),
            "2026-10-20T17:30:00Z,MSFT,NaN",
            "rejected",
            "price NaN (not finite)",
        ),
    ]


def utc(text: str) -> datetime:
    """A naive ISO timestamp read as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass(frozen=True)
class BadLine:
    """Where a planted line ended up (1-based line number, header included for the CSV)."""

    file: str
    line: int
    outcome: str
    reason: str


def merge(
    lines: Sequence[tuple[datetime, str]], planted: Sequence[Planted], header: str | None = None
) -> tuple[list[str], list[BadLine]]:
    """Real lines in time order, each planted line after the real lines at or before its anchor."""
    keyed = [(ts, 0, i, text) for i, (ts, text) in enumerate(lines)]
    keyed += [(p.anchor, 1, i, p.text) for i, p in enumerate(planted)]
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    out = [] if header is None else [header]
    bad: list[BadLine] = []
    for _, kind, i, text in keyed:
        out.append(text)
        if kind == 1:
            p = planted[i]
            bad.append(BadLine(p.file, len(out), p.outcome, p.reason))
    return out, bad


# --------------------------------------------------------------------------------------------
# Config and registry (with the comments a real user's files would have)


def config_text() -> str:
    return """\
# metasup configuration of the bundled demo (`metasup demo` runs on it).
# Written by `python tests/demo/generate.py`; paths are relative to this file.
# Every threshold is the default of SPEC §2.5, spelled out so the demo shows them all.
base: main
registry: agents.yaml
artifacts:
  alpha: alpha/events.jsonl
  telemetry: telemetry/events.jsonl
  prices: market/prices.csv
benchmark: SPY
reconcile:
  max_delay: 1d          # entry/exit bar at most this late, else no_price
  fee_bps: 0
  default_notional: 10000
  max_loss: 0.35         # promotion needs coverage >= 1 - max_loss = 0.65
windows:
  window: 30d
  period: 7d
promotion:
  min_behavioral_score: 80
  min_realized_pnl: 0
  max_confidence_decay: 0.2
  max_cost_drift: 0.25
  min_realized_signals: 20
  min_decay_signals: 10
  # evidence of skill (SPEC §3.7): luck is not skill
  track_record: 180d     # the history the skill gate reads (the demo holds three months of it)
  min_psr: 0.95          # P(true Sharpe > 0) the record must show
  skill_test: psr        # or dsr: deflated for the number of sandbox agents tried
  min_skill_days: 10
  max_prod_correlation: 0.7
  trials: null
demotion:                # SPEC §3.8: a prod agent whose live edge turned negative goes back to sandbox
  window: 60d
  max_psr: 0.10          # demoted when at least 90 % confident that its edge is negative
retirement:
  min_rules: 2
  alpha_negative_periods: 3
  confidence_decay_threshold: 0.3
  regime_mismatch_periods: 2
  mismatch_share: 0.5
portfolio:
  capital: 1000000
  temperature: 1.0
  vol_floor: 0.005
  min_weight: 0.0
  max_weight: 1.0
  min_signals: 5
kill_list: []
comment_template: null
promotion_prs:
  auto_merge_after_hours: 24
  veto_cooldown_days: 30
email:
  cadence: weekly
  weekday: mon
  from: null             # e.g. metasup@example.com
  to: []                 # e.g. [lp-updates@example.com]
  whitelist: []          # e.g. ["@example.com"]
  smtp:
    host: null           # no server: the demo writes an e-mail preview instead of sending
    port: 587
    security: starttls
    username_env: SMTP_USERNAME
    password_env: SMTP_PASSWORD
"""


def registry_text() -> str:
    lines = [
        "# Agent registry of the metasup demo fleet: the source of truth for stages.",
        "# Written by `python tests/demo/generate.py` (metasup/examples/README.md tells the stories).",
        "# metasup never edits it in place; a stage changes when a person edits this file or",
        "# merges an [AUTO-PROMOTE] / [AUTO-RETIRE] / [AUTO-DEMOTE] pull request opened by metasup.",
        "",
        "strategy_classes:",
    ]
    for name, regimes in CLASS_REGIMES.items():
        lines += [
            f"  # {CLASS_NOTES[name]}",
            f"  - name: {name}",
            "    status: active",
            f"    regimes: [{', '.join(regimes)}]",
            "",
        ]
    lines.append("agents:")
    for klass in CLASS_REGIMES:
        lines.append(f"  # --- {klass} ---")
        for agent in (a for a in AGENTS if a.klass == klass):
            lines += [
                f"  - name: {agent.name}".ljust(28) + f"# {AGENT_NOTES[agent.name]}",
                f"    strategy_class: {klass}",
                f"    stage: {agent.stage}",
            ]
            if agent.declared:
                lines.append(f"    regimes: [{', '.join(agent.declared)}]")
            if agent.retired_on is not None:
                lines.append(
                    f'    kill_reason: "retired {agent.retired_on.isoformat()}: alpha negative three '
                    'periods running and cost over value"'
                )
    lines += ["", "# scalper-x is deliberately missing: metasup reports it and treats it as sandbox."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Output


def price_lines(market: Market) -> list[tuple[datetime, str]]:
    rows: list[tuple[datetime, str]] = []
    for index, bar in enumerate(market.bars):
        for symbol in (*STOCKS, BENCHMARK):
            rows.append((bar, f"{iso_z(bar)},{symbol},{market.prices[symbol][index]:.2f}"))
    return rows


def build() -> tuple[dict[str, str], list[BadLine]]:
    """Every output file's text, and where the planted bad lines are."""
    market = make_market()
    signals = make_signals(market)
    alpha, bad_alpha = merge([(s.ts, json_line(signal_record(s))) for s in signals], planted_alpha(signals))
    events = make_telemetry(market, signals)
    telemetry, bad_telemetry = merge([(ts, json_line(e)) for ts, e in events], planted_telemetry())
    prices, bad_prices = merge(price_lines(market), planted_prices(), header="ts,symbol,price")
    files = {
        CONFIG_FILE: config_text(),
        REGISTRY_FILE: registry_text(),
        ALPHA_FILE: "\n".join(alpha) + "\n",
        TELEMETRY_FILE: "\n".join(telemetry) + "\n",
        PRICES_FILE: "\n".join(prices) + "\n",
    }
    return files, [*bad_alpha, *bad_telemetry, *bad_prices]


def write(out: Path) -> list[Path]:
    files, _ = build()
    written: list[Path] = []
    for name, text in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tests/demo/generate.py", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output folder (default: metasup/examples)"
    )
    args = parser.parse_args(argv)
    for path in write(args.out):
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
