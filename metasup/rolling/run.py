"""Rolling mode's imperative shell: read state, verify, evaluate, run the plan, write state.

Order matters and is chosen so that a run that dies anywhere leaves nothing inconsistent:

1. read the state branch and verify the audit ledger, against the ``Ledger-Head`` anchors of recent
   state commits and of the dashboard issue (which survives the branch being deleted or replaced)
   too — a broken chain or a cut tail is CRITICAL and this run writes nothing at all;
   keep only the PRs that are provably metasup's (``ownership``), warn about the others;
2. evaluate the base and plan (``plan.plan_rolling``: pure);
3. run the PR actions (``execute``; each one idempotent against what GitHub shows; every branch
   push is recorded on the state branch at once, ``pulls.json``);
4. LP e-mail (``lp_email``): claim the period on the state branch (compare-and-swap), send, record;
5. write snapshot, allocation and audit ledger in one commit (``state.save_state``), re-reading
   and re-applying when another run moved the branch;
6. upsert the dashboard issue (values from ``dashboard``: pure), with the ledger head just written.

Audit-ledger entries are derived from GitHub's state each run (``plan.observed_entries``), so a
record lost to a crash between steps 3 and 5 is written by the next run, exactly once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from metasup.baseline import from_snapshot
from metasup.evaluate.measure import Measure, measure_locally
from metasup.github import (
    Console,
    GitHubClient,
    GitHubIOError,
    branch_head,
    list_pull_facts,
    merger_login,
    own_login,
    read_own_issue,
    read_state,
    read_text,
    upsert_issue,
)
from metasup.lp.prod_spans import moved_agents
from metasup.model.config import Config
from metasup.model.errors import DONE_NOTE, InputError
from metasup.model.registry import Stage
from metasup.model.review import BaseInfo, Review
from metasup.render.bodies import DASHBOARD_MARKER, render_dashboard
from metasup.rolling.audit_anchor import check_anchors
from metasup.rolling.audit_ledger import (
    LedgerRecord,
    NewEntry,
    append_new,
    format_ts,
    missing_entries,
    parse_ledger,
    verify_ledger,
)
from metasup.rolling.context import RollingContext, RollingOutcome
from metasup.rolling.dashboard import (
    DashboardAnchor,
    active_vetoes,
    dashboard_anchors,
    dashboard_context,
    reopened_promotions,
)
from metasup.rolling.execute import PlanExecutor
from metasup.rolling.hand_moves import REMOVED, hand_moves
from metasup.rolling.kills import kills_in_force, latest_kills
from metasup.rolling.lifecycle import DEMOTE_PREFIX, LIFECYCLES, PROMOTE_PREFIX, RETIRE_PREFIX
from metasup.rolling.lp_email import DueEmail, send_due_email
from metasup.rolling.ownership import Ownership, classify
from metasup.rolling.plan import RollingPlan, demotion_vetoes, describe, plan_rolling
from metasup.rolling.registry_edit import RegistryEditError, RegistryEntryMissing, has_stage
from metasup.rolling.state import StateFiles, email_claims, read_state_files, save_state
from metasup.rolling.state_layout import EMAIL_CLAIMS_PATH, STATE_BRANCH
from metasup.runner import Workspace, supervise_workspace

__all__ = ["DASHBOARD_TITLE", "RollingContext", "RollingOutcome", "registry_path_in_repo", "run_rolling"]

DASHBOARD_TITLE = "Meta-Supervisor dashboard"


def run_rolling(
    workspace: Workspace,
    gh: GitHubClient,
    context: RollingContext,
    console: Console,
    measure: Measure = measure_locally,
) -> RollingOutcome:
    # The dashboard first: a run saves the state before its dashboard, so the state read next holds
    # whatever the dashboard anchors, even if another run saves in between.
    issue = read_own_issue(gh, context.repository, DASHBOARD_MARKER)
    dashboard = None if issue is None else dashboard_anchors(*issue)  # anchors off the branch
    state = read_state_files(gh, context.repository, context.base_ref)
    records, problem = _verified_ledger(state, dashboard)
    # An export that failed: acting on no data withdrew PRs. Checked before the PR list and the
    # evaluation; a broken ledger is still said first.
    if problem is None and workspace.artifacts.signals.empty:
        raise InputError(
            f"artifacts.alpha ({workspace.config.artifacts.alpha}) holds no signal at all: a rolling "
            "run decides nothing from no data (no PR, snapshot, allocation or e-mail; an LP would be "
            "sent $0.00); the next run with signals does"
        )
    owned = Ownership()
    if problem is None:
        facts = list_pull_facts(gh, context.repository, (PROMOTE_PREFIX, DEMOTE_PREFIX, RETIRE_PREFIX))
        owned = classify(facts, own_login(gh), state.heads, context.base_ref)
    pulls = owned.ours
    previous = from_snapshot(state.snapshot_text, context.base_ref)
    stages_before = _registered_stages(previous.review if previous else None)
    standing = kills_in_force(records, pulls, workspace.registry)
    supervision = supervise_workspace(
        workspace,
        context.as_of,
        previous.review if previous else None,
        run_id=context.run_id,
        base=BaseInfo(ref=context.base_ref, source="snapshot" if previous else "none"),
        ledger_problem=problem,
        standing_kills=standing,
        demotion_vetoes=demotion_vetoes(pulls, workspace.registry, context.now, workspace.config),
        measure=measure,
        # with the agents a person may have taken out of prod since (hand_moves): the e-mail books them
        booked=moved_agents(record.fields() for record in records) | _in_prod(stages_before),
    )
    review = supervision.review
    if problem is not None:
        return RollingOutcome(review, RollingPlan(), audit_ledger_broken=True, errors=[problem])

    base_head = branch_head(gh, context.repository, context.base_ref)
    if base_head is None:
        raise GitHubIOError(f"base branch {context.base_ref} not found in {context.repository}")
    plan = plan_rolling(
        review,
        workspace.registry,
        pulls,
        context.now,
        base_head,
        workspace.config,
        moved=owned.moved,
        announced=_held_announced(records),
        blocked=owned.blocked,
        ended=_ended(records),
        vetoed=_vetoed(records),
        kills=latest_kills(records),
    )
    outcome = RollingOutcome(review, plan, warnings=list(owned.warnings))
    outcome.decisions += [
        f"PR #{number} was reopened after its veto or withdrawal: a person's to merge or close; left alone"
        for number in plan.reopened
    ]
    outcome.decisions += [
        f"{subject}: killed again by this run's rules, but a person closed its last [AUTO-RETIRE] PR: "
        f"no new one before {until:%Y-%m-%d %H:%M} UTC"
        for subject, until in plan.refused_kills
    ]
    if plan.deferred:
        limit = workspace.config.promotion_prs.max_new_per_run
        named = ", ".join(describe(action) for action in plan.deferred[:5])
        more = f" and {len(plan.deferred) - 5} more" if len(plan.deferred) > 5 else ""
        outcome.decisions.append(
            f"{len(plan.deferred)} more new PR(s) wait for the next runs "
            f"(promotion_prs.max_new_per_run: {limit}): {named}{more}"
        )
    if context.dry_run:
        outcome.decisions = [f"(dry run) {describe(action)}" for action in plan.actions] + outcome.decisions
        return outcome

    with noting_done(outcome):
        observed = _with_mergers(gh, context.repository, missing_entries(records, plan.audit_entries))
        entries = _carried_out(gh, context, base_head, observed, outcome)
        executor = PlanExecutor(
            gh, context, workspace.config, review, base_head, outcome, state.heads, owned.head_of
        )
        for action in plan.actions:
            entries += executor.run(action)
        stages_now = {agent.name: agent.stage for agent in workspace.registry.agents}
        edited = hand_moves(records, stages_now, stages_before, entries)
        by_hand = _shown_on_base(gh, context, base_head, edited)
        outcome.decisions += [
            f"{entry.subject}: {entry.data['was']} → {entry.data['stage']} in agents.yaml, by a person: "
            f"recorded as {entry.event} (the LP report books it from now)"
            for entry in by_hand
        ]
        entries = [*by_hand, *entries]  # the person's edit came first: this run may kill what it reinstated
        claims, state_head = state.claims, state.head
        if executor.wrote_state:  # recorded PR heads moved the state branch: claim on its new head
            fresh = read_state(gh, context.repository, STATE_BRANCH, [EMAIL_CLAIMS_PATH])
            claims, state_head = email_claims(fresh.files.get(EMAIL_CLAIMS_PATH)), fresh.head
        # The ledger as this run will leave it: an agent whose move this run records (a merge it
        # observed, a person's edit) is where the record says, not where its stage alone puts it.
        known = [*records, *append_new(records, entries, format_ts(context.now), context.run_id)]
        due = DueEmail(context, workspace, supervision, known, claims, state_head, frozenset(standing))
        email = send_due_email(gh, due, console)
        entries += email.entries
        outcome.decisions += email.decisions
        outcome.warnings += email.warnings
        outcome.errors += email.errors

        outside = dashboard.anchors if dashboard is not None else ()
        saved = save_state(gh, context, review, entries, email.claim_changes, (*state.anchors, *outside))
        if saved.problem is not None:
            outcome.audit_ledger_broken = True
            outcome.errors.append(saved.problem)
        context_values = dashboard_context(
            review,
            [*outcome.open_promotions, *reopened_promotions(review, pulls, plan.reopened)],
            active_vetoes(
                records,
                entries,
                context.now,
                closed_unmerged={p.number for p in pulls if p.state == "closed" and not p.merged},
                cooldown=timedelta(days=workspace.config.promotion_prs.veto_cooldown_days),
            ),
            saved.ledger_head,
            saved.commit,
            standing=[record for subject, record in latest_kills(records).items() if subject in standing],
        )
        body = render_dashboard(review, context_values, context.run_link)
        number, written = upsert_issue(gh, context.repository, DASHBOARD_TITLE, body, DASHBOARD_MARKER)
        outcome.decisions.append(f"dashboard issue #{number} {written}")
    return outcome


@contextmanager
def noting_done(outcome: RollingOutcome) -> Iterator[None]:
    """A failure part-way through the run's writes (GitHub's, or a bug's) still says what the run
    did: PRs opened before it are on GitHub, and the next run takes them up (it records what is
    missing)."""
    try:
        yield
    except (Exception, KeyboardInterrupt) as exc:
        for line in outcome.decisions:
            exc.add_note(DONE_NOTE + line)
        raise


def _with_mergers(gh: GitHubClient, repository: str, entries: list[NewEntry]) -> list[NewEntry]:
    """Observed merges, not recorded yet, say who merged (``metasup``, or the person's login), as the
    entry of a merge metasup makes itself does: a person's merge, or metasup's own merge whose run
    died before recording it. One request per such PR, so only for the unrecorded ones."""
    done_events = {lifecycle.done for lifecycle in LIFECYCLES.values()}
    own = own_login(gh) if any(e.event in done_events for e in entries) else None
    out: list[NewEntry] = []
    for entry in entries:
        if entry.event in done_events and "merged_by" not in entry.data:
            login = merger_login(gh, repository, int(entry.data["pr"]))
            if login is not None:
                merged_by = "metasup" if login == own else login
                entry = entry.model_copy(update={"data": {**entry.data, "merged_by": merged_by}})
        out.append(entry)
    return out


def _carried_out(
    gh: GitHubClient,
    context: RollingContext,
    base_head: str,
    entries: list[NewEntry],
    outcome: RollingOutcome,
) -> list[NewEntry]:
    """``entries`` without the observed merges that did not make the change: a merged [AUTO-PROMOTE]
    or [AUTO-DEMOTE] PR is recorded as ``promoted``/``demoted`` only when the base's head shows the
    agent at that stage. A person who replaced metasup's change in its PR (the stage left as it
    was, other files added) and merged it made no promotion, and the audit ledger and the LP log
    must not say it did; the summary says so instead. One read, only when such a merge is new."""
    stage_of: dict[str, Stage] = {lifecycle.done: lifecycle.to_stage for lifecycle in LIFECYCLES.values()}
    if not any(entry.event in stage_of for entry in entries):
        return entries
    text = read_text(gh, context.repository, context.registry_path, base_head) or ""
    kept: list[NewEntry] = []
    for entry in entries:
        to_stage = stage_of.get(entry.event)
        if to_stage is not None and not _at_stage(text, entry.subject, to_stage):
            outcome.warnings.append(
                f"PR #{entry.data.get('pr')} was merged, but {context.registry_path} on {context.base_ref} "
                f"does not put {entry.subject} in {to_stage}: not recorded as {entry.event}"
            )
            continue
        kept.append(entry)
    return kept


def _registered_stages(snapshot: Review | None) -> dict[str, str]:
    """The previous run's stages of its registered agents (an unregistered one shows ``sandbox``)."""
    return {agent.agent: agent.stage for agent in snapshot.agents if agent.registered} if snapshot else {}


def _in_prod(stages: dict[str, str]) -> frozenset[str]:
    return frozenset(agent for agent, stage in stages.items() if stage == "prod")


def _shown_on_base(
    gh: GitHubClient, context: RollingContext, base_head: str, entries: list[NewEntry]
) -> list[NewEntry]:
    """The stage edits a person made (``hand_moves``, from this run's checkout) that the base's head
    shows too: a checkout older than the base (a queued or re-run job) is nobody's edit. One read,
    only when there is such an edit."""
    if not entries:
        return []
    text = read_text(gh, context.repository, context.registry_path, base_head) or ""
    return [
        entry
        for entry in entries
        if (
            _absent(text, entry.subject)
            if entry.data["stage"] == REMOVED
            else _at_stage(text, entry.subject, entry.data["stage"])
        )
    ]


def _absent(registry_text: str, agent: str) -> bool:
    """Whether the base's agents.yaml has no entry for ``agent`` (a person removed or renamed it)."""
    try:
        has_stage(registry_text, agent, "prod")
    except RegistryEntryMissing:
        return True
    except RegistryEditError:
        return False
    return False


def _at_stage(registry_text: str, agent: str, stage: Stage) -> bool:
    try:
        return has_stage(registry_text, agent, stage)
    except RegistryEditError:  # the agent is gone, or the file is not one metasup can read
        return False


def _verified_ledger(
    state: StateFiles, dashboard: DashboardAnchor | None
) -> tuple[list[LedgerRecord], str | None]:
    """The ledger's records when its chain is intact and it still holds every anchored record —
    the state commits' anchors, and the one the open dashboard issue recorded; else no records and
    the problem (a broken chain, or a cut or rewritten tail, or a lost or replaced state branch)."""
    problem = verify_ledger(state.audit_ledger_text)
    if problem is not None:
        return [], str(problem)
    records = parse_ledger(state.audit_ledger_text)
    cut = check_anchors(records, state.anchors)
    if cut is not None:
        return [], str(cut)
    if dashboard is None:
        return records, None
    lost = check_anchors(records, dashboard.anchors, anchored_by=f"the dashboard issue #{dashboard.issue}")
    if lost is None:
        return records, None
    commit = dashboard.state_commit
    where = f" at commit {commit}" if commit else ""
    return [], (
        f"{lost}. The {STATE_BRANCH} branch was deleted or replaced (its own history cannot show "
        f"that): restore it{where}, e.g. `git push origin {commit or '<commit>'}:refs/heads/{STATE_BRANCH}` "
        f"from a clone that has it. To start a new audit ledger on purpose, close issue #{dashboard.issue}."
    )


def _held_announced(records: list[LedgerRecord]) -> frozenset[int]:
    """PRs already held for a moved head (commented on once): ``promotion_held``/``demotion_held``."""
    return _pulls_with(records, {lifecycle.held for lifecycle in LIFECYCLES.values()})


def _ended(records: list[LedgerRecord]) -> frozenset[int]:
    """PRs the ledger records as vetoed or withdrawn: one open again was reopened by a person."""
    events = {e for lifecycle in LIFECYCLES.values() for e in (lifecycle.vetoed, lifecycle.withdrawn)}
    return _pulls_with(records, events)


def _vetoed(records: list[LedgerRecord]) -> dict[int, set[str]]:
    """PRs the ledger records as vetoed by a person (never also withdrawn by metasup), each with the
    ``closed_at`` of its veto records (a close after a reopen is a veto of its own)."""
    events = {lifecycle.vetoed for lifecycle in LIFECYCLES.values()}
    closes: dict[int, set[str]] = {}
    for record in records:
        number, closed = record.data.get("pr"), record.data.get("closed_at")
        if record.event in events and isinstance(number, int):
            closes.setdefault(number, set()).update([closed] if isinstance(closed, str) else [])
    return closes


def _pulls_with(records: list[LedgerRecord], events: Collection[str]) -> frozenset[int]:
    """The PRs (``data.pr``) of the records of ``events``."""
    return frozenset(r.data["pr"] for r in records if r.event in events and isinstance(r.data.get("pr"), int))


def registry_path_in_repo(config: Config, workspace_root: Path) -> str:
    """agents.yaml's path relative to the repository root (the workspace), for the contents API."""
    return config.registry.resolve().relative_to(workspace_root.resolve()).as_posix()
