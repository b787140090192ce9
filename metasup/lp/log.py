"""The strategies' states and the promotion/demotion log of an LP report (SPEC §6), made to agree.

Both speak of the same time: the strategies are shown as of the report's data (``as_of``), and
the log runs from the period's first day to ``as_of``. A strategy killed or demoted shows the
date of the ledger record that did it (``killed on 2026-10-29``); one that this report's review
killed or demoted, before any ledger record, shows ``(this report)`` and gets a log entry of its
own (``source: review``), so the table never shows a change the log does not explain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from metasup.lp.statistics import booked_day_of
from metasup.lp.values import LOG_EVENTS, LogEntry, Strategies, StrategyState
from metasup.model.review import Review
from metasup.model.timestamps import utc
from metasup.render.filters import ellipsize

DETAIL_LIMIT = 160
DATED_STATES = ("killed", "demoted")
"""Statuses that a ledger event puts a strategy in (the event has the status's name)."""


def promotion_log(
    records: Sequence[Mapping[str, Any]], start: pd.Timestamp, end: pd.Timestamp, as_of: pd.Timestamp
) -> list[LogEntry]:
    """Ledger events of :data:`LOG_EVENTS` booked in ``start..end`` and not after ``as_of``, oldest first."""
    entries: list[tuple[pd.Timestamp, LogEntry]] = []
    for record in records:
        if record.get("event") not in LOG_EVENTS or record.get("ts") is None:
            continue
        when = utc(record["ts"])
        if when > as_of or not start <= booked_day_of(when) <= end:
            continue
        entry = LogEntry(
            ts=when.isoformat(),
            event=str(record["event"]),
            subject=str(record.get("subject", "")),
            detail=describe_data(record.get("data")),
        )
        entries.append((when, entry))
    return [entry for _, entry in sorted(entries, key=lambda pair: pair[0])]


def review_entries(strategies: Strategies, as_of: pd.Timestamp) -> list[LogEntry]:
    """A log entry for each kill or demotion this report's review decided (not yet in the ledger)."""
    day = f"{utc(as_of):%Y-%m-%d}"
    return [
        LogEntry(
            ts=utc(as_of).isoformat(),
            event=state.status,
            subject=state.name,
            detail=f"decided on the data to {day}",
            source="review",
        )
        for state in (*strategies.classes, *strategies.agents)
        if state.decided_now
    ]


def describe_data(data: object) -> str:
    """A short ``key: value`` summary of a ledger record's ``data`` (first keys, at most 160 chars)."""
    if not isinstance(data, Mapping):
        return "" if data is None else str(data)[:DETAIL_LIMIT]
    parts = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        parts.append(f"{key}: {shown}")
    text = "; ".join(parts)
    return ellipsize(text, DETAIL_LIMIT)


def last_event_dates(
    records: Sequence[Mapping[str, Any]], as_of: pd.Timestamp | None
) -> dict[tuple[str, str], str]:
    """``(event, subject) → UTC date`` of the latest such ledger record at or before ``as_of``."""
    dates: dict[tuple[str, str], pd.Timestamp] = {}
    for record in records:
        if record.get("event") not in DATED_STATES or record.get("ts") is None:
            continue
        when = utc(record["ts"])
        if as_of is not None and when > utc(as_of):
            continue
        key = (str(record["event"]), str(record.get("subject", "")))
        if key not in dates or when > dates[key]:
            dates[key] = when
    return {key: f"{when:%Y-%m-%d}" for key, when in dates.items()}


def strategies_from_review(
    review: Review, records: Sequence[Mapping[str, Any]] = (), as_of: pd.Timestamp | None = None
) -> Strategies:
    """Strategy classes with their status, and the prod agents (active or excluded) with theirs,
    as of the review's data; a kill or demotion carries its ledger date, or is this review's."""
    dated = last_event_dates(records, as_of)

    def state(
        name: str, status: str, active: bool, fresh: bool, strategy_class: str | None = None
    ) -> StrategyState:
        since = dated.get((status, name)) if status in DATED_STATES else None
        return StrategyState(
            name=name,
            status=status,
            active=active,
            strategy_class=strategy_class,
            since=since,
            decided_now=fresh and since is None and status in DATED_STATES,
        )

    return Strategies(
        classes=[
            state(c.name, c.status, c.status != "killed", c.registry_status != "killed")
            for c in review.strategy_classes
            if c.registered or any(a.agent in c.agents and a.stage == "prod" for a in review.agents)
        ],
        agents=[
            state(a.agent, a.status, a.status == "active", True, a.strategy_class)
            for a in review.agents
            if a.stage == "prod"
        ],
    )
