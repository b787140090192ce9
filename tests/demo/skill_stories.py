"""The demo fleet's evidence-of-skill stories (SPEC §3.7, §3.8): four agents, one a copier.

``generate.py`` appends :data:`SKILL_AGENTS` to its fleet and calls :func:`mirror_signals` for an
agent that copies another; ``metasup/examples/README.md`` tells the stories with the numbers
metasup shows. As everywhere in the generator, an agent of skill ``p`` is right in exactly
``round(p·n)`` of its ``n`` signals of each week: the luck below is planted, not drawn.

* ``meanrev-lucky`` — a coin-flipper and a model citizen (score ≈ 88, no violation, calibrated
  confidence, constant cost). Half its calls (rounded down) are right each week until Sep 25;
  from Sep 28 it has a lucky month, 55 % right (35 of 63: a fair coin does that well 22 % of
  the time).
  Every gate of §3.3 passes; ``skill`` (PSR over its three-month record) does not.
* ``momo-rookie`` — a real edge, but live only since Oct 12: ``skill`` blocks it and says in how
  many trading days the record would be long enough at its current Sharpe ratio.
* ``momo-twin`` — copies the two prod momentum agents, ``momo-alpha`` and ``momo-slow``: same
  symbols, entry bars, directions and horizons, a little later, skipping about one signal in
  twenty. Its skill is theirs; ``prod_correlation`` blocks it. (A copy of one prod agent
  correlates with the prod book only as much as that agent does, about 0.7 at best here.)
* ``meanrev-swing`` — prod, promoted on a summer edge that turned negative from Aug 31 (one good
  week, Oct 19–23, so ``alpha_negative`` does not fire; only ``cost_over_value`` does, one rule of
  two): demoted, not killed. Many short signals a day keep its daily returns, and so its weight
  in the prod book's variance, small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
from fleet_spec import FIRST_DAY, LAST_DAY, AgentSpec, Signal

SKILL_AGENTS = (
    AgentSpec(
        name="meanrev-lucky",
        klass="mean_reversion",
        stage="sandbox",
        declared=(),
        first=FIRST_DAY,
        last=LAST_DAY,
        per_day=(2, 3),
        skill=((FIRST_DAY, 0.5), (date(2026, 9, 28), 0.55)),
        confidence=(0.46, 0.58),
        horizons_am=(("2h", 0.5), ("3h", 0.5)),
        horizons_pm=(("2h", 0.5), ("3h", 0.5)),
        directions=("long", "short"),
        ts_style="z",
        notional=10000.0,
        write_class=False,
        prefix="lk",
        run_cost=(0.4, 0.6),
        idle_runs=3,
        idle_cost=(0.2, 0.3),
        daily_fee=1.0,
        eval_mean=87.0,
    ),
    AgentSpec(
        name="momo-rookie",
        klass="momentum",
        stage="sandbox",
        declared=("trending",),
        first=date(2026, 10, 12),
        last=LAST_DAY,
        per_day=(3,),
        skill=((FIRST_DAY, 0.60),),
        confidence=(0.50, 0.64),
        horizons_am=(("3h", 1.0),),
        horizons_pm=(("3h", 1.0),),
        directions=("long", "short"),
        ts_style="z",
        notional=10000.0,
        write_class=True,
        prefix="rk",
        run_cost=(0.6, 0.9),
        idle_runs=3,
        idle_cost=(0.3, 0.4),
        daily_fee=2.0,
        eval_mean=89.0,
    ),
    AgentSpec(
        name="momo-twin",
        klass="momentum",
        stage="sandbox",
        declared=("trending",),
        first=FIRST_DAY,
        last=LAST_DAY,
        per_day=(2,),  # unused: it copies momo-slow
        skill=((FIRST_DAY, 0.5),),  # unused
        confidence=(0.40, 0.50),
        horizons_am=(("3h", 1.0),),  # unused
        horizons_pm=(("3h", 1.0),),  # unused
        directions=(1, -1),
        ts_style="z",
        notional=None,
        write_class=False,
        prefix="tw",
        run_cost=(0.3, 0.5),
        idle_runs=2,
        idle_cost=(0.2, 0.3),
        daily_fee=1.0,
        eval_mean=86.0,
        mirrors=("momo-alpha", "momo-slow"),
    ),
    AgentSpec(
        name="meanrev-swing",
        klass="mean_reversion",
        stage="prod",
        declared=(),
        first=FIRST_DAY,
        last=LAST_DAY,
        per_day=(5,),
        skill=(
            (FIRST_DAY, 0.70),
            (date(2026, 8, 31), 0.36),
            (date(2026, 10, 19), 0.72),
            (date(2026, 10, 26), 0.36),
        ),
        confidence=(0.30, 0.44),
        horizons_am=(("30m", 0.8), ("1h", 0.2)),
        horizons_pm=(("30m", 0.8), ("1h", 0.2)),
        directions=("long", "short"),
        ts_style="z",
        notional=10000.0,
        write_class=False,
        prefix="sw",
        run_cost=(0.5, 0.8),
        idle_runs=3,
        idle_cost=(0.3, 0.4),
        daily_fee=2.0,
        eval_mean=83.0,
    ),
)
"""Appended to ``generate.AGENTS``: each gets the next random streams, leaving the others' alone."""

SKILL_NOTES = {
    "meanrev-lucky": "range trader, candidate since 2026-08-03",
    "momo-rookie": "new trend follower, live in sandbox since 2026-10-12",
    "momo-twin": "re-implements the prod momentum agents, at a fraction of their cost",
    "meanrev-swing": "range trader promoted in August",
}

SKIP_ONE_IN = 20
DELAY_SECONDS = (20, 120)


def mirror_signals(agent: AgentSpec, source: Sequence[Signal], rng: np.random.Generator) -> list[Signal]:
    """``agent``'s copies of ``source``: same symbol, slot, direction and horizon, a little later.

    The delay keeps the copy before the same entry bar (every source signal is emitted at least
    four minutes before it); about one signal in :data:`SKIP_ONE_IN` is not copied.
    """
    copies: list[Signal] = []
    per_day: dict[date, int] = {}
    for signal in sorted(source, key=lambda s: (s.ts, s.signal_id)):
        skip = float(rng.random()) < 1 / SKIP_ONE_IN
        delay = DELAY_SECONDS[0] + int(float(rng.random()) * (DELAY_SECONDS[1] - DELAY_SECONDS[0]))
        low, high = agent.confidence
        confidence = round(low + (high - low) * float(rng.random()), 2)
        if skip:
            continue
        ts = (signal.ts + timedelta(seconds=delay)).replace(microsecond=0)
        seq = per_day[ts.date()] = per_day.get(ts.date(), 0) + 1
        copies.append(
            replace(
                signal,
                agent=agent,
                signal_id=f"{agent.prefix}-{ts:%Y%m%d}-{seq:02d}",
                ts=ts,
                confidence=confidence,
            )
        )
    return copies
