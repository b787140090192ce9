"""When each agent was in prod, read from the audit ledger: the fund's record books only the signals
an agent emitted while it was (SPEC §6: "sandbox returns are never chained into the fund's record").

The LP report used to book every signal of the agents in prod at ``as_of``: a promoted agent's
sandbox record (promoted *because* it was good) became the fund's, and a demoted or retired
agent's prod losses left it (found by an audit, 2026-12-07: +18 % reported where the fund lost
16 %). The ledger's ``promoted`` and ``demoted`` records (their ``ts``: the run that recorded the
merge) open and close an agent's spans; a ``killed`` record of an agent now ``retired`` closes the
span it had if the registry showed it in prod then (``data.registry``). Without any such record
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

from metasup.model.review import CLASS_SUBJECT_PREFIX
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


def prod_spans(records: Iterable[Mapping[str, Any]], stages_now: Mapping[str, str]) -> ProdSpans:
    """The spans in prod of the agents of ``stages_now`` (each agent's registry stage at ``as_of``)."""
    moves: dict[str, list[tuple[int, bool]]] = {}
    latest_kill: dict[str, tuple[int, object]] = {}  # the latest ``killed`` record: when, the stage then
    for record in records:
        subject, event, ts = record.get("subject"), record.get("event"), record.get("ts")
        if (
            not isinstance(subject, str)
            or subject.startswith(CLASS_SUBJECT_PREFIX)
            or not isinstance(ts, str)
        ):
            continue
        when = pd.Timestamp(ts).value
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
        if found:
            spans[agent] = found
    return ProdSpans(spans)


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
