"""Kills that stand, and when a kill is a new one (SPEC §3.4, §5 "[AUTO-RETIRE] PRs"). Pure.

A subject (an agent, or ``class:<name>``) can be killed more than once in a fund's life: its
[AUTO-RETIRE] PR is merged and a person later puts the agent back in ``sandbox``, or a person
closes the PR (lifting the kill) and the rules fire again after the veto cooldown. Each kill is an
**episode**: one ``killed`` ledger record and the retire PR opened for it — the first PR of the
subject's retire branch numbered above the record's ``after_pr`` (the branch's last PR when the
kill was decided; absent for a branch that had none, as in every ledger written before
2026-12-07). Only a subject's latest episode counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from metasup.model.pulls import PullState
from metasup.model.registry import Registry
from metasup.model.review import CLASS_SUBJECT_PREFIX
from metasup.rolling.audit_ledger import LedgerRecord, NewEntry
from metasup.rolling.lifecycle import retire_branch

AFTER_PR = "after_pr"
"""Key of a ``killed`` record's ``data``: the number of the retire branch's last PR when the kill
was decided (none when the branch had none)."""


def latest_kills(records: Sequence[LedgerRecord]) -> dict[str, LedgerRecord]:
    """Each subject's latest ``killed`` record (ledger order)."""
    return {record.subject: record for record in records if record.event == "killed"}


def episode_pull(record: LedgerRecord, history: Sequence[PullState]) -> PullState | None:
    """The retire PR opened for the kill ``record``: the first of the branch's PRs (``history``)
    numbered above its ``after_pr``; None if it was never opened (a blocked branch, a cut run)."""
    after = record.data.get(AFTER_PR)
    floor = after if isinstance(after, int) else 0
    return next((pull for pull in sorted(history, key=lambda p: p.number) if pull.number > floor), None)


def unrecorded_kills(
    latest: Mapping[str, LedgerRecord], pulls: Sequence[PullState], registry: Registry
) -> dict[str, PullState]:
    """Subjects of the registry whose open [AUTO-RETIRE] PR (metasup's: ``pulls`` are its own) no
    ``killed`` record covers — the run that opened it stopped before saving its ledger. The PR is
    the kill: it stands, and the next run records it (``retirements.plan_kills``)."""
    subjects = [agent.name for agent in registry.agents]
    subjects += [CLASS_SUBJECT_PREFIX + klass.name for klass in registry.strategy_classes]
    by_branch: dict[str, list[PullState]] = {}
    for pull in pulls:
        by_branch.setdefault(pull.branch, []).append(pull)
    found: dict[str, PullState] = {}
    for subject in subjects:
        history = by_branch.get(retire_branch(subject), [])
        open_pull = next((pull for pull in history if pull.state == "open"), None)
        if open_pull is None:
            continue
        record = latest.get(subject)
        covered = record is not None and episode_pull(record, history) == open_pull
        if not covered:
            found[subject] = open_pull
    return found


def kills_in_force(
    records: Sequence[LedgerRecord], pulls: Sequence[PullState], registry: Registry
) -> set[str]:
    """Subjects killed by earlier runs that stay excluded (SPEC §3.4: until the registry says otherwise).

    A subject's latest kill stands while its [AUTO-RETIRE] PR is not opened yet or open, and the
    registry entry is what it was at the kill (``data.registry``). It is lifted when a person
    closes that PR unmerged, or changes the entry; a merged PR carried it out (the entry is then
    ``retired``/``killed``, which excludes the subject anyway), so an entry a person later sets
    back — even to the stage it had when killed — is a reinstatement, not the old kill again.
    """
    kept: set[str] = set()
    for subject, record in latest_kills(records).items():
        pull = episode_pull(record, [p for p in pulls if p.branch == retire_branch(subject)])
        if pull is not None and pull.state != "open":
            continue
        recorded = record.data.get("registry")
        if recorded is not None and registry_value(registry, subject) == recorded:
            kept.add(subject)
    return kept | set(unrecorded_kills(latest_kills(records), pulls, registry))


def registry_value(registry: Registry, subject: str) -> str | None:
    """The registry's word on ``subject`` now: an agent's ``stage``, a class's ``status``."""
    if subject.startswith(CLASS_SUBJECT_PREFIX):
        klass = registry.strategy_class(subject.removeprefix(CLASS_SUBJECT_PREFIX))
        return klass.status if klass is not None else None
    agent = registry.agent(subject)
    return agent.stage if agent is not None else None


@dataclass(frozen=True)
class KillStep:
    """What a run does about a kill its review decided: the ledger entry to add (none when the
    kill is the latest episode, already recorded) and whether to open a retire PR."""

    entry: NewEntry | None
    open_pull: bool
    refused_until: datetime | None = None
    """A person closed the last episode's PR unmerged: the kill is lifted until then (the veto
    cooldown), and this run records and opens nothing."""
    after_merge: bool = False
    """The new episode follows a merged retire PR. The run's registry is its checkout, which may
    predate that merge (a PR merged while the run was under way): the kill is recorded only if the
    base's head does not record it already (``execute``, on opening the new PR)."""


def kill_step(
    subject: str,
    reason: str,
    registry_now: str,
    latest: LedgerRecord | None,
    history: Sequence[PullState],
    now: datetime,
    cooldown: timedelta,
) -> KillStep:
    """The step for a kill of ``subject`` decided by this run's review (``registry_now``: its
    registry entry, not ``retired``/``killed``), given its latest ``killed`` record and every PR its
    retire branch had.

    The latest episode goes on while its PR is not opened yet (opened now) or open. A merged PR
    that a person undid in the registry, or a PR a person closed unmerged more than the veto
    cooldown ago, ends it: this kill is a new episode — a new ``killed`` record (dedupe key
    ``after pr#N``) and a new retire PR. Within the cooldown a closed PR's veto holds.
    """
    ordered = sorted(history, key=lambda p: p.number)
    has_open = any(pull.state == "open" for pull in ordered)
    pull = None if latest is None else episode_pull(latest, ordered)
    if latest is not None:
        if pull is None or pull.state == "open":
            return KillStep(None, open_pull=pull is None and not has_open)
        if not pull.merged and pull.closed_at is not None and now < pull.closed_at + cooldown:
            return KillStep(None, open_pull=False, refused_until=pull.closed_at + cooldown)
    data: dict[str, object] = {"reason": reason, "registry": registry_now}
    ended = [pull.number for pull in ordered if pull.state != "open"]
    if not ended:  # the subject's first retire PR (an open one is adopted as this kill's)
        return KillStep(NewEntry(event="killed", subject=subject, data=data), open_pull=not has_open)
    entry = NewEntry(
        event="killed",
        subject=subject,
        data={**data, AFTER_PR: ended[-1]},
        dedupe_key=f"after pr#{ended[-1]}",
    )
    return KillStep(entry, open_pull=not has_open, after_merge=pull is not None and pull.merged)
