"""Rolling supervision, decided: what a scheduled run should do, as values (SPEC §5).

``plan_rolling`` reads the base's review, metasup's PRs as GitHub shows them and the audit ledger,
and returns the PR actions to run and the ledger entries of what it observed; it never calls
GitHub (``rolling.run.run_rolling`` executes the plan).

Ledger entries derived from GitHub carry dedupe keys (``pr#<n>``), so the ledger converges on the
truth even when a run died between a PR write and the state write: an open PR is
``promotion_proposed`` once, a merged one ``promoted`` once, one a person closed ``vetoed`` once.
A PR metasup closes carries ``metasup-withdrawn``; ``ownership.classify`` reads GitHub's ``closed_by``.

[AUTO-DEMOTE] PRs (SPEC §3.8) live the same life as promote PRs, with their own branch, label
and ``demotion_*`` audit events: one code path, parametrized by a :class:`Lifecycle`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import assert_never

from metasup.model.config import Config
from metasup.model.pulls import PullState
from metasup.model.registry import Registry
from metasup.model.review import AgentReport, ClassReport, Review
from metasup.rolling.audit_ledger import LedgerRecord, NewEntry
from metasup.rolling.lifecycle import (
    LIFECYCLES,
    PROMOTION,
    WITHDRAWN_LABEL,
    Kind,
    Lifecycle,
    demote_branch,
    label_of,
    lifecycle_of,
)
from metasup.rolling.retirements import OpenRetirement, RefreshRetirement, plan_kills

# The stage-change actions serve [AUTO-PROMOTE] and [AUTO-DEMOTE] PRs alike; ``kind`` says which.


@dataclass(frozen=True)
class OpenStageChange:
    agent: str
    branch: str
    kind: Kind = "promote"


@dataclass(frozen=True)
class RefreshStageChange:
    agent: str
    pull: int
    branch: str
    rebase: bool
    held: bool
    kind: Kind = "promote"


@dataclass(frozen=True)
class MergeStageChange:
    """Merge an open PR; ``rebase``: re-cut its branch on the base head first (the base moved, e.g.
    another metasup PR editing the registry was merged, which would leave it unmergeable for good)."""

    agent: str
    pull: int
    kind: Kind = "promote"
    rebase: bool = False


@dataclass(frozen=True)
class WithdrawStageChange:
    agent: str
    pull: int
    reason: str
    kind: Kind = "promote"


@dataclass(frozen=True)
class HoldMovedPull:
    """A person pushed to metasup's PR: say once that it is now theirs to merge (never merged by metasup)."""

    agent: str
    pull: int
    kind: Kind = "promote"


@dataclass(frozen=True)
class LabelPull:
    """Add the label a PR of metasup's lacks (the run that opened it died before labelling it)."""

    pull: int
    label: str


Action = (
    OpenStageChange
    | RefreshStageChange
    | MergeStageChange
    | WithdrawStageChange
    | HoldMovedPull
    | OpenRetirement
    | RefreshRetirement
    | LabelPull
)


@dataclass(frozen=True)
class Veto:
    agent: str
    pull: int
    closed_at: datetime
    expires: datetime
    kind: Kind = "promote"


@dataclass(frozen=True)
class RollingPlan:
    actions: list[Action] = field(default_factory=list)
    audit_entries: list[NewEntry] = field(default_factory=list)
    vetoes: list[Veto] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)  # open PRs the ledger says ended: left alone
    deferred: list[Action] = field(default_factory=list)
    """New PRs past ``promotion_prs.max_new_per_run``: opened by later runs."""
    refused_kills: list[tuple[str, datetime]] = field(default_factory=list)
    """Kills of this run whose last retire PR a person closed within the cooldown: (subject, until)."""


def pull_key(number: int) -> str:
    """The audit ledger's dedupe key of a fact about pull request ``number``: ``pr#<number>``."""
    return f"pr#{number}"


def _latest_by_branch(pulls: Sequence[PullState]) -> dict[str, list[PullState]]:
    by_branch: dict[str, list[PullState]] = {}
    for pull in sorted(pulls, key=lambda p: p.number):
        by_branch.setdefault(pull.branch, []).append(pull)
    return by_branch


def observed_entries(
    pulls: Sequence[PullState],
    agent_of_branch: dict[str, str],
    cooldown: timedelta,
    vetoed: Mapping[int, Collection[str]] = MappingProxyType({}),
    reasons: Mapping[str, str] = MappingProxyType({}),
) -> list[NewEntry]:
    """Audit-ledger entries for what GitHub shows about promote and demote PRs (idempotent through
    dedupe keys); the branch prefix says which lifecycle's events apply. ``reasons``: by branch,
    why the change is not wanted now (a withdrawal whose run died before saving is recorded with it).

    ``vetoed``: PRs the ledger records as vetoed, each with the ``closed_at`` of its veto records.
    Such a PR is never also recorded as withdrawn: a closed PR's ``metasup-withdrawn`` label is read
    as metasup's close only for the newest PR of a branch (``ownership``: GitHub's ``closed_by`` is
    read for that one), so once a newer PR exists, an older PR a person labelled and closed would
    otherwise look withdrawn beside its veto. A vetoed PR a person reopened and closed again is a
    second veto, with its own close and cooldown (dedupe key ``pr#7@<closed_at>``): the dashboard
    and the LP log show the cooldown that is in force, which the plan reads from GitHub's latest close.
    """
    entries: list[NewEntry] = []
    for pull in pulls:
        agent, lifecycle = agent_of_branch.get(pull.branch), lifecycle_of(pull.branch)
        if agent is None or lifecycle is None:
            continue
        key = pull_key(pull.number)
        entries.append(
            NewEntry(event=lifecycle.proposed, subject=agent, data={"pr": pull.number}, dedupe_key=key)
        )
        if pull.merged:
            entries.append(
                NewEntry(event=lifecycle.done, subject=agent, data={"pr": pull.number}, dedupe_key=key)
            )
        elif pull.state == "closed" and WITHDRAWN_LABEL in pull.labels:
            if pull.number in vetoed:
                continue  # a person's veto, recorded: the label they added makes it no withdrawal
            data: dict[str, object] = {"pr": pull.number}
            if pull.branch in reasons:
                data["reason"] = reasons[pull.branch]
            entries.append(NewEntry(event=lifecycle.withdrawn, subject=agent, data=data, dedupe_key=key))
        elif pull.state == "closed" and pull.closed_at is not None:
            closed = pull.closed_at.isoformat()
            closes = vetoed.get(pull.number, ())
            data = {
                "pr": pull.number,
                "closed_at": closed,
                "cooldown_until": (pull.closed_at + cooldown).isoformat(),
            }
            again = bool(closes) and closed not in closes
            entries.append(
                NewEntry(
                    event=lifecycle.vetoed,
                    subject=agent,
                    data=data,
                    dedupe_key=f"{key}@{closed}" if again else key,
                )
            )
    return entries


def _vetoed_by(last: PullState | None, config: Config) -> datetime | None:
    """When the cooldown of a person's veto ends, if ``last`` (a branch's latest PR) is one; else None."""
    if last is None or last.merged or WITHDRAWN_LABEL in last.labels or last.closed_at is None:
        return None
    return last.closed_at + timedelta(days=config.promotion_prs.veto_cooldown_days)


def demotion_vetoes(
    pulls: Sequence[PullState], registry: Registry, now: datetime, config: Config
) -> set[str]:
    """Prod agents whose latest [AUTO-DEMOTE] PR a person closed unmerged within the cooldown.

    Read from GitHub before the evaluation, so a veto counts on the very next run, before the
    audit ledger records it: ``evaluate(..., demotion_vetoes=...)`` keeps them in prod and allocation.
    """
    by_branch = _latest_by_branch(pulls)
    vetoed: set[str] = set()
    for agent in registry.agents:
        history = by_branch.get(demote_branch(agent.name), [])
        expires = _vetoed_by(history[-1] if history else None, config)
        if expires is not None and now < expires:
            vetoed.add(agent.name)
    return vetoed


def _rule_fires(agent: AgentReport, lifecycle: Lifecycle) -> tuple[bool, str]:
    """Whether the agent's promotion (or demotion) is wanted now, and if not, why not."""
    if lifecycle.kind == "promote":
        failed = "; ".join(g.evidence for g in agent.promotion.gates if not g.passed) or agent.status
        return agent.promotion.result == "APPROVED", failed
    demotion = agent.demotion
    if demotion is None:  # killed, or no longer prod
        return False, f"the agent is {agent.status}"
    # A vetoed demotion still fires: the cooldown check below keeps it from a new PR.
    return demotion.demoted or demotion.vetoed, demotion.evidence


def _stage_action(
    agent: AgentReport,
    history: list[PullState],
    now: datetime,
    base_head: str,
    config: Config,
    vetoes: list[Veto],
    held: list[str],
    lifecycle: Lifecycle = PROMOTION,
    ended: frozenset[int] = frozenset(),
) -> Action | None:
    """What to do for one agent, given every promote (or demote) PR its branch ever had.

    An open PR in ``ended`` (the ledger recorded its veto or withdrawal, or its hold) was reopened
    or pushed to by a person: it is theirs to merge or close — metasup neither merges, re-cuts nor
    closes it again, even once its head is back at the commit metasup recorded.
    """
    kind = lifecycle.kind
    fires, why_not = _rule_fires(agent, lifecycle)
    open_pull = next((p for p in history if p.state == "open"), None)
    if open_pull is not None and open_pull.number in ended:
        return None
    if open_pull is not None:
        if not fires:
            return WithdrawStageChange(agent.agent, open_pull.number, why_not, kind)
        hours = config.promotion_prs.auto_merge_after_hours
        old_enough = hours is not None and now - open_pull.created_at >= timedelta(hours=hours)
        rebase = open_pull.branch_parent is not None and open_pull.branch_parent != base_head
        if old_enough and not open_pull.changes_requested:
            return MergeStageChange(agent.agent, open_pull.number, kind, rebase)
        if open_pull.changes_requested:
            held.append(agent.agent)
        return RefreshStageChange(
            agent.agent, open_pull.number, open_pull.branch, rebase, open_pull.changes_requested, kind
        )
    if not fires:
        return None
    last = history[-1] if history else None
    expires = _vetoed_by(last, config)
    if last is not None and last.closed_at is not None and expires is not None and now < expires:
        vetoes.append(Veto(agent.agent, last.number, last.closed_at, expires, kind))
        return None
    return OpenStageChange(agent.agent, lifecycle.branch(agent.agent), kind)


def plan_rolling(
    review: Review,
    registry: Registry,
    pulls: Sequence[PullState],
    now: datetime,
    base_head: str,
    config: Config,
    moved: Sequence[PullState] = (),
    announced: frozenset[int] = frozenset(),
    blocked: frozenset[str] = frozenset(),
    ended: frozenset[int] = frozenset(),
    vetoed: Mapping[int, Collection[str]] = MappingProxyType({}),
    kills: Mapping[str, LedgerRecord] = MappingProxyType({}),
) -> RollingPlan:
    """Every PR action and audit-ledger entry of one rolling run, decided from plain values.

    ``pulls`` are metasup's own PRs only (``ownership.classify``). ``moved``: its open PRs whose head
    a person moved — each is held once (``announced``: the PR numbers already held in the ledger,
    which stay a person's even when their head is put back);
    ``blocked``: branches metasup must not push to (someone else's open PR uses them); ``ended``:
    PRs the ledger records as vetoed or withdrawn — one of them open again was reopened by a person
    and is left to people (``plan.reopened``); ``vetoed``: the PRs among them recorded as vetoed,
    with the ``closed_at`` of each veto (never also recorded as withdrawn; a close after a reopen is
    a veto of its own: :func:`observed_entries`); ``kills``: each subject's latest ``killed`` record
    (``kills.latest_kills``), which says whether a kill of this run is a new one
    (``kills.kill_step``).
    """
    by_branch = _latest_by_branch(pulls)
    agent_of_branch = {c.branch(a.agent): a.agent for a in review.agents for c in LIFECYCLES.values()}
    cooldown = timedelta(days=config.promotion_prs.veto_cooldown_days)
    peoples = ended | announced  # reopened after a veto or withdrawal, or held: a person's PR now
    why_not = {c.branch(a.agent): _rule_fires(a, c) for a in review.agents for c in LIFECYCLES.values()}
    not_wanted = {branch: why for branch, (fires, why) in why_not.items() if not fires and why}
    plan = RollingPlan(audit_entries=observed_entries(pulls, agent_of_branch, cooldown, vetoed, not_wanted))
    for pull in pulls:
        label = label_of(pull.branch)
        if pull.state == "open" and label is not None and label not in pull.labels:
            plan.actions.append(LabelPull(pull.number, label))
        if pull.state == "open" and pull.number in ended:
            plan.reopened.append(pull.number)
    for pull in moved:
        held_agent, held_lifecycle = agent_of_branch.get(pull.branch), lifecycle_of(pull.branch)
        if held_agent is not None and held_lifecycle is not None and pull.number not in announced:
            plan.actions.append(HoldMovedPull(held_agent, pull.number, held_lifecycle.kind))

    for lifecycle in LIFECYCLES.values():
        # An agent missing from agents.yaml has no `stage` line to change: register it first.
        candidates = [
            a
            for a in review.agents
            if a.stage == lifecycle.from_stage and registry.agent(a.agent) is not None
        ]
        for agent in candidates:
            if lifecycle.branch(agent.agent) in blocked:
                continue
            history = by_branch.get(lifecycle.branch(agent.agent), [])
            action = _stage_action(
                agent, history, now, base_head, config, plan.vetoes, plan.held, lifecycle, peoples
            )
            if action is not None:
                plan.actions.append(action)
        for agent in review.agents:  # a PR left open for an agent whose stage changed since, or gone
            history = by_branch.get(lifecycle.branch(agent.agent), [])
            open_pull = next((p for p in history if p.state == "open"), None)
            gone = registry.agent(agent.agent) is None  # renamed or removed by a person (an audit)
            unchanged = agent.stage == lifecycle.from_stage and not gone
            if open_pull is None or open_pull.number in peoples or unchanged:
                continue
            why = "the agent is no longer in agents.yaml" if gone else f"the agent is now {agent.stage}"
            plan.actions.append(WithdrawStageChange(agent.agent, open_pull.number, why, lifecycle.kind))

    killing = plan_kills(review, registry, by_branch, kills, now, cooldown, base_head, blocked)
    plan.audit_entries.extend(killing.entries)
    plan.actions.extend(killing.actions)
    plan.refused_kills.extend(killing.refused)
    kept, deferred = within_limit(plan.actions, config.promotion_prs.max_new_per_run)
    plan.actions[:] = kept
    plan.deferred.extend(deferred)
    return plan


def within_limit(actions: Sequence[Action], limit: int | None) -> tuple[list[Action], list[Action]]:
    """``actions`` with at most ``limit`` new PRs, and the new PRs left for later runs.

    Retirements first (a kill is the most urgent news; its exclusion does not wait for the PR),
    then demotions, then promotions, each in plan order. A deferred kill is recorded all the
    same, and its PR opened by a later run (``kills.kill_step``: a kill whose PR is not opened yet).
    """
    new = [action for action in actions if isinstance(action, OpenRetirement | OpenStageChange)]
    if limit is None or len(new) <= limit:
        return list(actions), []
    ranked = sorted(new, key=_urgency)
    deferred: list[Action] = list(ranked[limit:])
    later = {id(action) for action in deferred}
    return [action for action in actions if id(action) not in later], deferred


def _urgency(action: OpenRetirement | OpenStageChange) -> int:
    if isinstance(action, OpenRetirement):
        return 0
    return 1 if action.kind == "demote" else 2


def find_agent(review: Review, name: str) -> AgentReport | None:
    return next((a for a in review.agents if a.agent == name), None)


def find_class(review: Review, name: str) -> ClassReport | None:
    return next((c for c in review.strategy_classes if c.name == name), None)


def describe(action: Action) -> str:
    """One line saying what ``action`` does, for the job summary's decisions."""
    if isinstance(action, OpenRetirement):
        return f"open [AUTO-RETIRE] PR for {action.subject}"
    if isinstance(action, RefreshRetirement):
        return f"re-cut [AUTO-RETIRE] PR #{action.pull} for {action.subject} on the base's new head"
    if isinstance(action, LabelPull):
        return f"label PR #{action.pull} {action.label} (the run that opened it did not)"
    tag = LIFECYCLES[action.kind].tag
    if isinstance(action, OpenStageChange):
        return f"open [{tag}] PR for {action.agent}"
    if isinstance(action, RefreshStageChange):
        held = " (held: changes requested)" if action.held else ""
        return f"refresh [{tag}] PR #{action.pull} for {action.agent}{held}"
    if isinstance(action, MergeStageChange):
        return f"merge [{tag}] PR #{action.pull} for {action.agent}"
    if isinstance(action, WithdrawStageChange):
        return f"close [{tag}] PR #{action.pull} for {action.agent}: {action.reason}"
    if isinstance(action, HoldMovedPull):
        return f"hold [{tag}] PR #{action.pull} for {action.agent}: its head moved, a person merges it"
    assert_never(action)
