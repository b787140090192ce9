"""Runs a rolling plan's pull-request actions against GitHub, each idempotent against what GitHub shows."""

from __future__ import annotations

from typing import assert_never

from metasup.github import (
    BranchNotOurs,
    GitHubClient,
    GitHubIOError,
    HeadMoved,
    MergedMeanwhile,
    NotMergeable,
    OpenedPull,
    PullRetargeted,
    Refused,
    branch_head,
    close_pull,
    commit_change,
    is_exact_change,
    label_pull,
    merge_pull,
    open_or_find_pull,
    own_login,
    point_branch,
    pull_shows_head,
    read_text,
    update_pull_body,
    upsert_comment,
)
from metasup.model.config import Config
from metasup.model.pulls import account_name
from metasup.model.review import CLASS_SUBJECT_PREFIX, Retirement, Review
from metasup.render.bodies import (
    render_held_comment,
    render_retirement_body,
    render_stage_change_body,
    render_withdrawal_comment,
)
from metasup.render.filters import plain_line
from metasup.rolling.audit_ledger import NewEntry
from metasup.rolling.context import RollingContext, RollingOutcome
from metasup.rolling.dashboard import ListedPromotion
from metasup.rolling.lifecycle import LIFECYCLES, RETIRE_LABEL, WITHDRAWN_LABEL, Kind, Lifecycle
from metasup.rolling.ownership import RecordedHeads
from metasup.rolling.plan import (
    Action,
    HoldMovedPull,
    LabelPull,
    MergeStageChange,
    OpenStageChange,
    RefreshStageChange,
    WithdrawStageChange,
    describe,
    find_agent,
    find_class,
    pull_key,
)
from metasup.rolling.registry_edit import (
    RegistryEditError,
    RegistryEntryMissing,
    Section,
    class_is_killed,
    has_stage,
    kill_reason_of,
    kill_strategy_class,
    retire_agent,
    set_agent_stage,
)
from metasup.rolling.retirements import OpenRetirement, RefreshRetirement
from metasup.rolling.slugs import branch_slug
from metasup.rolling.state import read_recorded_heads, record_head

HELD_MARKER = "<!-- metasup:head-moved -->"


class PlanExecutor:
    """Runs one planned action against GitHub and returns the audit-ledger entries it produced.

    What it did goes into ``outcome``: the decision line, promote PR numbers, listed promote and
    demote PRs. Promote and demote PRs share every step; their :class:`Lifecycle` says what differs.
    """

    def __init__(
        self,
        gh: GitHubClient,
        context: RollingContext,
        config: Config,
        review: Review,
        base_head: str,
        outcome: RollingOutcome,
        heads: RecordedHeads,
        pull_heads: dict[int, str],
    ) -> None:
        """``heads``: the commits metasup recorded per branch; ``pull_heads``: the head commit of each
        of metasup's own PRs as listed (each one a recorded commit)."""
        self.gh, self.context, self.config, self.review = gh, context, config, review
        self.base_head, self.outcome = base_head, outcome
        self.heads, self.pull_heads = heads, dict(pull_heads)
        self.wrote_state = False
        self._registry_text: str | None = None
        self.merged_here = False
        """A merge of this run moved the base: later merges re-cut on its new head first."""

    def registry_text(self) -> str:
        if self._registry_text is None:
            text = read_text(self.gh, self.context.repository, self.context.registry_path, self.base_head)
            if text is None:
                raise GitHubIOError(
                    f"{self.context.registry_path} not found on {self.context.base_ref}: "
                    "cannot open registry PRs"
                )
            self._registry_text = text
        return self._registry_text

    def run(self, action: Action) -> list[NewEntry]:
        """The action's audit-ledger entries. A refused call (a permission, a 422) is this run's
        error, a subject gone from agents.yaml a warning: the other actions, state, summary go on."""
        self.outcome.decisions.append(describe(action))
        try:
            return self._run(action)
        except Refused as exc:
            if str(exc) not in self.outcome.errors:
                self.outcome.errors.append(str(exc))
            return []
        except (BranchNotOurs, RegistryEntryMissing) as exc:  # a subject renamed or removed by a person
            self.outcome.warnings.append(f"{describe(action)}: not done: {exc}")
            return []

    def _run(self, action: Action) -> list[NewEntry]:
        if isinstance(action, HoldMovedPull):
            return self._hold(action)
        if isinstance(action, OpenStageChange):
            return self._open_promotion(action)
        if isinstance(action, RefreshStageChange):
            return self._refresh_promotion(action)
        if isinstance(action, MergeStageChange):
            return self._merge(action)
        if isinstance(action, WithdrawStageChange):
            return self._withdraw(action)
        if isinstance(action, OpenRetirement):
            return self._open_retirement(action)
        if isinstance(action, RefreshRetirement):
            return self._refresh_retirement(action)
        if isinstance(action, LabelPull):
            label_pull(self.gh, self.context.repository, action.pull, action.label)
            return []
        assert_never(action)

    def _body(self, lifecycle: Lifecycle, agent_name: str, held: bool = False) -> str:
        agent = find_agent(self.review, agent_name)
        assert agent is not None  # the planner only plans for agents of this review
        slug = branch_slug(agent_name)
        return render_stage_change_body(
            lifecycle.kind, agent, self.review, self.config, slug, self.context.run_link, held
        )

    def _message(self, lifecycle: Lifecycle, agent: str) -> str:
        verb = "Promote" if lifecycle.kind == "promote" else "Demote"
        return f"{verb} {plain_line(agent)}: {lifecycle.from_stage} → {lifecycle.to_stage}"

    def _push(self, branch: str, text: str, message: str) -> str:
        """Push one registry commit to ``branch``, recorded on the state branch as metasup's first.
        Recorded before the branch moves: a run that dies between the two leaves a recorded commit
        no branch shows (harmless), never a branch head metasup wrote but did not record — which
        the next run would have to treat as someone else's push and hold.
        """
        repository = self.context.repository
        sha = commit_change(self.gh, repository, self.base_head, self.context.registry_path, text, message)
        self.heads = record_head(self.gh, repository, branch, sha)
        self.wrote_state = True
        point_branch(self.gh, repository, branch, sha, lambda head: self._recorded(branch, head))
        return sha

    def _recorded(self, branch: str, sha: str) -> bool:
        """Whether metasup wrote ``sha`` on ``branch``: in its records, or — re-read once — in
        those of a run that overlapped this one."""
        if self.heads.recorded_for(branch, sha) == sha:
            return True
        self.heads = read_recorded_heads(self.gh, self.context.repository)
        return self.heads.recorded_for(branch, sha) == sha

    def _push_stage_change(self, lifecycle: Lifecycle, agent: str, branch: str) -> str:
        text = self._stage_change(lifecycle, agent)
        message = f"{self._message(lifecycle, agent)}\n\nProposed by metasup run {self.context.run_id}."
        return self._push(branch, text, message)

    def _stage_change(self, lifecycle: Lifecycle, agent: str) -> str:
        """The registry text of the base with ``agent`` moved to the lifecycle's stage."""
        return set_agent_stage(self.registry_text(), agent, lifecycle.to_stage)

    def _open(self, branch: str, title: str, body: str, label: str) -> OpenedPull | None:
        """Open the PR, or adopt the one already open for ``branch`` when it is provably metasup's;
        None (and a warning naming it) when that one is someone else's."""
        opened = open_or_find_pull(
            self.gh, self.context.repository, branch, self.context.base_ref, title, body, label
        )
        facts = opened.facts
        if opened.created or facts is None:
            return opened
        login = own_login(self.gh)
        if facts.is_metasups(login, self.heads.recorded_for(branch, facts.head_sha), self.context.base_ref):
            self.outcome.decisions.append(f"adopted metasup's open PR #{opened.number} for {branch}")
            if label not in facts.state.labels:
                label_pull(self.gh, self.context.repository, opened.number, label)
            return opened
        self.outcome.warnings.append(
            f"PR #{opened.number} ({branch}) by {account_name(facts.author_login)} is already open "
            "and is not metasup's; left alone"
        )
        return None

    def _listed(self, number: int, agent: str, held: bool, kind: Kind) -> None:
        if kind == "promote":
            self.outcome.promote_prs.append(number)
        self.outcome.open_promotions.append(ListedPromotion(number, agent, held, kind))

    def _already_on_base(self, what: str) -> list[NewEntry]:
        self.outcome.decisions.append(
            f"{what} on {self.context.base_ref} already (this run's checkout is older): no PR"
        )
        return []

    def _open_promotion(self, action: OpenStageChange) -> list[NewEntry]:
        lifecycle = LIFECYCLES[action.kind]
        if has_stage(self.registry_text(), action.agent, lifecycle.to_stage):
            return self._already_on_base(f"{action.agent} is {lifecycle.to_stage}")
        self._push_stage_change(lifecycle, action.agent, action.branch)
        opened = self._open(
            action.branch, lifecycle.title(action.agent), self._body(lifecycle, action.agent), lifecycle.label
        )
        if opened is None:
            return []
        number = opened.number
        self._listed(number, action.agent, False, action.kind)
        return [
            NewEntry(
                event=lifecycle.proposed,
                subject=action.agent,
                data={"pr": number},
                dedupe_key=pull_key(number),
            )
        ]

    def _refresh_promotion(self, action: RefreshStageChange) -> list[NewEntry]:
        lifecycle = LIFECYCLES[action.kind]
        if action.rebase:
            self._push_stage_change(lifecycle, action.agent, action.branch)
        update_pull_body(
            self.gh,
            self.context.repository,
            action.pull,
            self._body(lifecycle, action.agent, action.held),
        )
        self._listed(action.pull, action.agent, action.held, action.kind)
        return []

    def _not_caught_up(self, number: int) -> list[NewEntry]:
        """GitHub still shows metasup's previous commit as the PR's head (it moves a PR's head
        seconds after its branch): not a person's push, so not held; the next run merges."""
        self.outcome.decisions.append(
            f"PR #{number}: GitHub has not caught up with metasup's push yet; merging next run"
        )
        return []

    def _merge(self, action: MergeStageChange) -> list[NewEntry]:
        """Merge only metasup's exact change: a recorded head that is not, byte for byte, the edit
        metasup makes on the base head (records can be edited by anyone who can push) is re-cut."""
        lifecycle = LIFECYCLES[action.kind]
        repository, branch = self.context.repository, lifecycle.branch(action.agent)
        expected = self.pull_heads[action.pull]
        rebase = action.rebase or self.merged_here
        if not rebase:
            change = {self.context.registry_path: self._stage_change(lifecycle, action.agent)}
            rebase = not is_exact_change(self.gh, repository, expected, self.base_head, change)
            if rebase:
                self.outcome.warnings.append(
                    f"PR #{action.pull} ({branch}): its head {expected[:12]} is not the change metasup "
                    "makes, though recorded as metasup's; re-cut with metasup's change before merging"
                )
        try:
            if rebase:
                expected = self._push_stage_change(lifecycle, action.agent, branch)
                if not pull_shows_head(self.gh, repository, action.pull, expected):
                    return self._not_caught_up(action.pull)
            message = f"{self._message(lifecycle, action.agent)} (metasup run {self.context.run_id})"
            merged = merge_pull(
                self.gh,
                repository,
                action.pull,
                message,
                expected_head_sha=expected,
                expected_base=self.context.base_ref,
            )
        except HeadMoved as exc:
            if exc.actual is not None and self.heads.recorded_for(branch, exc.actual) == exc.actual:
                return self._not_caught_up(action.pull)  # metasup's own older commit, not a person's
            return self._hold(HoldMovedPull(action.agent, action.pull, action.kind))
        except BranchNotOurs:
            return self._hold(HoldMovedPull(action.agent, action.pull, action.kind))
        except PullRetargeted as exc:
            self.outcome.warnings.append(f"{exc}; not merged (metasup merges only into {exc.expected})")
            return []
        except NotMergeable as exc:  # GitHub's reason said each run: some need a person (squash disabled)
            self.outcome.warnings.append(f"{exc}; metasup tries again next run")
            return []
        except MergedMeanwhile as exc:  # the next run records it as the person's (plan.observed_entries)
            self.outcome.decisions.append(f"{exc}; the next run records it")
            return []
        if not merged:
            self.outcome.decisions.append(f"PR #{action.pull} is not mergeable yet; will retry next run")
            return []
        self._base_moved()
        return [
            NewEntry(
                event=lifecycle.done,
                subject=action.agent,
                data={"pr": action.pull, "merged_by": "metasup"},
                dedupe_key=pull_key(action.pull),
            )
        ]

    def _base_moved(self) -> None:
        """After a merge, the next registry change is made on the base's new head: each PR metasup
        merges is then its exact change on the base it lands on (as a PR re-cut by a later run
        would be), and one run merges every PR that is due, not one."""
        head = branch_head(self.gh, self.context.repository, self.context.base_ref)
        if head is not None:
            self.base_head, self._registry_text, self.merged_here = head, None, True

    def _hold(self, action: HoldMovedPull) -> list[NewEntry]:
        """Say once, on the PR, that its head moved and it is a person's to merge; record it as held."""
        lifecycle = LIFECYCLES[action.kind]
        comment = render_held_comment(HELD_MARKER, self.context.run_link)
        upsert_comment(self.gh, self.context.repository, action.pull, comment, HELD_MARKER)
        self.outcome.warnings.append(
            f"PR #{action.pull} ({lifecycle.branch(action.agent)}): its head moved; "
            "held for a person to merge"
        )
        return [
            NewEntry(
                event=lifecycle.held,
                subject=action.agent,
                data={"pr": action.pull},
                dedupe_key=pull_key(action.pull),
            )
        ]

    def _withdraw(self, action: WithdrawStageChange) -> list[NewEntry]:
        lifecycle = LIFECYCLES[action.kind]
        comment = render_withdrawal_comment(action.kind, action.agent, action.reason, self.context.run_link)
        close_pull(self.gh, self.context.repository, action.pull, comment, WITHDRAWN_LABEL)
        return [
            NewEntry(
                event=lifecycle.withdrawn,
                subject=action.agent,
                data={"pr": action.pull, "reason": action.reason},
                dedupe_key=pull_key(action.pull),
            )
        ]

    def _open_retirement(self, action: OpenRetirement) -> list[NewEntry]:
        change = self._retirement_change(action.subject, action.reason)
        if isinstance(change, str):
            return self._already_on_base(change)
        name, kind, text, retirement = change
        self._push(action.branch, text, self._retirement_message(name, kind, action.reason))
        body = render_retirement_body(
            name, kind, retirement, action.reason, self.review, self.config, self.context.run_link
        )
        self._open(action.branch, f"[AUTO-RETIRE] {plain_line(name)}", body, RETIRE_LABEL)
        return [] if action.entry is None else [action.entry]

    def _refresh_retirement(self, action: RefreshRetirement) -> list[NewEntry]:
        """Re-cut the open retire PR on the base's new head (the same change, on what people merged
        since), so that it stays mergeable; nothing when the base already records the kill."""
        reason = action.reason or self._reason_on_branch(action)
        change = self._retirement_change(action.subject, reason)
        if isinstance(change, str):
            return self._already_on_base(change)
        name, kind, text, _ = change
        self._push(action.branch, text, self._retirement_message(name, kind, reason))
        return []

    def _reason_on_branch(self, action: RefreshRetirement) -> str:
        """The ``kill_reason`` the PR's branch holds: the re-cut of a PR whose kill neither this run
        decided nor the ledger records (the run that opened it stopped before saving) keeps it."""
        text = read_text(self.gh, self.context.repository, self.context.registry_path, action.branch)
        subject = action.subject
        section: Section = "strategy_classes" if subject.startswith(CLASS_SUBJECT_PREFIX) else "agents"
        name = subject.removeprefix(CLASS_SUBJECT_PREFIX) if section == "strategy_classes" else subject
        try:
            found = None if text is None else kill_reason_of(text, section, name)
        except RegistryEditError:
            found = None
        return found or f"see [AUTO-RETIRE] PR #{action.pull}"

    def _retirement_message(self, name: str, kind: str, reason: str) -> str:
        return f"Retire {kind} {plain_line(name)}\n\n{plain_line(reason)}"

    def _retirement_change(self, subject: str, reason: str) -> tuple[str, str, str, Retirement] | str:
        """(name, kind, the base's registry text with the kill, the rules that fired), or what the
        base already says when it records the kill."""
        if subject.startswith(CLASS_SUBJECT_PREFIX):
            name = subject.removeprefix(CLASS_SUBJECT_PREFIX)
            if class_is_killed(self.registry_text(), name):
                return f"strategy class {name} is killed"
            klass = find_class(self.review, name)
            assert klass is not None
            return (
                name,
                "strategy class",
                kill_strategy_class(self.registry_text(), name, reason),
                klass.retirement,
            )
        if has_stage(self.registry_text(), subject, "retired"):
            return f"{subject} is retired"
        agent = find_agent(self.review, subject)
        assert agent is not None
        return subject, "agent", retire_agent(self.registry_text(), subject, reason), agent.retirement
