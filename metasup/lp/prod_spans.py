"""When each agent was in prod, read from the audit ledger: the fund's record books only the signals
an agent emitted while it was (SPEC §6: "sandbox returns are never chained into the fund's record").

The LP report used to book every signal of the agents in prod at ``as_of``: a promoted agent's
sandbox record (promoted *because* it was good) became the fund's, and a demoted or retired
agent's prod losses left it (found by an audit, 2026-12-07: +18 % reported where the fund lost
16 %). The ledger's ``promoted`` and ``demoted`` records (their ``ts``: the run that recorded the
merge) open and close an agent's spans; a ``killed`` record of an agent now ``retired`` closes the
span it had if the registry showed it in prod then (``data.registry``). An agent excluded from
allocation now — killed, its class killed, or demoted, while its stage still says prod (the PR
waits) — left the book when that exclusion was recorded (``killed``, ``demotion_proposed``): the
fund stopped trading it then, and its record must not change when the PR merges (an audit, same
day: a week booked a killed agent's post-kill losses, then dropped them). Without any such record
the registry's stage at ``as_of`` is all there is: an agent in prod now counts from its first
signal, as before (``docs/lp-report.md``, "Whose returns are the fund's").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from metasup.model.review import CLASS_SUBJECT_PREFIX, AgentReport
from metasup.model.timestamps import epoch_ns

Span = tuple[int | None, int | None]
"""``[start, end)`` in ns since the epoch; ``None`` is open."""

_ENTERS, _LEAVES = "promoted", "demoted"
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


EXCLUDED_BY: Mapping[str, str] = {
    "killed": "killed",
    "killed (class)": "killed",
    "demoted": "demotion_proposed",
}
"""A review status that excludes an agent from allocation → the ledger event that recorded it."""
_DEMOTION_FAMILY = ("demotion_proposed", "demotion_vetoed", "demotion_withdrawn", "demoted")


def exclusions(agents: Iterable[AgentReport]) -> dict[str, tuple[str, str]]:
    """Agents excluded from allocation at ``as_of`` whose exclusion a ledger record dates: agent →
    (the record's subject, its event). A kill list in the config has no date: not here."""
    found: dict[str, tuple[str, str]] = {}
    for agent in agents:
        event = EXCLUDED_BY.get(agent.status)
        if event is not None:
            by_class = agent.status == "killed (class)"
            found[agent.agent] = (
                CLASS_SUBJECT_PREFIX + agent.strategy_class if by_class else agent.agent,
                event,
            )
    return found


def prod_spans(
    records: Iterable[Mapping[str, Any]],
    stages_now: Mapping[str, str],
    excluded_now: Mapping[str, tuple[str, str]] | None = None,
) -> ProdSpans:
    """The spans in prod of the agents of ``stages_now`` (each agent's registry stage at ``as_of``);
    ``excluded_now``: :func:`exclusions` of the review at ``as_of``."""
    moves: dict[str, list[tuple[int, bool]]] = {}
    latest_kill: dict[str, tuple[int, object]] = {}  # the latest ``killed`` record: when, the stage then
    started: dict[tuple[str, str], int] = {}  # (subject, event) → when its latest exclusion was recorded
    for record in records:
        subject, event, ts = record.get("subject"), record.get("event"), record.get("ts")
        if not isinstance(subject, str) or not isinstance(ts, str):
            continue
        when = pd.Timestamp(ts).value
        if event == "killed":
            started[(subject, "killed")] = when
        elif event in _DEMOTION_FAMILY:  # a proposal counts until vetoed, withdrawn or merged
            started[(subject, "demotion_proposed")] = when if event == "demotion_proposed" else _NEVER
        if subject.startswith(CLASS_SUBJECT_PREFIX):
            continue
        if event in (_ENTERS, _LEAVES):
            moves.setdefault(subject, []).append((when, event == _ENTERS))
        elif event == "killed" and when >= latest_kill.get(subject, (when, None))[0]:
            data = record.get("data")
            was = data.get("registry") if isinstance(data, Mapping) else None
            latest_kill[subject] = (when, was)
    spans: dict[str, tuple[Span, ...]] = {}
    for agent in stages_now:  # the review's agents: a ledger subject without a signal books nothing
        found = _spans(sorted(moves.get(agent, [])), stages_now.get(agent))
        killed_at, was = latest_kill.get(agent, (None, None))
        if stages_now.get(agent) == "retired" and was == "prod" and killed_at is not None:
            unmoved = agent not in moves  # in prod, as the kill's record says, since its first signal
            found = _ended(((None, None),) if unmoved else found, killed_at)
        elif found and agent in (excluded_now or {}):
            found = _excluded(found, started.get((excluded_now or {})[agent], _NEVER))
        if found:
            spans[agent] = found
    return ProdSpans(spans)


def _excluded(spans: tuple[Span, ...], since: int) -> tuple[Span, ...]:
    """``spans`` with the open one closed ``since`` an exclusion recorded while it was open."""
    start, end = spans[-1]
    if end is not None or since == _NEVER or since < (_EVER if start is None else start):
        return spans
    return _ended(spans, since)


def _ended(spans: tuple[Span, ...], at: int) -> tuple[Span, ...]:
    """``spans`` with the open one (if any) closed ``at`` a retired agent's kill from prod."""
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
        if record.get("event") in (_ENTERS, _LEAVES, "killed")
        and isinstance(subject := record.get("subject"), str)
        and not subject.startswith(CLASS_SUBJECT_PREFIX)
    )
