"""When each agent was in prod, read from the audit ledger: the fund's record books only the signals
an agent emitted while it was (SPEC §6: "sandbox returns are never chained into the fund's record").

The LP report used to book every signal of the agents in prod at ``as_of``: a promoted agent's
sandbox record (promoted *because* it was good) became the fund's, and a demoted or retired
agent's prod losses left it (found by an audit, 2026-12-07: +18 % reported where the fund lost
16 %). The ledger's records (their ``ts``: the run that recorded them) open and close an agent's
spans: ``promoted`` (or ``promoted_by_hand``, a person's edit of its stage, recorded by the next
rolling run) opens one, ``left_prod_by_hand`` closes it; a demotion closes it when it was
*proposed* (``demotion_proposed``: the agent left the allocation then, SPEC §3.8), and a veto or a
withdrawal (``demotion_vetoed``, ``demotion_withdrawn``) opens the next, so a merge (``demoted``)
changes nothing already booked.
A kill closes it at its ``killed`` record: for an agent now ``retired`` if the registry showed it in
prod then (``data.registry``); for an agent the review shows killed (itself or its class) while
its stage still says prod, if that kill is in force (an audit, same day: a week booked a killed
agent's post-kill losses, then dropped them at the merge). Without any such record
the registry's stage at ``as_of`` is all there is: an agent in prod now counts from its first
signal, as before (``docs/lp-report.md``, "Whose returns are the fund's").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from metasup.model.review import CLASS_SUBJECT_PREFIX, AgentReport
from metasup.model.timestamps import epoch_ns

Span = tuple[int | None, int | None]
"""``[start, end)`` in ns since the epoch; ``None`` is open."""

_EVER, _NEVER = np.iinfo(np.int64).min, np.iinfo(np.int64).max  # an open span's ends


@dataclass(frozen=True)
class ProdSpans:
    """Each agent's spans in prod; an agent without one never was."""

    spans: Mapping[str, tuple[Span, ...]]

    @property
    def agents(self) -> list[str]:
        return sorted(self.spans)

    def during(self, start: pd.Timestamp, end: pd.Timestamp) -> list[str]:
        """The agents in prod at some time in ``[start, end)``."""
        first, last = start.value, end.value
        return sorted(
            agent
            for agent, spans in self.spans.items()
            if any((s is None or s < last) and (e is None or e > first) for s, e in spans)
        )

    def booked(self, agents: pd.Series, times: pd.Series) -> npt.NDArray[np.bool_]:
        """Which rows (an agent, the time a signal was emitted or a cost incurred) fall in a span.

        One pass per agent with spans over its own rows (grouped once), never over the table."""
        mask = np.zeros(len(agents), dtype=bool)
        if not len(agents) or not self.spans:
            return mask
        codes, names = pd.factorize(agents.to_numpy(dtype=object))
        stamps = epoch_ns(times)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
        for code, name in enumerate(names):
            spans = self.spans.get(str(name))
            if not spans:
                continue
            rows = order[bounds[code] : bounds[code + 1]]
            when = stamps[rows]
            for start, end in spans:
                mask[rows] |= (when >= (_EVER if start is None else start)) & (
                    when < (_NEVER if end is None else end)
                )
        return mask


KILLED_STATUSES = frozenset({"killed", "killed (class)"})
"""Review statuses of an agent a kill in force excludes from allocation (its own, or its class's)."""

DEMOTION_ENDED = ("demotion_vetoed", "demotion_withdrawn")
"""Ledger events that end a demotion proposal without a demotion: the agent is back in the book."""

STAGE_MOVES = {"promoted": True, "demoted": False, "promoted_by_hand": True, "left_prod_by_hand": False}
"""Ledger events that change an agent's registry stage into (True) or out of (False) prod: its PR's
merge, or a person's edit of agents.yaml (``rolling/hand_moves``)."""

_MOVES = {
    **STAGE_MOVES,
    "demotion_proposed": False,  # out of the allocation at once (SPEC §3.8), not at the merge
    **dict.fromkeys(DEMOTION_ENDED, True),
}
"""Ledger events that move an agent into (True) or out of (False) the fund's book."""


def kill_subjects(agents: Iterable[AgentReport]) -> dict[str, str]:
    """Agents a kill excludes at ``as_of``: agent → the killed subject (itself, or ``class:<name>``)."""
    return {
        agent.agent: (
            CLASS_SUBJECT_PREFIX + agent.strategy_class if agent.status == "killed (class)" else agent.agent
        )
        for agent in agents
        if agent.status in KILLED_STATUSES
    }


def prod_spans(
    records: Iterable[Mapping[str, Any]],
    stages_now: Mapping[str, str],
    killed_now: Mapping[str, str] | None = None,
    kills_in_force: Collection[str] | None = None,
) -> ProdSpans:
    """The spans in prod of the agents of ``stages_now`` (each agent's registry stage at ``as_of``).

    ``killed_now``: :func:`kill_subjects` of the review at ``as_of``; such an agent's open span ends
    at its subject's latest ``killed`` record if that kill is in force (``kills_in_force``: the
    subjects the rolling run found so, ``rolling.kills.kills_in_force``; without it, every recorded
    kill is taken to be). A kill this run decides, or one lifted since, ends nothing."""
    moves: dict[str, list[tuple[int, bool]]] = {}
    latest_kill: dict[str, tuple[int, object]] = {}  # the latest ``killed`` record: when, the stage then
    for record in records:
        subject, event, ts = record.get("subject"), record.get("event"), record.get("ts")
        if not isinstance(subject, str) or not isinstance(ts, str):
            continue
        when = pd.Timestamp(ts).value
        if event == "killed" and when >= latest_kill.get(subject, (when, None))[0]:
            data = record.get("data")
            latest_kill[subject] = (when, data.get("registry") if isinstance(data, Mapping) else None)
        elif event in _MOVES and not subject.startswith(CLASS_SUBJECT_PREFIX):
            moves.setdefault(subject, []).append((when, _MOVES[str(event)]))
    in_force = set(latest_kill) if kills_in_force is None else set(kills_in_force)
    spans: dict[str, tuple[Span, ...]] = {}
    for agent in stages_now:  # the review's agents: a ledger subject without a signal books nothing
        found = _spans(sorted(moves.get(agent, [])), stages_now.get(agent))
        killed_at, was = latest_kill.get(agent, (None, None))
        subject = (killed_now or {}).get(agent)
        latest_move = max((when for when, _ in moves.get(agent, [])), default=None)
        kill_is_latest = latest_move is None or (killed_at is not None and latest_move <= killed_at)
        if stages_now.get(agent) == "retired" and was == "prod" and killed_at is not None and kill_is_latest:
            unmoved = agent not in moves  # in prod, as the kill's record says, since its first signal
            found = _ended(((None, None),) if unmoved else found, killed_at)
        elif found and subject in latest_kill and subject in in_force:
            found = _killed(found, latest_kill[subject][0])
        if found:
            spans[agent] = found
    return ProdSpans(spans)


def _killed(spans: tuple[Span, ...], at: int) -> tuple[Span, ...]:
    """``spans`` with the open one ended ``at`` a kill in force; a span opened after that kill (an
    agent promoted into a killed class) never held a place in the allocation, and is dropped."""
    start, end = spans[-1]
    if end is not None:
        return spans
    if start is not None and start >= at:
        return spans[:-1]
    return _ended(spans, at)


def _ended(spans: tuple[Span, ...], at: int) -> tuple[Span, ...]:
    """``spans`` with the open one (if any) closed ``at``."""
    return tuple((start, at if end is None else end) for start, end in spans)


def _spans(moves: list[tuple[int, bool]], stage_now: str | None) -> tuple[Span, ...]:
    """Spans from one agent's moves in time order; with none, the whole history if in prod now.

    Before the first move the agent was where that move took it from. A move that repeats the
    stage the agent already had (two ``promoted`` records of two episodes) changes nothing."""
    if not moves:
        return ((None, None),) if stage_now == "prod" else ()
    spans: list[Span] = []
    start: int | None = None
    inside = not moves[0][1]  # first promoted: was out; first demoted: was in
    for when, enters in moves:
        if enters and not inside:
            start, inside = when, True
        elif not enters and inside:
            spans.append((start, when))
            inside = False
    if inside:
        spans.append((start, None))
    return tuple(spans)


def moved_agents(records: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Agents the ledger moved in or out of prod (or killed): an engine that brings back only the
    signals the LP report books needs theirs too, not only today's prod agents'."""
    return frozenset(
        subject
        for record in records
        if (record.get("event") in _MOVES or record.get("event") == "killed")
        and isinstance(subject := record.get("subject"), str)
        and not subject.startswith(CLASS_SUBJECT_PREFIX)
    )
