"""The rolling run's kills (SPEC §3.4, §5 "[AUTO-RETIRE] PRs"): which to record, which retire PRs to
open, and which to re-cut on a moved base. Pure: plain values in, ledger entries and actions out.

A retire PR can stay open for weeks (the exclusion from allocation does not wait for it), while
people keep editing ``agents.yaml`` on the base: like a promote PR, it is re-cut on the base's new
head each run the base moved, so that a person can always merge it as it is — a conflicting PR is
one they might close to be rid of it, which lifts the kill.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from metasup.evaluate.retirement import kill_reason
from metasup.model.pulls import PullState
from metasup.model.registry import Registry
from metasup.model.review import CLASS_SUBJECT_PREFIX, Review
from metasup.rolling.audit_ledger import LedgerRecord, NewEntry
from metasup.rolling.kills import AFTER_PR, kill_step, registry_value, unrecorded_kills
from metasup.rolling.lifecycle import retire_branch


@dataclass(frozen=True)
class OpenRetirement:
    subject: str
    branch: str
    reason: str
    entry: NewEntry | None = None
    """The kill's ledger entry, when it is recorded only if the base's head does not record the
    kill already (``KillStep.after_merge``); otherwise the entry is the plan's."""


@dataclass(frozen=True)
class RefreshRetirement:
    """Re-cut metasup's open retire PR ``pull`` on the base's new head (the base moved)."""

    subject: str
    pull: int
    branch: str
    reason: str


@dataclass(frozen=True)
class KillPlan:
    entries: list[NewEntry] = field(default_factory=list)
    actions: list[OpenRetirement | RefreshRetirement] = field(default_factory=list)
    refused: list[tuple[str, datetime]] = field(default_factory=list)
    """Kills of this run whose last retire PR a person closed within the cooldown: (subject, until)."""


def kill_subjects(review: Review, registry: Registry) -> list[tuple[str, str, str]]:
    """(subject, reason, registry value) of every kill this run that the registry does not record yet.

    The registry value (class ``status`` / agent ``stage`` at kill time) goes into the audit ledger so
    a later run can tell whether a person has changed the entry since (which lifts the kill).
    """
    subjects: list[tuple[str, str, str]] = []
    for klass in review.strategy_classes:
        declared = registry.strategy_class(klass.name)
        if klass.retirement.kill and declared is not None and declared.status != "killed":
            subjects.append(
                (CLASS_SUBJECT_PREFIX + klass.name, kill_reason(klass.retirement), declared.status)
            )
    for agent in review.agents:
        declared_agent = registry.agent(agent.agent)
        if agent.retirement.kill and declared_agent is not None and declared_agent.stage != "retired":
            subjects.append((agent.agent, kill_reason(agent.retirement), declared_agent.stage))
    return subjects


def plan_kills(
    review: Review,
    registry: Registry,
    by_branch: Mapping[str, Sequence[PullState]],
    kills: Mapping[str, LedgerRecord],
    now: datetime,
    cooldown: timedelta,
    base_head: str,
    blocked: Collection[str] = (),
) -> KillPlan:
    """The kills of this run (``kills``: each subject's latest ``killed`` record; ``by_branch``:
    metasup's PRs of each branch) and the retire PRs to open or re-cut."""
    plan = KillPlan()
    reasons: dict[str, str] = {}
    for subject, reason, registry_now in kill_subjects(review, registry):
        reasons[subject] = reason
        branch = retire_branch(subject)
        step = kill_step(
            subject, reason, registry_now, kills.get(subject), by_branch.get(branch, []), now, cooldown
        )
        opens = step.open_pull and branch not in blocked
        checked = step.entry if opens and step.after_merge else None
        if step.entry is not None and checked is None:
            plan.entries.append(step.entry)
        if step.refused_until is not None:
            plan.refused.append((subject, step.refused_until))
        if opens:
            plan.actions.append(OpenRetirement(subject, branch, reason, checked))
    every_pull = [pull for history in by_branch.values() for pull in history]
    for subject, pull in unrecorded_kills(kills, every_pull, registry).items():
        if subject not in reasons:  # killed by this run's rules: kill_step adopted the open PR
            plan.entries.append(_recovered(subject, pull, by_branch[pull.branch], registry))
    subjects = [a.agent for a in review.agents] + [
        CLASS_SUBJECT_PREFIX + c.name for c in review.strategy_classes
    ]
    for subject in subjects:
        for pull in by_branch.get(retire_branch(subject), []):
            if pull.state != "open" or pull.branch_parent in (None, base_head):
                continue
            recorded = kills.get(subject)
            reason = reasons.get(subject) or (str(recorded.data.get("reason", "")) if recorded else "")
            plan.actions.append(RefreshRetirement(subject, pull.number, pull.branch, reason))
    return plan


def _recovered(subject: str, pull: PullState, history: Sequence[PullState], registry: Registry) -> NewEntry:
    """The ``killed`` record of an open retire PR whose run stopped before recording it."""
    data: dict[str, object] = {
        "reason": f"the kill of [AUTO-RETIRE] PR #{pull.number}, whose run stopped before recording it",
        "registry": registry_value(registry, subject),
    }
    ended = [p.number for p in sorted(history, key=lambda p: p.number) if p.number < pull.number]
    if not ended:
        return NewEntry(event="killed", subject=subject, data=data)
    data[AFTER_PR] = ended[-1]
    return NewEntry(event="killed", subject=subject, data=data, dedupe_key=f"after pr#{ended[-1]}")
