"""Runs a rolling plan's pull-request actions against GitHub, each idempotent against what GitHub shows."""

from __future__ import annotations

from typing import assert_never

from metasup.github import (
    GitHubClient,
    GitHubIOError,
    close_pull,
    merge_pull,
    open_pull,
    push_branch,
    read_text,
    update_pull_body,
)
from metasup.model.config import Config
from metasup.model.review import CLASS_SUBJECT_PREFIX, Review
from metasup.render.bodies import render_demotion_body, render_promotion_body, render_retirement_body
from metasup.rolling.audit_ledger import NewEntry
from metasup.rolling.context import RollingContext, RollingOutcome
from metasup.rolling.dashboard import ListedPromotion
from metasup.rolling.plan import (
    LIFECYCLES,
    RETIRE_LABEL,
    WITHDRAWN_LABEL,
    Action,
    Kind,
    Lifecycle,
    MergePromotion,
    OpenPromotion,
    OpenRetirement,
    RefreshPromotion,
    WithdrawPromotion,
    branch_slug,
    describe,
    find_agent,
    find_class,
    pull_key,
)
from metasup.rolling.registry_edit import kill_strategy_class, retire_agent, set_agent_stage


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
    ) -> None:
        self.gh, self.context, self.config, self.review = gh, context, config, review
        self.base_head, self.outcome = base_head, outcome
        self._registry_text: str | None = None

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
        assert_never(action)

    def _body(self, lifecycle: Lifecycle, agent_name: str, held: bool = False) -> str:
        agent = find_agent(self.review, agent_name)
        assert agent is not None  # the planner only plans for agents of this review
        render = render_promotion_body if lifecycle.kind == "promote" else render_demotion_body
        return render(agent, self.review, self.config, branch_slug(agent_name), self.context.run_link, held)

    def _message(self, lifecycle: Lifecycle, agent: str) -> str:
        verb = "Promote" if lifecycle.kind == "promote" else "Demote"
        return f"{verb} {agent}: {lifecycle.from_stage} → {lifecycle.to_stage}"

    def _push_stage_change(self, lifecycle: Lifecycle, agent: str, branch: str) -> None:
        text = set_agent_stage(self.registry_text(), agent, lifecycle.to_stage)
        push_branch(
            self.gh,
            self.context.repository,
            branch,
            self.base_head,
            self.context.registry_path,
            text,
            f"{self._message(lifecycle, agent)}\n\nProposed by metasup run {self.context.run_id}.",
        )

    def _listed(self, number: int, agent: str, held: bool, kind: Kind) -> None:
        if kind == "promote":
            self.outcome.promote_prs.append(number)
        self.outcome.open_promotions.append(ListedPromotion(number, agent, held, kind))

    def _open_promotion(self, action: OpenPromotion) -> list[NewEntry]:
        lifecycle = LIFECYCLES[action.kind]
        self._push_stage_change(lifecycle, action.agent, action.branch)
        number, _ = open_pull(
            self.gh,
            self.context.repository,
            action.branch,
            self.context.base_ref,
            lifecycle.title(action.agent),
            self._body(lifecycle, action.agent),
            lifecycle.label,
        )
        self._listed(number, action.agent, False, action.kind)
        return [
            NewEntry(
                event=lifecycle.proposed,
                subject=action.agent,
                data={"pr": number},
                dedupe_key=pull_key(number),
            )
        ]

    def _refresh_promotion(self, action: RefreshPromotion) -> list[NewEntry]:
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

    def _merge(self, action: MergePromotion) -> list[NewEntry]:
        lifecycle = LIFECYCLES[action.kind]
        if action.rebase:
            self._push_stage_change(lifecycle, action.agent, lifecycle.branch(action.agent))
        message = f"{self._message(lifecycle, action.agent)} (metasup run {self.context.run_id})"
        if not merge_pull(self.gh, self.context.repository, action.pull, message):
            self.outcome.decisions.append(f"PR #{action.pull} is not mergeable yet; will retry next run")
            return []
        return [
            NewEntry(
                event=lifecycle.done,
                subject=action.agent,
                data={"pr": action.pull, "merged_by": "metasup"},
                dedupe_key=pull_key(action.pull),
            )
        ]

    def _withdraw(self, action: WithdrawPromotion) -> list[NewEntry]:
        lifecycle = LIFECYCLES[action.kind]
        if lifecycle.kind == "promote":
            what, detail = f"the promotion gates of **{action.agent}** no longer pass", "Failing"
        else:
            what, detail = f"the demotion rule no longer fires for **{action.agent}**", "Now"
        comment = (
            f"metasup closed this PR: {what} (run {self.context.run_link}).\n\n{detail}: {action.reason}"
        )
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
        push_branch(
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
        open_pull(
            self.gh,
            self.context.repository,
            action.branch,
            self.context.base_ref,
            f"[AUTO-RETIRE] {name}",
            body,
            RETIRE_LABEL,
        )
        return []
