"""Rolling mode's imperative shell: read state, verify, evaluate, run the plan, write state.

Order matters and is chosen so that a run that dies anywhere leaves nothing inconsistent:

1. read the state branch and verify the ledger — a broken chain is CRITICAL and this run
   writes nothing at all;
2. evaluate the base and plan (``rolling.plan_rolling``: pure);
3. run the PR actions (each one idempotent against what GitHub shows);
4. LP e-mail: claim the period on the state branch (compare-and-swap), send, record;
5. write snapshot, allocation and ledger in one commit, re-reading and re-applying when
   another run moved the branch;
6. upsert the dashboard issue.

Ledger entries are derived from GitHub's state each run (``rolling.observed_entries``), so a
record lost to a crash between steps 3 and 5 is written by the next run, exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from github import Github

from metasup.baseline import from_snapshot
from metasup.evaluate.retirement import kill_reason
from metasup.github import client as github_io
from metasup.github.workflow_commands import Console
from metasup.lp.email import EmailError, build_message, filter_recipients, render_charts, send_report
from metasup.lp.report import build_lp_report, due_period
from metasup.model.config import Config
from metasup.model.registry import Registry
from metasup.model.review import CLASS_SUBJECT_PREFIX, BaseInfo, Review
from metasup.render.comment import (
    DASHBOARD_MARKER,
    render_dashboard,
    render_promotion_body,
    render_retirement_body,
)
from metasup.rolling.audit_ledger import (
    LedgerCorrupt,
    LedgerRecord,
    NewEntry,
    extend_ledger_text,
    format_ts,
    has_record,
    parse_ledger,
    verify_ledger,
)
from metasup.rolling.plan import (
    PROMOTE_LABEL,
    PROMOTE_PREFIX,
    RETIRE_LABEL,
    RETIRE_PREFIX,
    WITHDRAWN_LABEL,
    MergePromotion,
    OpenPromotion,
    OpenRetirement,
    PullState,
    RefreshPromotion,
    RollingPlan,
    WithdrawPromotion,
    branch_slug,
    find_agent,
    find_class,
    plan_rolling,
    retire_branch,
)
from metasup.rolling.registry_edit import kill_strategy_class, retire_agent, set_agent_stage
from metasup.runner import Workspace, evaluate

STATE_BRANCH = "metasup-state"
LEDGER_PATH = "ledger.jsonl"
ALLOCATION_PATH = "allocation.json"
EMAIL_CLAIMS_PATH = "email-claims.json"
DASHBOARD_TITLE = "Meta-Supervisor dashboard"
STATE_WRITE_ATTEMPTS = 5


def snapshot_path(ref: str) -> str:
    return f"snapshots/{branch_slug(ref)}.json"


@dataclass(frozen=True)
class RollingContext:
    """What the shell needs besides the client: plain values from the action settings."""

    repository: str
    base_ref: str
    registry_path: str
    run_id: str
    run_link: str
    now: datetime
    as_of: pd.Timestamp | None
    dry_run: bool
    environ: Mapping[str, str]


@dataclass
class RollingOutcome:
    review: Review
    plan: RollingPlan
    promote_prs: list[int] = field(default_factory=list)
    open_promotions: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ledger_broken: bool = False


def run_rolling(
    workspace: Workspace, gh: Github, context: RollingContext, console: Console
) -> RollingOutcome:
    state = github_io.read_state(
        gh,
        context.repository,
        STATE_BRANCH,
        [LEDGER_PATH, snapshot_path(context.base_ref), EMAIL_CLAIMS_PATH],
    )
    ledger_text = state.files.get(LEDGER_PATH, "")
    problem = verify_ledger(ledger_text)
    records = [] if problem is not None else parse_ledger(ledger_text)
    pulls = (
        []
        if problem is not None
        else github_io.list_pull_states(gh, context.repository, (PROMOTE_PREFIX, RETIRE_PREFIX))
    )
    previous = from_snapshot(state.files.get(snapshot_path(context.base_ref)), context.base_ref)
    review = evaluate(
        workspace,
        context.as_of,
        previous.review if previous else None,
        run_id=context.run_id,
        base=BaseInfo(ref=context.base_ref, source="snapshot" if previous else "none"),
        ledger_problem=None if problem is None else str(problem),
        standing_kills=kills_in_force(records, pulls, workspace.registry),
    )
    if problem is not None:
        return RollingOutcome(review, RollingPlan(), ledger_broken=True, errors=[str(problem)])

    base_head = github_io.branch_head(gh, context.repository, context.base_ref)
    if base_head is None:
        raise github_io.GitHubIOError(f"base branch {context.base_ref} not found in {context.repository}")
    plan = plan_rolling(review, workspace.registry, pulls, context.now, base_head, workspace.config)
    outcome = RollingOutcome(review, plan)
    if context.dry_run:
        outcome.decisions = [f"(dry run) {describe(action)}" for action in plan.actions]
        return outcome

    entries = list(plan.ledger)
    executor = _Executor(gh, context, workspace.config, review, base_head, outcome)
    for action in plan.actions:
        entries += executor.run(action)
    claims = json.loads(state.files.get(EMAIL_CLAIMS_PATH, "{}"))
    claim_changes: dict[str, str | None] = {}
    entries += _send_due_email(
        gh, context, workspace, review, records, claims, claim_changes, state.head, outcome, console
    )

    _write_state(gh, context, review, entries, claim_changes, outcome)
    context_values = dashboard_context(
        review, outcome.open_promotions, active_vetoes(records, entries, context.now)
    )
    dashboard = render_dashboard(review, context_values, context.run_link)
    number, written = github_io.upsert_issue(
        gh, context.repository, DASHBOARD_TITLE, dashboard, DASHBOARD_MARKER
    )
    outcome.decisions.append(f"dashboard issue #{number} {written}")
    return outcome


def kills_in_force(records: list[LedgerRecord], pulls: list[PullState], registry: Registry) -> set[str]:
    """Subjects killed by earlier runs that stay excluded (SPEC §3.4: until the registry says otherwise).

    A kill is lifted when a person closes its [AUTO-RETIRE] PR unmerged, or when the registry
    entry changed since the kill (its ``stage``/``status`` differs from the one recorded then —
    a merged retire PR makes it ``retired``/``killed``, which excludes it anyway).
    """
    refused = {p.branch for p in pulls if p.state == "closed" and not p.merged}
    kept: set[str] = set()
    for record in records:
        if record.event != "killed" or retire_branch(record.subject) in refused:
            continue
        now: str | None
        if record.subject.startswith(CLASS_SUBJECT_PREFIX):
            klass = registry.strategy_class(record.subject.removeprefix(CLASS_SUBJECT_PREFIX))
            now = klass.status if klass is not None else None
        else:
            agent = registry.agent(record.subject)
            now = agent.stage if agent is not None else None
        if now is not None and now == record.data.get("registry"):
            kept.add(record.subject)
    return kept


def describe(action: object) -> str:
    if isinstance(action, OpenPromotion):
        return f"open [AUTO-PROMOTE] PR for {action.agent}"
    if isinstance(action, RefreshPromotion):
        held = " (held: changes requested)" if action.held else ""
        return f"refresh [AUTO-PROMOTE] PR #{action.pull} for {action.agent}{held}"
    if isinstance(action, MergePromotion):
        return f"merge [AUTO-PROMOTE] PR #{action.pull} for {action.agent}"
    if isinstance(action, WithdrawPromotion):
        return f"close [AUTO-PROMOTE] PR #{action.pull} for {action.agent}: {action.reason}"
    if isinstance(action, OpenRetirement):
        return f"open [AUTO-RETIRE] PR for {action.subject}"
    return repr(action)


class _Executor:
    """Runs one planned action against GitHub and returns the ledger entries it produced."""

    def __init__(
        self,
        gh: Github,
        context: RollingContext,
        config: Config,
        review: Review,
        base_head: str,
        outcome: RollingOutcome,
    ) -> None:
        self.gh, self.context, self.config, self.review = gh, context, config, review
        self.base_head, self.outcome = base_head, outcome
        self._registry_text: str | None = None

    def registry_text(self) -> str:
        if self._registry_text is None:
            text = github_io.read_text(
                self.gh, self.context.repository, self.context.registry_path, self.base_head
            )
            if text is None:
                raise github_io.GitHubIOError(
                    f"{self.context.registry_path} not found on {self.context.base_ref}: "
                    "cannot open registry PRs"
                )
            self._registry_text = text
        return self._registry_text

    def run(self, action: object) -> list[NewEntry]:
        self.outcome.decisions.append(describe(action))
        if isinstance(action, OpenPromotion):
            return self._open_promotion(action)
        if isinstance(action, RefreshPromotion):
            return self._refresh_promotion(action)
        if isinstance(action, MergePromotion):
            return self._merge(action)
        if isinstance(action, WithdrawPromotion):
            return self._withdraw(action)
        if isinstance(action, OpenRetirement):
            return self._open_retirement(action)
        return []

    def _promotion_body(self, agent_name: str, held: bool = False) -> str:
        agent = find_agent(self.review, agent_name)
        assert agent is not None  # the planner only plans for agents of this review
        return render_promotion_body(
            agent, self.review, self.config, branch_slug(agent_name), self.context.run_link, held
        )

    def _push_promotion(self, agent: str, branch: str) -> None:
        text = set_agent_stage(self.registry_text(), agent, "prod")
        github_io.push_branch(
            self.gh,
            self.context.repository,
            branch,
            self.base_head,
            self.context.registry_path,
            text,
            f"Promote {agent}: sandbox → prod\n\nProposed by metasup run {self.context.run_id}.",
        )

    def _open_promotion(self, action: OpenPromotion) -> list[NewEntry]:
        self._push_promotion(action.agent, action.branch)
        number, _ = github_io.open_pull(
            self.gh,
            self.context.repository,
            action.branch,
            self.context.base_ref,
            f"[AUTO-PROMOTE] {action.agent}: sandbox → prod",
            self._promotion_body(action.agent),
            PROMOTE_LABEL,
        )
        self.outcome.promote_prs.append(number)
        self.outcome.open_promotions.append({"number": number, "agent": action.agent, "held": False})
        return [
            NewEntry(
                event="promotion_proposed",
                subject=action.agent,
                data={"pr": number},
                dedupe_key=f"pr#{number}",
            )
        ]

    def _refresh_promotion(self, action: RefreshPromotion) -> list[NewEntry]:
        if action.rebase:
            self._push_promotion(action.agent, action.branch)
        github_io.update_pull_body(
            self.gh, self.context.repository, action.pull, self._promotion_body(action.agent, action.held)
        )
        self.outcome.promote_prs.append(action.pull)
        self.outcome.open_promotions.append(
            {"number": action.pull, "agent": action.agent, "held": action.held}
        )
        return []

    def _merge(self, action: MergePromotion) -> list[NewEntry]:
        message = f"Promote {action.agent}: sandbox → prod (metasup run {self.context.run_id})"
        if not github_io.merge_pull(self.gh, self.context.repository, action.pull, message):
            self.outcome.decisions.append(f"PR #{action.pull} is not mergeable yet; will retry next run")
            return []
        return [
            NewEntry(
                event="promoted",
                subject=action.agent,
                data={"pr": action.pull, "merged_by": "metasup"},
                dedupe_key=f"pr#{action.pull}",
            )
        ]

    def _withdraw(self, action: WithdrawPromotion) -> list[NewEntry]:
        comment = (
            f"metasup closed this PR: the promotion gates of **{action.agent}** no longer pass "
            f"(run {self.context.run_link}).\n\nFailing: {action.reason}"
        )
        github_io.close_pull(self.gh, self.context.repository, action.pull, comment, WITHDRAWN_LABEL)
        return [
            NewEntry(
                event="promotion_withdrawn",
                subject=action.agent,
                data={"pr": action.pull, "reason": action.reason},
                dedupe_key=f"pr#{action.pull}",
            )
        ]

    def _open_retirement(self, action: OpenRetirement) -> list[NewEntry]:
        if action.subject.startswith(CLASS_SUBJECT_PREFIX):
            name = action.subject.removeprefix(CLASS_SUBJECT_PREFIX)
            klass = find_class(self.review, name)
            assert klass is not None
            text, kind, retirement = (
                kill_strategy_class(self.registry_text(), name, action.reason),
                "strategy class",
                klass.retirement,
            )
        else:
            name = action.subject
            agent = find_agent(self.review, name)
            assert agent is not None
            text, kind, retirement = (
                retire_agent(self.registry_text(), name, action.reason),
                "agent",
                agent.retirement,
            )
        github_io.push_branch(
            self.gh,
            self.context.repository,
            action.branch,
            self.base_head,
            self.context.registry_path,
            text,
            f"Retire {kind} {name}\n\n{action.reason}",
        )
        body = render_retirement_body(
            name, kind, retirement, action.reason, self.review, self.config, self.context.run_link
        )
        github_io.open_pull(
            self.gh,
            self.context.repository,
            action.branch,
            self.context.base_ref,
            f"[AUTO-RETIRE] {name}",
            body,
            RETIRE_LABEL,
        )
        return []


def _send_due_email(
    gh: Github,
    context: RollingContext,
    workspace: Workspace,
    review: Review,
    records: list[LedgerRecord],
    claims: dict[str, str],
    claim_changes: dict[str, str | None],
    state_head: str | None,
    outcome: RollingOutcome,
    console: Console,
) -> list[NewEntry]:
    """Send the LP e-mail at most once per period: claim on the state branch, send, record.

    The claim is a compare-and-swap write, so of two racing runs only one sends. A failed
    send releases the claim (``claim_changes[key] = None``) so a later run can try again;
    a run that dies between claim and send leaves the claim, and the period is not sent
    twice (at most once, by design: an LP must never get the same report twice).
    """
    email = workspace.config.email
    as_of = pd.Timestamp(review.as_of)
    period = due_period(as_of, email.cadence, email.weekday)
    if period is None or not email.to:
        return []
    if has_record(records, "email_sent", period.key) or period.key in claims:
        return []
    allowed, dropped = filter_recipients(email.to, email.whitelist)
    for address in dropped:
        console.command("warning", f"LP e-mail: {address} is not in email.whitelist and gets nothing")
    if not allowed:
        outcome.decisions.append(f"LP e-mail {period.key}: no whitelisted recipient, nothing sent")
        return []
    claimed = {**claims, period.key: context.run_id}
    try:
        github_io.write_state(
            gh,
            context.repository,
            STATE_BRANCH,
            {EMAIL_CLAIMS_PATH: json.dumps(claimed, indent=2, sort_keys=True)},
            state_head,
        )
    except github_io.StateMoved:
        outcome.decisions.append(f"LP e-mail {period.key}: another run is handling it")
        return []
    claim_changes[period.key] = context.run_id
    try:
        report = build_lp_report(
            workspace.artifacts, workspace.config, review, as_of, period, [r.fields() for r in records]
        )
        message = build_message(report, render_charts(report), email, allowed)
        result = send_report(message, email.smtp, context.environ)
    except EmailError as exc:
        claim_changes[period.key] = None
        outcome.errors.append(f"LP e-mail {period.key} not sent: {exc}")
        return []
    if not result.sent:
        claim_changes[period.key] = None
        outcome.decisions.append(f"LP e-mail {period.key}: {result.reason}")
        return []
    outcome.decisions.append(f"LP e-mail {period.key} sent to {len(result.recipients)} recipient(s)")
    return [
        NewEntry(
            event="email_sent",
            subject="lp_report",
            data={
                "period": period.key,
                "recipients": len(result.recipients),
                "message_id": result.message_id,
            },
            dedupe_key=period.key,
        )
    ]


def _write_state(
    gh: Github,
    context: RollingContext,
    review: Review,
    entries: list[NewEntry],
    claim_changes: dict[str, str | None],
    outcome: RollingOutcome,
) -> None:
    """Snapshot, allocation, ledger and claims in one commit; on a moved ref, re-read and re-apply."""
    ts = format_ts(context.now)
    for _ in range(STATE_WRITE_ATTEMPTS):
        state = github_io.read_state(gh, context.repository, STATE_BRANCH, [LEDGER_PATH, EMAIL_CLAIMS_PATH])
        try:
            ledger = extend_ledger_text(state.files.get(LEDGER_PATH, ""), entries, ts, context.run_id)
        except LedgerCorrupt as exc:
            outcome.ledger_broken = True
            outcome.errors.append(str(exc))
            return
        fresh_claims = json.loads(state.files.get(EMAIL_CLAIMS_PATH, "{}"))
        for key, holder in claim_changes.items():
            if holder is None:
                fresh_claims.pop(key, None)
            else:
                fresh_claims[key] = holder
        files = {
            snapshot_path(context.base_ref): review.to_json() + "\n",
            ALLOCATION_PATH: review.allocation.model_dump_json(indent=2) + "\n",
            LEDGER_PATH: ledger,
            EMAIL_CLAIMS_PATH: json.dumps(fresh_claims, indent=2, sort_keys=True),
        }
        try:
            github_io.write_state(gh, context.repository, STATE_BRANCH, files, state.head)
        except github_io.StateMoved:
            continue
        return
    raise github_io.GitHubIOError(
        f"state branch {STATE_BRANCH} kept moving; gave up after {STATE_WRITE_ATTEMPTS} tries"
    )


def active_vetoes(
    records: list[LedgerRecord], entries: list[NewEntry], now: datetime
) -> list[dict[str, Any]]:
    """Vetoes whose cooldown has not run out, from the ledger and this run's new entries."""
    vetoes: dict[tuple[str, object], dict[str, Any]] = {}
    for event, subject, data in [(r.event, r.subject, r.data) for r in records] + [
        (e.event, e.subject, e.data) for e in entries
    ]:
        until = data.get("cooldown_until")
        if event == "vetoed" and isinstance(until, str) and datetime.fromisoformat(until) > now:
            vetoes[(subject, data.get("pr"))] = {"agent": subject, "pull": data.get("pr"), "expires": until}
    return list(vetoes.values())


def dashboard_context(
    review: Review, open_promotions: list[dict[str, Any]], vetoes: list[dict[str, Any]]
) -> dict[str, Any]:
    stages: dict[str, list[str]] = {}
    for agent in review.agents:
        stages.setdefault(agent.stage, []).append(agent.agent)
    kills = [
        {"subject": f"class {c.name}", "reason": kill_reason(c.retirement)}
        for c in review.strategy_classes
        if c.retirement.kill
    ]
    kills += [
        {"subject": a.agent, "reason": kill_reason(a.retirement)} for a in review.agents if a.retirement.kill
    ]
    return {
        "stages": sorted(stages.items()),
        "open_promotions": open_promotions,
        "vetoes": vetoes,
        "kills": kills,
    }


def registry_path_in_repo(config: Config, workspace_root: Path) -> str:
    """agents.yaml's path relative to the repository root (the workspace), for the contents API."""
    return config.registry.resolve().relative_to(workspace_root.resolve()).as_posix()
