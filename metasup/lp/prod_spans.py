"""When each agent was in prod, read from the audit ledger: the fund's record books only the signals
an agent emitted while it was (SPEC §6: "sandbox returns are never chained into the fund's record").

The LP report used to book every signal of the agents in prod at ``as_of``: a promoted agent's
sandbox record (promoted *because* it was good) became the fund's, and a demoted or retired
agent's prod losses left it (found by an audit, 2026-12-07: +18 % reported where the fund lost
16 %). The ledger's records (their ``ts``: the run that recorded them) set an agent's three
facts: its stage (``promoted``, ``demoted``, and ``promoted_by_hand``/``left_prod_by_hand``, a
person's edit of agents.yaml recorded by the next rolling run), a pending demotion (out of the book
when *proposed*, SPEC §3.8, back on a veto or withdrawal, so a merge changes nothing booked), and a
kill that took it out (in force now, carried out, or undone by a person's reinstatement; a class
kill in force too). One pass over an agent's records in ledger order (:func:`_book_spans`). Without
any record the registry's stage at ``as_of`` is all there is: an agent in prod now counts from its
first signal (``docs/lp-report.md``, "Whose returns are the fund's").
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


def kill_subjects(agents: Iterable[AgentReport]) -> dict[str, str]:
    """Agents a kill excludes at ``as_of``: agent → the killed subject (itself, or ``class:<name>``)."""
    return {
        agent.agent: (
            CLASS_SUBJECT_PREFIX + agent.strategy_class if agent.status == "killed (class)" else agent.agent
        )
        for agent in agents
        if agent.status in KILLED_STATUSES
    }


_STEPS = {
    **{event: "in" if enters else "out" for event, enters in STAGE_MOVES.items()},
    "demotion_proposed": "proposed",  # out of the allocation at once (SPEC §3.8), not at the merge
    **dict.fromkeys(DEMOTION_ENDED, "ended"),
}
"""What each ledger event does to an agent's place in the book (with ``killed``, read apart)."""

HAND_EDITS = frozenset({"promoted_by_hand", "left_prod_by_hand"})
"""A person's stage edit, which a rolling run records: at one time, before what that run decided."""


Step = tuple[int, str, object]
"""``(when, step, the registry stage a kill recorded)`` of one agent, in ledger order."""


def prod_spans(
    records: Iterable[Mapping[str, Any]],
    stages_now: Mapping[str, str],
    killed_now: Mapping[str, str] | None = None,
    kills_in_force: Collection[str] | None = None,
) -> ProdSpans:
    """The spans in prod of the agents of ``stages_now`` (each agent's registry stage at ``as_of``).

    ``killed_now``: :func:`kill_subjects` of the review at ``as_of``; such an agent leaves the book
    at its subject's latest ``killed`` record if that kill is in force (``kills_in_force``: the
    subjects the rolling run found so, ``rolling.kills.kills_in_force``; without it, every recorded
    kill is taken to be). A kill this run decides, or one lifted since, ends nothing."""
    steps: dict[str, list[tuple[int, str, object, bool]]] = {}  # a Step, and whether a person's edit
    latest_kill: dict[str, int] = {}  # each subject's latest ``killed`` record, classes included
    for record in records:
        subject, event, ts = record.get("subject"), record.get("event"), record.get("ts")
        if not isinstance(subject, str) or not isinstance(ts, str):
            continue
        when = pd.Timestamp(ts).value
        is_class = subject.startswith(CLASS_SUBJECT_PREFIX)
        if event == "killed":
            latest_kill[subject] = max(when, latest_kill.get(subject, when))
            data = record.get("data")
            stage = data.get("registry") if isinstance(data, Mapping) else None
            if not is_class:
                steps.setdefault(subject, []).append((when, "killed", stage, False))
        elif event in _STEPS and not is_class:
            steps.setdefault(subject, []).append((when, _STEPS[str(event)], None, event in HAND_EDITS))
    recorded = set(latest_kill) if kills_in_force is None else set(kills_in_force)
    in_force = {subject for subject in (killed_now or {}).values() if subject in recorded}
    spans: dict[str, tuple[Span, ...]] = {}
    for agent in stages_now:  # the review's agents: a ledger subject without a signal books nothing
        recorded_steps = steps.get(agent, [])
        subject = (killed_now or {}).get(agent)
        if subject is not None and subject != agent and subject in in_force and subject in latest_kill:
            recorded_steps = [*recorded_steps, (latest_kill[subject], "class_killed", None, False)]
        # Time, then a person's edit first: the run that recorded it saw the edit before it decided
        # (a kill of the agent it reinstated); otherwise ledger order (the sort is stable).
        ordered = sorted(recorded_steps, key=lambda item: (item[0], not item[3]))
        stream = [(when, step, stage) for when, step, stage, _ in ordered]
        found = _book_spans(stream, stages_now.get(agent), own_kill_in_force=agent in in_force)
        if found:
            spans[agent] = found
    return ProdSpans(spans)


def _book_spans(stream: list[Step], stage_now: str | None, own_kill_in_force: bool) -> tuple[Span, ...]:
    """One agent's spans in the book: in prod (its stage moves), no demotion pending, no kill
    taking it out. A kill takes it out when it is in force now, when it was carried out (the agent
    is retired now and no stage move came since), or when the agent's next stage move brought it
    back into prod (a person reinstated it after the retire PR's merge, which moves no record).
    A class kill in force keeps out even an agent promoted into the class since."""
    effective = _effective_kills(stream, stage_now, own_kill_in_force)
    stage, pending, killed, class_killed = _in_prod_before(stream, stage_now), False, False, False
    inside, start, spans = stage, None, list[Span]()
    for index, (when, step, _) in enumerate(stream):
        if step == "in":
            stage, killed = True, False  # a reinstatement ends an older kill
        elif step == "out":
            stage, pending = False, False
        elif step in ("proposed", "ended"):
            pending = step == "proposed"
        elif step == "class_killed":
            class_killed = True
        elif index in effective:
            killed = True
        now_inside = stage and not pending and not killed and not class_killed
        if now_inside and not inside:
            start = when
        elif inside and not now_inside and (start is None or start < when):
            spans.append((start, when))
        inside = now_inside
    if inside:
        spans.append((start, None))
    return tuple(spans)


def _effective_kills(stream: list[Step], stage_now: str | None, own_kill_in_force: bool) -> set[int]:
    """The positions in ``stream`` of the ``killed`` records that took the agent out of the book."""
    kills = [index for index, (_, step, _) in enumerate(stream) if step == "killed"]
    effective = set()
    for index in kills:
        following = [step for _, step, _ in stream[index + 1 :] if step in ("in", "out")]
        latest = index == kills[-1]
        reinstated = bool(following) and following[0] == "in"  # carried out, then undone by a person
        carried_out = latest and not following and stage_now == "retired"
        if reinstated or carried_out or (latest and own_kill_in_force):
            effective.add(index)
    return effective


def _in_prod_before(stream: list[Step], stage_now: str | None) -> bool:
    """Whether the agent was in prod before its first record: where that record took it from (a
    kill says the stage it found); with no record, where the registry has it now."""
    for _, step, recorded in stream:
        if step in ("in", "out"):
            return step == "out"
        if step in ("proposed", "ended"):
            return True
        if step == "killed" and isinstance(recorded, str):
            return recorded == "prod"
    return stage_now == "prod"


def moved_agents(records: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Agents the ledger moved in or out of prod (or killed): an engine that brings back only the
    signals the LP report books needs theirs too, not only today's prod agents'."""
    return frozenset(
        subject
        for record in records
        if (record.get("event") in _STEPS or record.get("event") == "killed")
        and isinstance(subject := record.get("subject"), str)
        and not subject.startswith(CLASS_SUBJECT_PREFIX)
    )
