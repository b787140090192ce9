"""The strategies' states and the promotion/demotion log of an LP report (SPEC §6), made to agree.

Both speak of the same time: the strategies are shown as of the report's data (``as_of``), and
the log runs from the period's first day to ``as_of``. A strategy killed or demoted shows the
date of the ledger record that did it (``killed on 2026-10-29``); one that this report's review
killed or demoted, before any ledger record, shows ``(this report)`` and gets a log entry of its
own (``source: review``), so the table never shows a change the log does not explain.

The ledger names a strategy class ``class:NAME`` (:data:`CLASS_SUBJECT_PREFIX`: agents and
classes share its subjects), the report by its name and ``kind``; :func:`split_subject` is the one
place that translates, so a class kill in the ledger dates the class and is logged once. A
record's ``data`` is the rolling run's bookkeeping: :func:`describe_data` says to an LP what it
means (``PR #7``) and leaves out what only the ledger needs (``dedupe_key``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from metasup.lp.prod_spans import DEMOTION_ENDED
from metasup.lp.statistics import booked_day_of
from metasup.lp.values import LOG_EVENTS, LogEntry, Strategies, StrategyState, SubjectKind
from metasup.model.review import CLASS_SUBJECT_PREFIX, Review
from metasup.model.timestamps import utc
from metasup.render.filters import ellipsize, when

DETAIL_LIMIT = 160
STATE_OF_EVENT = {"killed": "killed", "demotion_proposed": "demoted", "demoted": "demoted"}
"""The ledger events that date a status: a demotion excludes the agent when it is proposed (SPEC
§3.8), so a proposal waiting for its PR dates ``demoted`` too — not this report, every week."""
DATED_STATES = frozenset(STATE_OF_EVENT.values())
"""Statuses that a ledger event puts a strategy in."""
HIDDEN_FIELDS = frozenset({"dedupe_key", "registry", "after_pr"})
"""Keys of a record's ``data`` that only the ledger needs: ``dedupe_key`` (a record's identity,
``pr#7`` or a date), ``registry`` (the registry entry at kill time, which tells a later run
whether a person changed it) and ``after_pr`` (which retire PR a later kill follows,
``rolling/kills.py``). An LP is told none of them."""


def _stamp(value: object) -> str:
    """An ISO timestamp as ``2026-10-30 20:00 UTC``; anything else as it is."""
    try:
        return when(str(value))
    except ValueError:
        return str(value)


FIELD_WORDS: dict[str, Callable[[object], str]] = {
    "pr": lambda value: f"PR #{value}",
    "merged_by": lambda value: f"merged by {value}",
    "reason": str,
    "closed_at": lambda value: f"closed {_stamp(value)}",
    "cooldown_until": lambda value: f"not proposed again before {_stamp(value)}",
    "stage": lambda value: f"stage: {value}",
    "was": lambda value: f"was {value}",
}
"""How the e-mail says the ``data`` keys the rolling run writes; other keys (a person's own
record) show as ``key: value``."""


def split_subject(subject: str) -> tuple[str, SubjectKind]:
    """A ledger subject as ``(name, kind)``: ``class:llm_macro`` → ``("llm_macro", "class")``."""
    if subject.startswith(CLASS_SUBJECT_PREFIX):
        return subject.removeprefix(CLASS_SUBJECT_PREFIX), "class"
    return subject, "agent"


def promotion_log(
    records: Sequence[Mapping[str, Any]], start: pd.Timestamp, end: pd.Timestamp, as_of: pd.Timestamp
) -> list[LogEntry]:
    """Ledger events of :data:`LOG_EVENTS` booked in ``start..end`` and not after ``as_of``, oldest first."""
    entries: list[tuple[pd.Timestamp, LogEntry]] = []
    for record in records:
        if record.get("event") not in LOG_EVENTS or record.get("ts") is None:
            continue
        stamp = utc(record["ts"])
        if stamp > as_of or not start <= booked_day_of(stamp) <= end:
            continue
        name, kind = split_subject(str(record.get("subject", "")))
        entry = LogEntry(
            ts=stamp.isoformat(),
            event=str(record["event"]),
            subject=name,
            kind=kind,
            detail=describe_data(record.get("data")),
        )
        entries.append((stamp, entry))
    return [entry for _, entry in sorted(entries, key=lambda pair: pair[0])]


def review_entries(strategies: Strategies, as_of: pd.Timestamp) -> list[LogEntry]:
    """A log entry for each kill or demotion this report's review decided (not yet in the ledger)."""
    day = f"{utc(as_of):%Y-%m-%d}"
    kinds: list[tuple[SubjectKind, StrategyState]] = [
        *(("class", state) for state in strategies.classes),
        *(("agent", state) for state in strategies.agents),
    ]
    return [
        LogEntry(
            ts=utc(as_of).isoformat(),
            event=state.status,
            subject=state.name,
            kind=kind,
            detail=f"decided on the data to {day}",
            source="review",
        )
        for kind, state in kinds
        if state.decided_now
    ]


def describe_data(data: object) -> str:
    """A ledger record's ``data`` as an LP reads it (``PR #7; merged by metasup``), at most 160
    chars: :data:`FIELD_WORDS` for the rolling run's keys, in that order (the ledger sorts keys,
    and "PR #9" reads best first), then ``key: value`` for others; nothing for
    :data:`HIDDEN_FIELDS` or nested mappings."""
    if not isinstance(data, Mapping):
        return "" if data is None else str(data)[:DETAIL_LIMIT]
    parts = [say(data[key]) for key, say in FIELD_WORDS.items() if key in data]
    for key, value in data.items():
        if key in HIDDEN_FIELDS or key in FIELD_WORDS or isinstance(value, Mapping):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        parts.append(f"{key}: {shown}")
    text = "; ".join(parts)
    return ellipsize(text, DETAIL_LIMIT)


def last_event_dates(
    records: Sequence[Mapping[str, Any]], as_of: pd.Timestamp | None
) -> dict[tuple[str, SubjectKind, str], str]:
    """``(status, kind, name) → UTC date`` of the latest ledger record that put the subject in that
    status (:data:`STATE_OF_EVENT`), at or before ``as_of`` (``kind`` and ``name`` from
    :func:`split_subject`)."""
    dates: dict[tuple[str, SubjectKind, str], pd.Timestamp] = {}
    for record in records:
        event = record.get("event")
        if (event not in STATE_OF_EVENT and event not in DEMOTION_ENDED) or record.get("ts") is None:
            continue
        stamp = utc(record["ts"])
        if as_of is not None and stamp > utc(as_of):
            continue
        name, kind = split_subject(str(record.get("subject", "")))
        if event in DEMOTION_ENDED:  # a vetoed or withdrawn proposal dates nothing
            dates.pop(("demoted", kind, name), None)
            continue
        key = (STATE_OF_EVENT[str(event)], kind, name)
        if key not in dates or stamp > dates[key]:
            dates[key] = stamp
    return {key: f"{stamp:%Y-%m-%d}" for key, stamp in dates.items()}


def strategies_from_review(
    review: Review, records: Sequence[Mapping[str, Any]] = (), as_of: pd.Timestamp | None = None
) -> Strategies:
    """Strategy classes with their status, and the prod agents (active or excluded) with theirs,
    as of the review's data; a kill or demotion carries its ledger date, or is this review's."""
    dated = last_event_dates(records, as_of)

    def state(
        kind: SubjectKind,
        name: str,
        status: str,
        active: bool,
        fresh: bool,
        strategy_class: str | None = None,
    ) -> StrategyState:
        since = dated.get((status, kind, name)) if status in DATED_STATES else None
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
            state("class", c.name, c.status, c.status != "killed", c.registry_status != "killed")
            for c in review.strategy_classes
            if c.registered or any(a.agent in c.agents and a.stage == "prod" for a in review.agents)
        ],
        agents=[
            state("agent", a.agent, a.status, a.status == "active", True, a.strategy_class)
            for a in review.agents
            if a.stage == "prod"
        ],
    )
