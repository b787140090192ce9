"""The dashboard issue's values, decided: stages, open promotion and demotion PRs, vetoes in force, kills.

Pure: data in, values out. ``now`` is passed in by the shell (the run's clock), never read.
``metasup.render`` turns :func:`dashboard_context` into the issue's markdown.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from metasup.evaluate.retirement import kill_reason
from metasup.model.pulls import PullState
from metasup.model.review import CLASS_SUBJECT_PREFIX, Review
from metasup.rolling.audit_anchor import LedgerAnchor, anchors_in_message
from metasup.rolling.audit_ledger import LedgerRecord, NewEntry
from metasup.rolling.lifecycle import LIFECYCLES, VETO_EVENTS, Kind, lifecycle_of
from metasup.rolling.plan import Veto


@dataclass(frozen=True)
class ListedPromotion:
    """An open [AUTO-PROMOTE] (or, ``kind="demote"``, [AUTO-DEMOTE]) PR: one this run opened or
    refreshed, or (``reopened``) one a person reopened after its veto or withdrawal, which metasup
    leaves to people (``plan.reopened``)."""

    number: int
    agent: str
    held: bool
    kind: Kind = "promote"
    reopened: bool = False


def reopened_promotions(
    review: Review, pulls: Sequence[PullState], reopened: Collection[int]
) -> list[ListedPromotion]:
    """The open PRs among ``pulls`` that a person reopened (``reopened``: ``plan.reopened``), listed
    as what they are: open, a person's to merge or close."""
    agent_of_branch = {c.branch(a.agent): a.agent for a in review.agents for c in LIFECYCLES.values()}
    listed: list[ListedPromotion] = []
    for pull in pulls:
        lifecycle = lifecycle_of(pull.branch)
        if pull.number not in reopened or pull.state != "open" or lifecycle is None:
            continue
        agent = agent_of_branch.get(pull.branch, pull.branch.removeprefix(lifecycle.prefix))
        listed.append(ListedPromotion(pull.number, agent, held=False, kind=lifecycle.kind, reopened=True))
    return listed


def active_vetoes(
    records: Iterable[LedgerRecord],
    entries: Iterable[NewEntry],
    now: datetime,
    closed_unmerged: Collection[int] | None = None,
    cooldown: timedelta | None = None,
) -> list[Veto]:
    """Vetoes whose cooldown has not run out at ``now``, from the audit ledger and this run's new entries.

    One veto per (agent, PR), in the order first recorded, with its last close's cooldown; a
    ``vetoed`` (or ``demotion_vetoed``) fact is always written with its PR, ``closed_at`` and
    ``cooldown_until`` (``plan.observed_entries``). ``closed_unmerged``: the PRs GitHub shows closed
    and not merged now. A recorded veto of any other PR is no veto in force: a person reopened it
    (it is open, and listed as such: :func:`reopened_promotions`) or reopened and merged it.
    ``None``: every recorded veto counts. ``cooldown``: the config's ``veto_cooldown_days`` now,
    which the plan applies to a veto's close (a recorded ``cooldown_until`` is the one of its day:
    after the setting was lowered the dashboard listed a veto next to the PR it no longer held back).
    """
    facts = [(r.event, r.subject, r.data) for r in records] + [(e.event, e.subject, e.data) for e in entries]
    vetoes: dict[tuple[str, int], Veto] = {}
    for event, subject, data in facts:
        until, closed, pull = data.get("cooldown_until"), data.get("closed_at"), data.get("pr")
        kind = VETO_EVENTS.get(event)
        if kind is None or not isinstance(until, str):
            continue
        expires = datetime.fromisoformat(until)
        if cooldown is not None and isinstance(closed, str):
            expires = datetime.fromisoformat(closed) + cooldown
        in_force = closed_unmerged is None or pull in closed_unmerged
        if expires > now and isinstance(closed, str) and isinstance(pull, int) and in_force:
            vetoes[(subject, pull)] = Veto(subject, pull, datetime.fromisoformat(closed), expires, kind)
    return list(vetoes.values())


def dashboard_context(
    review: Review,
    open_promotions: list[ListedPromotion],
    vetoes: list[Veto],
    ledger_head: LedgerAnchor | None = None,
    state_commit: str | None = None,
    standing: Sequence[LedgerRecord] = (),
) -> dict[str, object]:
    """What the dashboard template shows besides the review itself. ``ledger_head`` and
    ``state_commit`` (what this run wrote) anchor the ledger outside the state branch: see
    :func:`dashboard_anchors`. ``standing``: the ``killed`` records of earlier runs that keep
    their subjects excluded (``kills.kills_in_force``) — listed with the record that keeps each,
    so a person sees every exclusion and where it comes from (the state branch is writable by
    anyone with push access: a record metasup never wrote shows up here)."""
    stages: dict[str, list[str]] = {}
    for agent in review.agents:
        stages.setdefault(agent.stage, []).append(agent.agent)
    kills: list[dict[str, object]] = [
        {"subject": f"class {c.name}", "reason": kill_reason(c.retirement), "record": None}
        for c in review.strategy_classes
        if c.retirement.kill
    ]
    kills += [
        {"subject": a.agent, "reason": kill_reason(a.retirement), "record": None}
        for a in review.agents
        if a.retirement.kill
    ]
    killed_now = {c.name for c in review.strategy_classes if c.retirement.kill} | {
        a.agent for a in review.agents if a.retirement.kill
    }
    for record in standing:
        name = record.subject.removeprefix(CLASS_SUBJECT_PREFIX)
        if name in killed_now:
            continue
        shown = f"class {name}" if record.subject.startswith(CLASS_SUBJECT_PREFIX) else name
        kills.append(
            {
                "subject": shown,
                "reason": str(record.data.get("reason") or "no reason recorded"),
                "record": {"seq": record.seq, "run": record.run_id, "day": record.ts[:10]},
            }
        )
    return {
        "stages": sorted(stages.items()),
        "open_promotions": [p for p in open_promotions if p.kind == "promote"],
        "pending_demotions": [p for p in open_promotions if p.kind == "demote"],
        "vetoes": [
            {"agent": v.agent, "pull": v.pull, "expires": v.expires.isoformat(), "kind": v.kind}
            for v in vetoes
        ],
        "kills": kills,
        "ledger": (
            None
            if ledger_head is None or state_commit is None
            else {"records": ledger_head.seq, "last": ledger_head.hash, "commit": state_commit}
        ),
    }


_STATE_COMMIT = re.compile(r"^State-Commit:[ \t]*([0-9a-f]{40})[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class DashboardAnchor:
    """What metasup's open dashboard issue recorded of the ledger: its head (none in a dashboard
    written before anchors existed) and the state commit that held it."""

    issue: int
    anchors: tuple[LedgerAnchor, ...]
    state_commit: str | None


def dashboard_anchors(issue: int, body: str) -> DashboardAnchor:
    """The ledger head and state commit dashboard issue ``issue`` recorded in its ``body``.

    The state branch's own commits anchor its ledger, but not against the branch being deleted or
    replaced by a fresh orphan: then the anchors go with it. The dashboard issue lives outside the
    branch, so a rolling run checks the ledger against the head the last dashboard recorded."""
    found = _STATE_COMMIT.search(body)
    return DashboardAnchor(issue, tuple(anchors_in_message(body)), found.group(1) if found else None)
