"""What the LP e-mail shows of a big fleet (SPEC §6): short tables that lose nothing an LP needs.

Gmail clips an HTML part over ~102 KB; a fleet of 175 prod agents made 263 KB (the agent
attribution alone 121 KB). Above :data:`~metasup.lp.values.ROWS_IN_FULL` rows a table is ranked
and its middle summed into one row (so its total is still the fund's), the strategies are grouped
with every subject that is not active still named, and log entries of one decision share a row.
The report's JSON keeps every row (``metasup report --json``); the e-mail attaches every agent's
figures as a CSV (``lp.email.agents_csv``).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence

from metasup.lp.values import (
    ROWS_AT_EACH_END,
    ROWS_IN_FULL,
    AttributionLine,
    AttributionTable,
    LogEntry,
    LogGroup,
    LpAttributionRow,
    Strategies,
    StrategyGroup,
    StrategyState,
    SubjectKind,
)


def attribution_table(
    rows: Mapping[str, LpAttributionRow],
    noun: str = "agents",
    full: int = ROWS_IN_FULL,
    ends: int = ROWS_AT_EACH_END,
) -> AttributionTable:
    """The rows ranked by PnL (ties by name); above ``full`` rows, the ``ends`` top and bottom
    contributors with the rest summed into one ``N other {noun}`` row between them, and a total.

    Gmail clips an HTML part over ~102 KB, and 175 agents' rows alone are 121 KB; summing the middle
    instead of dropping it keeps the table's total equal to the fund's PnL (and to the bridge).
    """
    ranked = sorted(rows.items(), key=lambda item: (-item[1].pnl, item[0]))
    lines = [AttributionLine(name=name, row=row) for name, row in ranked]
    if len(lines) <= full:
        return AttributionTable(lines=lines, count=len(lines))
    middle = [line.row for line in lines[ends:-ends]]
    others = AttributionLine(name=f"{len(middle)} other {noun}", row=summed(middle), others=len(middle))
    return AttributionTable(
        lines=[*lines[:ends], others, *lines[-ends:]],
        total=summed([row for _, row in ranked]),
        count=len(lines),
    )


def summed(rows: Sequence[LpAttributionRow]) -> LpAttributionRow:
    """Rows added up (``math.fsum``: hundreds of small figures must still equal the fund's total);
    the share is null when any row's is (the total PnL is zero)."""
    shares = [row.share for row in rows]
    return LpAttributionRow(
        pnl=math.fsum(row.pnl for row in rows),
        fees=math.fsum(row.fees for row in rows),
        costs=math.fsum(row.costs for row in rows),
        net=math.fsum(row.net for row in rows),
        contribution=math.fsum(row.contribution for row in rows),
        share=None if any(s is None for s in shares) else math.fsum(s for s in shares if s is not None),
    )


def strategy_groups(strategies: Strategies, full: int = ROWS_IN_FULL) -> list[StrategyGroup] | None:
    """The strategies table of a big fleet (``None``: up to ``full`` prod agents, one row each).

    What an LP must see stays named: every class and agent that is not active, grouped by status
    (agents also by class), first. The active ones follow as their classes, each with its number of
    active prod agents (then the active classes without one), so 150 healthy agents take a row or
    two instead of 150.
    """
    if len(strategies.agents) <= full:
        return None
    active_count = Counter(s.strategy_class for s in strategies.agents if s.active)
    active = [c for c in strategies.classes if c.active]
    loose = [s for s in strategies.agents if s.active and s.strategy_class not in {c.name for c in active}]
    return [
        *_grouped([c for c in strategies.classes if not c.active], "class"),
        *_grouped([a for a in strategies.agents if not a.active], "agent"),
        *_grouped([c for c in active if active_count[c.name]], "class", active_count),
        *_grouped([c for c in active if not active_count[c.name]], "class", active_count),
        *_grouped(loose, "agent"),
    ]


def _grouped(
    states: Sequence[StrategyState], kind: SubjectKind, counts: Mapping[str | None, int] | None = None
) -> list[StrategyGroup]:
    """``states`` of one ``kind`` in groups of equal status words (and class, for agents), in the
    order they first appear; ``counts`` gives each active class its number of active prod agents."""
    groups: dict[tuple[str, str | None], list[StrategyState]] = {}
    for state in states:
        klass = state.strategy_class if kind == "agent" else None
        groups.setdefault((state.words, klass), []).append(state)
    return [
        StrategyGroup(
            kind=kind,
            words=words,
            active=members[0].active,
            strategy_class=klass,
            members=[(s.name, counts.get(s.name, 0) if counts is not None else None) for s in members],
        )
        for (words, klass), members in groups.items()
    ]


def log_groups(log: Sequence[LogEntry], full: int = ROWS_IN_FULL) -> list[LogGroup]:
    """The log's rows: one per entry up to ``full`` entries; above, consecutive entries of the same
    minute, event, kind, detail and source share a row (a review that kills a class and its ten
    agents is one decision), so the log stays complete and short."""
    if len(log) <= full:
        return [LogGroup(entries=[entry]) for entry in log]

    def key(entry: LogEntry) -> tuple[str, ...]:
        return entry.ts[:16], entry.event, entry.kind, entry.detail, entry.source

    return [LogGroup(entries=list(entries)) for _, entries in itertools.groupby(log, key)]
