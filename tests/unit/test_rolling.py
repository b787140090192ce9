"""The rolling planner: promotion PR lifecycle, vetoes, kills, the dashboard — decided from plain values."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from metasup.lp.report import promotion_log
from metasup.model.config import Config
from metasup.model.pulls import PullState
from metasup.model.registry import Agent, Registry, StrategyClass
from metasup.model.review import (
    AgentReport,
    ClassReport,
    Demotion,
    Gate,
    Metrics,
    Promotion,
    Retirement,
    Review,
    Rule,
)
from metasup.render.bodies import render_stage_change_body
from metasup.rolling.audit_ledger import LedgerRecord, NewEntry, append
from metasup.rolling.dashboard import (
    ListedPromotion,
    active_vetoes,
    dashboard_context,
    reopened_promotions,
)
from metasup.rolling.kills import kills_in_force
from metasup.rolling.lifecycle import (
    WITHDRAWN_LABEL,
    demote_branch,
    label_of,
    promote_branch,
    retire_branch,
)
from metasup.rolling.plan import (
    LabelPull,
    MergeStageChange,
    OpenRetirement,
    OpenStageChange,
    RefreshStageChange,
    Veto,
    WithdrawStageChange,
    demotion_vetoes,
    describe,
    observed_entries,
    plan_rolling,
    pull_key,
)
from metasup.rolling.slugs import branch_slug

NOW = datetime(2026, 10, 30, 20, tzinfo=UTC)
BASE = "b" * 40
REGISTRY = Registry(
    strategy_classes=[StrategyClass(name="momentum"), StrategyClass(name="llm_macro")],
    agents=[
        Agent(name="momo-beta", strategy_class="momentum", stage="sandbox"),
        Agent(name="momo-alpha", strategy_class="momentum", stage="prod"),
    ],
)


@pytest.fixture
def approved(agent_factory: Callable[..., AgentReport]) -> AgentReport:
    return agent_factory("momo-beta")


def blocked(agent_factory: Callable[..., AgentReport]) -> AgentReport:
    gates = [Gate(name="safety", passed=False, evidence="1 safety violation in the 30-day window")]
    return agent_factory("momo-beta", promotion=Promotion(result="BLOCKED", gates=gates), status="blocked")


def pull(number: int = 7, **overrides: object) -> PullState:
    fields: dict[str, object] = {
        "number": number,
        "branch": promote_branch("momo-beta"),
        "state": "open",
        "merged": False,
        "created_at": NOW - timedelta(hours=2),
        "branch_parent": BASE,
    }
    fields.update(overrides)
    fields.setdefault("labels", frozenset({label_of(str(fields["branch"]))}))  # as metasup opens them
    return PullState(**fields)  # type: ignore[arg-type]


def plan_for(review: Review, pulls: list[PullState], config: Config, now: datetime = NOW):  # type: ignore[no-untyped-def]
    return plan_rolling(review, REGISTRY, pulls, now, BASE, config)


def test_plan_rolling__opens_promotion_for_approved(
    base_config: Config, review_factory: Callable[..., Review], approved: AgentReport
) -> None:
    plan = plan_for(review_factory(agents=[approved]), [], base_config)
    assert plan.actions == [OpenStageChange("momo-beta", "metasup/promote/momo-beta")]
    assert plan.audit_entries == []


def test_plan_rolling__refreshes_open_pr_never_duplicates(
    base_config: Config, review_factory: Callable[..., Review], approved: AgentReport
) -> None:
    plan = plan_for(review_factory(agents=[approved]), [pull()], base_config)
    assert plan.actions == [
        RefreshStageChange("momo-beta", 7, "metasup/promote/momo-beta", rebase=False, held=False)
    ]
    assert [(e.event, e.dedupe_key) for e in plan.audit_entries] == [("promotion_proposed", "pr#7")]


def test_plan_rolling__labels_its_open_prs_a_cut_off_run_left_without_their_label(
    base_config: Config, review_factory: Callable[..., Review], approved: AgentReport
) -> None:
    pulls = [
        pull(7, labels=frozenset()),  # opened, then the run died before labelling it
        pull(8, branch=retire_branch("news-sent"), labels=frozenset({"needs-review"})),
        pull(9, branch=retire_branch("class:llm_macro")),  # labelled: nothing to do
        pull(5, state="closed", closed_at=NOW - timedelta(days=40), labels=frozenset()),  # closed: left
    ]
    plan = plan_for(review_factory(agents=[approved]), pulls, base_config)
    assert plan.actions[:2] == [LabelPull(7, "auto-promote"), LabelPull(8, "auto-retire")]
    assert plan.actions[2:] == [
        RefreshStageChange("momo-beta", 7, "metasup/promote/momo-beta", rebase=False, held=False)
    ]
    assert (label_of("metasup/demote/x"), label_of("metasup/retire/x"), label_of("feature/x")) == (
        "auto-demote",
        "auto-retire",
        None,
    )


def test_plan_rolling__rebases_when_base_moved(
    base_config: Config, review_factory: Callable[..., Review], approved: AgentReport
) -> None:
    plan = plan_for(review_factory(agents=[approved]), [pull(branch_parent="a" * 40)], base_config)
    assert plan.actions == [
        RefreshStageChange("momo-beta", 7, "metasup/promote/momo-beta", rebase=True, held=False)
    ]


def test_plan_rolling__merges_after_window(
    base_config: Config, review_factory: Callable[..., Review], approved: AgentReport
) -> None:
    plan = plan_for(
        review_factory(agents=[approved]), [pull(created_at=NOW - timedelta(hours=24))], base_config
    )
    assert plan.actions == [MergeStageChange("momo-beta", 7)]


def test_plan_rolling__auto_merge_disabled(
    base_config: Config, review_factory: Callable[..., Review], approved: AgentReport
) -> None:
    config = base_config.model_copy(
        update={
            "promotion_prs": base_config.promotion_prs.model_copy(update={"auto_merge_after_hours": None})
        }
    )
    plan = plan_for(review_factory(agents=[approved]), [pull(created_at=NOW - timedelta(days=9))], config)
    assert isinstance(plan.actions[0], RefreshStageChange)


def test_plan_rolling__changes_requested_holds(
    base_config: Config, review_factory: Callable[..., Review], approved: AgentReport
) -> None:
    old = pull(created_at=NOW - timedelta(days=3), changes_requested=True)
    plan = plan_for(review_factory(agents=[approved]), [old], base_config)
    assert plan.actions == [
        RefreshStageChange("momo-beta", 7, "metasup/promote/momo-beta", rebase=False, held=True)
    ]
    assert plan.held == ["momo-beta"]


def test_plan_rolling__withdraws_when_gates_fail(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    plan = plan_for(review_factory(agents=[blocked(agent_factory)]), [pull()], base_config)
    assert plan.actions == [WithdrawStageChange("momo-beta", 7, "1 safety violation in the 30-day window")]


def test_plan_rolling__veto_recorded_and_cooldown(
    base_config: Config, review_factory: Callable[..., Review], approved: AgentReport
) -> None:
    closed = pull(state="closed", closed_at=NOW - timedelta(days=1))
    plan = plan_for(review_factory(agents=[approved]), [closed], base_config)
    assert plan.actions == []
    assert [(e.event, e.dedupe_key) for e in plan.audit_entries] == [
        ("promotion_proposed", "pr#7"),
        ("vetoed", "pr#7"),
    ]
    assert plan.audit_entries[1].data["cooldown_until"] == (NOW + timedelta(days=29)).isoformat()
    assert [(v.agent, v.pull, v.expires) for v in plan.vetoes] == [("momo-beta", 7, NOW + timedelta(days=29))]


def test_plan_rolling__new_pr_after_cooldown(
    base_config: Config, review_factory: Callable[..., Review], approved: AgentReport
) -> None:
    closed = pull(state="closed", closed_at=NOW - timedelta(days=30))
    plan = plan_for(review_factory(agents=[approved]), [closed], base_config)
    assert plan.actions == [OpenStageChange("momo-beta", "metasup/promote/momo-beta")]


def test_plan_rolling__own_withdrawal_is_not_a_veto(
    base_config: Config, review_factory: Callable[..., Review], approved: AgentReport
) -> None:
    withdrawn = pull(state="closed", closed_at=NOW - timedelta(days=1), labels=frozenset({WITHDRAWN_LABEL}))
    plan = plan_for(review_factory(agents=[approved]), [withdrawn], base_config)
    assert plan.actions == [OpenStageChange("momo-beta", "metasup/promote/momo-beta")]
    assert [e.event for e in plan.audit_entries] == ["promotion_proposed", "promotion_withdrawn"]


def test_plan_rolling__human_merge_recorded_as_promoted(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    prod = agent_factory(
        "momo-beta", stage="prod", promotion=Promotion(result="NOT_APPLICABLE"), status="active"
    )
    merged = pull(state="closed", merged=True, closed_at=NOW - timedelta(hours=1))
    plan = plan_for(review_factory(agents=[prod]), [merged], base_config)
    assert plan.actions == []
    assert [(e.event, e.dedupe_key) for e in plan.audit_entries] == [
        ("promotion_proposed", "pr#7"),
        ("promoted", "pr#7"),
    ]


def test_plan_rolling__kill_opens_retire_pr_once(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    rules = [Rule(name="alpha_negative", triggered=True, value=[-0.01, -0.02, -0.01])]
    rules.append(
        Rule(name="cost_over_value", triggered=True, value={"cost_30d": 300.0, "realized_pnl_30d": -5.0})
    )
    killed = agent_factory(
        "momo-alpha",
        stage="prod",
        promotion=Promotion(result="NOT_APPLICABLE"),
        retirement=Retirement(kill=True, rules=rules),
        status="killed",
    )
    klass = ClassReport(
        name="llm_macro", status="killed", metrics=Metrics(), retirement=Retirement(kill=True, rules=rules)
    )
    review = review_factory(agents=[killed], strategy_classes=[klass])
    plan = plan_for(review, [], base_config)
    subjects = [(a.subject, a.branch) for a in plan.actions if isinstance(a, OpenRetirement)]
    assert subjects == [
        ("class:llm_macro", "metasup/retire/class-llm_macro"),
        ("momo-alpha", "metasup/retire/momo-alpha"),
    ]
    assert [(e.event, e.subject, e.dedupe_key) for e in plan.audit_entries] == [
        ("killed", "class:llm_macro", None),
        ("killed", "momo-alpha", None),
    ]
    existing = PullState(
        number=9,
        branch="metasup/retire/momo-alpha",
        state="open",
        merged=False,
        created_at=NOW,
        branch_parent=BASE,
    )
    again = plan_for(review, [existing], base_config)
    assert [a.subject for a in again.actions if isinstance(a, OpenRetirement)] == ["class:llm_macro"]


@pytest.mark.parametrize(
    ("name", "slug"),
    [("momo-beta", "momo-beta"), ("a b/c", "a-b-c-"), ("..lock", "lock-"), ("ünï", "n-")],
)
def test_branch_slug__ref_safe_and_distinct(name: str, slug: str) -> None:
    made = branch_slug(name)
    assert made.startswith(slug)
    assert all(ch.isalnum() or ch in "._-" for ch in made)
    assert branch_slug(name) != branch_slug(name + " ")


@pytest.mark.parametrize(
    "name",
    ["a..b", "x.lock", "a" * 300, "A" * 250 + ".lock", "x." * 100, "-.", "momo-beta"],
    ids=["dots", "lock", "long", "long-lock", "dotted", "dash-dot", "plain"],
)
def test_branch_names_are_refs_git_accepts(name: str) -> None:
    """Agent names are free text; ``a..b`` or ``x.lock`` once made branches GitHub refuses."""
    for branch in (promote_branch(name), demote_branch(name), retire_branch(name)):
        checked = subprocess.run(["git", "check-ref-format", f"refs/heads/{branch}"], check=False)
        assert checked.returncode == 0, branch
        assert len(branch) <= 120, branch
    assert branch_slug(name) != branch_slug(name + ".")


def test_plan_rolling__unregistered_agent_gets_no_pr(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    stranger = agent_factory("scalper-x", registered=False)
    plan = plan_for(review_factory(agents=[stranger]), [], base_config)
    assert plan.actions == []


def test_plan_rolling__kill_records_registry_value(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    rules = [Rule(name="alpha_negative", triggered=True), Rule(name="cost_over_value", triggered=True)]
    killed = agent_factory(
        "momo-alpha",
        stage="prod",
        retirement=Retirement(kill=True, rules=rules),
        promotion=Promotion(result="NOT_APPLICABLE"),
    )
    plan = plan_for(review_factory(agents=[killed]), [], base_config)
    assert plan.audit_entries[0].data["registry"] == "prod"


# --- what the shell runs with: standing kills, decision lines, the dashboard -----------------------

COOLDOWN = timedelta(days=30)


def recorded(*entries: NewEntry) -> list[LedgerRecord]:
    return append([], entries, "2026-10-01T00:00:00Z", "run-1")


def veto_entries(closed_at: datetime, number: int = 7) -> list[NewEntry]:
    closed = pull(number, state="closed", closed_at=closed_at)
    return observed_entries([closed], {promote_branch("momo-beta"): "momo-beta"}, COOLDOWN)


def killed(subject: str, registry_value: str) -> NewEntry:
    return NewEntry(event="killed", subject=subject, data={"reason": "2 of 4", "registry": registry_value})


def test_kills_in_force__a_kill_stands_while_the_registry_is_unchanged() -> None:
    records = recorded(killed("momo-alpha", "prod"))
    assert kills_in_force(records, [], REGISTRY) == {"momo-alpha"}


def test_kills_in_force__lifted_when_a_person_closes_the_retire_pr_unmerged() -> None:
    records = recorded(killed("momo-alpha", "prod"))
    refused = pull(12, branch=retire_branch("momo-alpha"), state="closed", closed_at=NOW)
    assert kills_in_force(records, [refused], REGISTRY) == set()


def test_kills_in_force__lifted_when_the_registry_entry_changed_since() -> None:
    records = recorded(killed("momo-beta", "prod"), killed("class:momentum", "deprecated"))
    assert kills_in_force(records, [], REGISTRY) == set()  # momo-beta is sandbox, momentum active


def test_kills_in_force__a_class_kill_stands_while_its_status_is_unchanged() -> None:
    records = recorded(killed("class:llm_macro", "active"), killed("gone-agent", "prod"))
    assert kills_in_force(records, [], REGISTRY) == {"class:llm_macro"}  # an unknown agent is not kept


def test_describe__one_line_per_action_naming_the_pr_and_why() -> None:
    assert describe(OpenStageChange("momo-beta", "metasup/promote/momo-beta")) == (
        "open [AUTO-PROMOTE] PR for momo-beta"
    )
    held = RefreshStageChange("momo-beta", 7, "metasup/promote/momo-beta", rebase=False, held=True)
    assert describe(held) == "refresh [AUTO-PROMOTE] PR #7 for momo-beta (held: changes requested)"
    assert describe(MergeStageChange("momo-beta", 7)) == "merge [AUTO-PROMOTE] PR #7 for momo-beta"
    assert describe(WithdrawStageChange("momo-beta", 7, "1 safety violation")) == (
        "close [AUTO-PROMOTE] PR #7 for momo-beta: 1 safety violation"
    )
    assert describe(OpenRetirement("class:llm_macro", "metasup/retire/class-llm_macro", "r")) == (
        "open [AUTO-RETIRE] PR for class:llm_macro"
    )
    assert describe(LabelPull(7, "auto-promote")) == (
        "label PR #7 auto-promote (the run that opened it did not)"
    )


def test_pull_key__is_the_dedupe_key_of_every_pr_fact() -> None:
    assert pull_key(7) == "pr#7"
    assert {e.dedupe_key for e in veto_entries(NOW - timedelta(days=1))} == {"pr#7"}


def test_active_vetoes__vetoed_agent_inside_its_cooldown_is_listed_with_its_end_date() -> None:
    closed_at = NOW - timedelta(days=1)
    vetoes = active_vetoes(recorded(*veto_entries(closed_at)), [], NOW)
    assert vetoes == [Veto("momo-beta", 7, closed_at, closed_at + COOLDOWN)]


def test_active_vetoes__a_cooldown_that_ran_out_is_not_listed() -> None:
    closed_at = NOW - COOLDOWN
    assert active_vetoes(recorded(*veto_entries(closed_at)), [], NOW) == []
    assert active_vetoes(recorded(*veto_entries(closed_at)), [], NOW - timedelta(seconds=1)) != []


def test_active_vetoes__this_runs_new_entries_count_and_one_pr_is_listed_once() -> None:
    closed_at = NOW - timedelta(hours=3)
    entries = veto_entries(closed_at)
    vetoes = active_vetoes(recorded(*entries), entries, NOW)  # recorded before, observed again
    assert [(v.agent, v.pull) for v in vetoes] == [("momo-beta", 7)]
    later = veto_entries(NOW - timedelta(hours=1), number=9)
    assert [v.pull for v in active_vetoes(recorded(*entries), later, NOW)] == [7, 9]


def test_active_vetoes__a_vetoed_pr_a_person_reopened_or_merged_is_no_veto_in_force() -> None:
    """#7 was reopened (or reopened and merged): GitHub no longer shows it closed unmerged."""
    entries = veto_entries(NOW - timedelta(days=1)) + veto_entries(NOW - timedelta(days=2), number=9)
    assert [v.pull for v in active_vetoes(recorded(*entries), [], NOW, closed_unmerged=[9])] == [9]
    assert [v.pull for v in active_vetoes(recorded(*entries), [], NOW)] == [7, 9]


def test_active_vetoes__the_configured_cooldown_now_decides_as_the_plan_does() -> None:
    """``veto_cooldown_days`` lowered after a veto: the plan opens a new PR once the new cooldown
    ran out, and the dashboard must not list the veto beside it (an audit of unattended runs)."""
    closed_at = NOW - timedelta(days=2)
    records = recorded(*veto_entries(closed_at))  # recorded with the 30-day cooldown
    assert [v.expires for v in active_vetoes(records, [], NOW)] == [closed_at + COOLDOWN]
    assert active_vetoes(records, [], NOW, cooldown=timedelta(days=1)) == []
    [veto] = active_vetoes(records, [], NOW, cooldown=timedelta(days=3))
    assert veto.expires == closed_at + timedelta(days=3)


def test_reopened_promotions__lists_a_reopened_pr_as_open_and_a_persons(
    review_factory: Callable[..., Review], approved: AgentReport
) -> None:
    pulls = [
        pull(7),  # reopened after its veto
        pull(8, branch=demote_branch("momo-gone")),  # reopened; the agent is no longer in the review
        pull(9, branch=demote_branch("momo-beta")),  # open, never ended: metasup's own, listed by execute
        pull(5, state="closed", closed_at=NOW),
    ]
    listed = reopened_promotions(review_factory(agents=[approved]), pulls, [7, 8, 5])
    assert listed == [
        ListedPromotion(7, "momo-beta", held=False, kind="promote", reopened=True),
        ListedPromotion(8, "momo-gone", held=False, kind="demote", reopened=True),
    ]


def test_dashboard_context__lists_stages_promotions_vetoes_with_their_end_and_kills(
    review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    rules = [Rule(name="alpha_negative", triggered=True), Rule(name="cost_over_value", triggered=True)]
    legacy = agent_factory("meanrev-legacy", stage="prod", retirement=Retirement(kill=True, rules=rules))
    klass = ClassReport(
        name="llm_macro", status="killed", metrics=Metrics(), retirement=Retirement(kill=True, rules=rules)
    )
    review = review_factory(
        agents=[agent_factory("momo-beta"), legacy, agent_factory("momo-alpha", stage="prod")],
        strategy_classes=[klass],
    )
    expires = NOW + timedelta(days=29)
    promotions = [ListedPromotion(7, "momo-beta", held=True)]
    context = dashboard_context(review, promotions, [Veto("news-sent", 5, NOW - timedelta(days=1), expires)])
    assert context["stages"] == [("prod", ["meanrev-legacy", "momo-alpha"]), ("sandbox", ["momo-beta"])]
    assert context["open_promotions"] == promotions
    assert context["vetoes"] == [
        {"agent": "news-sent", "pull": 5, "expires": "2026-11-28T20:00:00+00:00", "kind": "promote"}
    ]
    fired = "2 of 2 retirement rules fired"
    kills = context["kills"]
    assert isinstance(kills, list)
    assert [(k["subject"], k["reason"].startswith(fired)) for k in kills] == [
        ("class llm_macro", True),
        ("meanrev-legacy", True),
    ]


# --- [AUTO-DEMOTE] (SPEC §3.8): the promotion lifecycle, for prod agents whose demotion rule fires ---

DEMOTED = Demotion(demoted=True, window_days=60, n=20, psr=0.03, threshold=0.1, evidence="PSR 0.03 < 0.1")


def prod_agent(agent_factory: Callable[..., AgentReport], **demotion: object) -> AgentReport:
    fields = {**DEMOTED.model_dump(), **demotion}
    status = "demoted" if fields["demoted"] else "active"
    return agent_factory("momo-alpha", stage="prod", status=status, demotion=Demotion(**fields))


def demote_pull(number: int = 9, **overrides: object) -> PullState:
    return pull(number, branch=demote_branch("momo-alpha"), **overrides)


def test_plan_rolling__opens_demotion_for_demoted_prod_agent(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    plan = plan_for(review_factory(agents=[prod_agent(agent_factory)]), [], base_config)
    assert plan.actions == [OpenStageChange("momo-alpha", "metasup/demote/momo-alpha", kind="demote")]
    assert describe(plan.actions[0]) == "open [AUTO-DEMOTE] PR for momo-alpha"


def test_plan_rolling__no_demotion_when_rule_does_not_fire(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    agent = prod_agent(agent_factory, demoted=False, psr=0.4)
    assert plan_for(review_factory(agents=[agent]), [], base_config).actions == []


def test_plan_rolling__open_demotion_refreshed_never_duplicated(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    plan = plan_for(review_factory(agents=[prod_agent(agent_factory)]), [demote_pull()], base_config)
    assert plan.actions == [
        RefreshStageChange(
            "momo-alpha", 9, "metasup/demote/momo-alpha", rebase=False, held=False, kind="demote"
        )
    ]
    assert [(e.event, e.subject, e.dedupe_key) for e in plan.audit_entries] == [
        ("demotion_proposed", "momo-alpha", "pr#9")
    ]


def test_plan_rolling__demotion_held_by_changes_requested(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    old = demote_pull(created_at=NOW - timedelta(days=3), changes_requested=True)
    plan = plan_for(review_factory(agents=[prod_agent(agent_factory)]), [old], base_config)
    assert plan.actions == [
        RefreshStageChange(
            "momo-alpha", 9, "metasup/demote/momo-alpha", rebase=False, held=True, kind="demote"
        )
    ]
    assert plan.held == ["momo-alpha"]


def test_plan_rolling__demotion_merged_after_window_while_rule_fires(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    old = demote_pull(created_at=NOW - timedelta(hours=24))
    plan = plan_for(review_factory(agents=[prod_agent(agent_factory)]), [old], base_config)
    assert plan.actions == [MergeStageChange("momo-alpha", 9, kind="demote")]
    assert describe(plan.actions[0]) == "merge [AUTO-DEMOTE] PR #9 for momo-alpha"


def test_plan_rolling__merge_recuts_a_branch_left_behind_by_the_base(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    """Another registry PR merged since: the branch is re-cut on the new base head, then merged."""
    old = demote_pull(created_at=NOW - timedelta(hours=24), branch_parent="a" * 40)
    plan = plan_for(review_factory(agents=[prod_agent(agent_factory)]), [old], base_config)
    assert plan.actions == [MergeStageChange("momo-alpha", 9, kind="demote", rebase=True)]


def test_plan_rolling__demotion_withdrawn_when_rule_stops_firing(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    recovered = prod_agent(agent_factory, demoted=False, psr=0.4, evidence="PSR 0.40 ≥ 0.1")
    plan = plan_for(review_factory(agents=[recovered]), [demote_pull()], base_config)
    assert plan.actions == [WithdrawStageChange("momo-alpha", 9, "PSR 0.40 ≥ 0.1", kind="demote")]


def test_plan_rolling__demotion_withdrawn_when_agent_left_prod(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    sandboxed = agent_factory(
        "momo-alpha", stage="sandbox", status="blocked", promotion=Promotion(result="BLOCKED")
    )
    plan = plan_for(review_factory(agents=[sandboxed]), [demote_pull()], base_config)
    assert plan.actions == [WithdrawStageChange("momo-alpha", 9, "the agent is now sandbox", kind="demote")]


def test_observed_entries__demotion_events(base_config: Config) -> None:
    branch = demote_branch("momo-alpha")
    closed_at = NOW - timedelta(hours=1)
    pulls = [
        pull(1, branch=branch, state="closed", merged=True, closed_at=closed_at),
        pull(2, branch=branch, state="closed", closed_at=closed_at, labels=frozenset({WITHDRAWN_LABEL})),
        pull(3, branch=branch, state="closed", closed_at=closed_at),
    ]
    entries = observed_entries(pulls, {branch: "momo-alpha"}, COOLDOWN)
    assert [(e.event, e.dedupe_key) for e in entries] == [
        ("demotion_proposed", "pr#1"),
        ("demoted", "pr#1"),
        ("demotion_proposed", "pr#2"),
        ("demotion_withdrawn", "pr#2"),
        ("demotion_proposed", "pr#3"),
        ("demotion_vetoed", "pr#3"),
    ]
    assert entries[-1].data["cooldown_until"] == (closed_at + COOLDOWN).isoformat()


def test_observed_entries__a_pr_recorded_as_vetoed_is_never_also_withdrawn() -> None:
    """A person labelled the PR ``metasup-withdrawn`` and closed it: recorded as their veto. Once a
    newer PR exists, GitHub's ``closed_by`` is no longer read for it and it shows with the label."""
    branch = promote_branch("momo-beta")
    closed_at = NOW - timedelta(days=31)
    labelled = pull(7, state="closed", closed_at=closed_at, labels=frozenset({WITHDRAWN_LABEL}))
    pulls = [labelled, pull(8)]
    entries = observed_entries(pulls, {branch: "momo-beta"}, COOLDOWN, vetoed=frozenset({7}))
    assert [(e.event, e.dedupe_key) for e in entries] == [
        ("promotion_proposed", "pr#7"),
        ("promotion_proposed", "pr#8"),
    ]
    withdrawn = observed_entries(pulls, {branch: "momo-beta"}, COOLDOWN)  # metasup's own withdrawal
    assert ("promotion_withdrawn", "pr#7") in [(e.event, e.dedupe_key) for e in withdrawn]


def test_plan_rolling__a_withdrawal_recorded_by_the_next_run_keeps_its_reason(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    """The run that closed the PR died before saving: the next run records the withdrawal from
    GitHub, with the reason the gates give now, as the closing run would have (found by an audit)."""
    closed = pull(7, state="closed", closed_at=NOW - timedelta(hours=1), labels=frozenset({WITHDRAWN_LABEL}))
    plan = plan_for(review_factory(agents=[blocked(agent_factory)]), [closed], base_config)
    (withdrawn,) = [e for e in plan.audit_entries if e.event == "promotion_withdrawn"]
    assert withdrawn.data == {"pr": 7, "reason": "1 safety violation in the 30-day window"}


def test_demotion_vetoes__latest_pr_closed_by_a_person_within_cooldown(base_config: Config) -> None:
    branch = demote_branch("momo-alpha")
    vetoed = pull(3, branch=branch, state="closed", closed_at=NOW - timedelta(days=2))
    assert demotion_vetoes([vetoed], REGISTRY, NOW, base_config) == {"momo-alpha"}
    assert demotion_vetoes([vetoed], REGISTRY, NOW + COOLDOWN, base_config) == set()  # cooldown over
    withdrawn = pull(3, branch=branch, state="closed", closed_at=NOW, labels=frozenset({WITHDRAWN_LABEL}))
    merged = pull(3, branch=branch, state="closed", merged=True, closed_at=NOW)
    reopened = [vetoed, pull(4, branch=branch)]  # a newer open PR: the veto is history
    for pulls in ([withdrawn], [merged], reopened, [pull(3, state="closed", closed_at=NOW)]):
        assert demotion_vetoes(pulls, REGISTRY, NOW, base_config) == set()


def test_plan_rolling__vetoed_demotion_opens_nothing_and_lists_the_veto(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    closed_at = NOW - timedelta(days=2)
    vetoed_pull = demote_pull(state="closed", closed_at=closed_at)
    agent = prod_agent(agent_factory, demoted=False, vetoed=True)  # evaluate(demotion_vetoes=...) said so
    plan = plan_for(review_factory(agents=[agent]), [vetoed_pull], base_config)
    assert plan.actions == []
    assert plan.vetoes == [Veto("momo-alpha", 9, closed_at, closed_at + COOLDOWN, kind="demote")]
    assert [e.event for e in plan.audit_entries] == ["demotion_proposed", "demotion_vetoed"]


def test_plan_rolling__demotion_after_cooldown_opens_a_new_pr(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    vetoed_pull = demote_pull(state="closed", closed_at=NOW - COOLDOWN - timedelta(hours=1))
    plan = plan_for(review_factory(agents=[prod_agent(agent_factory)]), [vetoed_pull], base_config)
    assert plan.actions == [OpenStageChange("momo-alpha", "metasup/demote/momo-alpha", kind="demote")]


def test_dashboard__pending_demotions_and_demotion_vetoes(
    review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    closed_at = NOW - timedelta(days=1)
    record = NewEntry(
        event="demotion_vetoed",
        subject="momo-alpha",
        data={
            "pr": 9,
            "closed_at": closed_at.isoformat(),
            "cooldown_until": (closed_at + COOLDOWN).isoformat(),
        },
    )
    vetoes = active_vetoes([], [record], NOW)
    assert vetoes == [Veto("momo-alpha", 9, closed_at, closed_at + COOLDOWN, kind="demote")]
    listed = [ListedPromotion(7, "momo-beta", held=False), ListedPromotion(9, "momo-slow", False, "demote")]
    context = dashboard_context(review_factory(agents=[agent_factory("momo-beta")]), listed, vetoes)
    assert context["open_promotions"] == listed[:1]
    assert context["pending_demotions"] == listed[1:]
    assert context["vetoes"] == [
        {"agent": "momo-alpha", "pull": 9, "expires": (closed_at + COOLDOWN).isoformat(), "kind": "demote"}
    ]


def test_demotion_body__evidence_and_veto_escaped(
    base_config: Config, review_factory: Callable[..., Review], agent_factory: Callable[..., AgentReport]
) -> None:
    agent = prod_agent(agent_factory, evidence="PSR 0.03 < 0.1 <script>*x*</script>")
    body = render_stage_change_body(
        "demote", agent, review_factory(agents=[agent]), base_config, "momo-alpha", "#1"
    )
    assert body.startswith("<!-- metasup:demote:momo-alpha -->")
    assert "## [AUTO-DEMOTE] momo-alpha: prod → sandbox" in body
    assert "| PSR(0) of the daily skill series | 0.03 |" in body
    assert "| Skill days (n) | 20 " in body
    assert "<script>" not in body
    assert "**Veto:** close this PR without merging" in body


def test_promotion_log__demotion_events_in_plain_words() -> None:
    records = [
        {"ts": "2026-10-27T10:00:00Z", "event": event, "subject": "momo-alpha", "data": {"pr": 9}}
        for event in ("demotion_proposed", "demotion_vetoed", "demoted", "demotion_withdrawn")
    ]
    start, end = pd.Timestamp("2026-10-26", tz="UTC"), pd.Timestamp("2026-11-01", tz="UTC")
    log = promotion_log(records, start, end, pd.Timestamp("2026-11-02", tz="UTC"))
    assert [e.words for e in log] == [
        "demotion to sandbox proposed",
        "demotion vetoed, stays in prod",
        "demoted from prod to sandbox",
        "demotion withdrawn, stays in prod",
    ]
    assert "words" not in log[0].model_dump()  # the JSON keeps the ledger's event name


def test_promotion_log__held_pull_requests_are_in_the_log() -> None:
    records = [
        {"ts": "2026-10-27T10:00:00Z", "event": event, "subject": "momo-alpha", "data": {"pr": 9}}
        for event in ("promotion_held", "demotion_held")
    ]
    start, end = pd.Timestamp("2026-10-26", tz="UTC"), pd.Timestamp("2026-11-01", tz="UTC")
    log = promotion_log(records, start, end, pd.Timestamp("2026-11-02", tz="UTC"))
    assert [e.words for e in log] == [
        "promotion held for a person: someone else pushed to its pull request",
        "demotion held for a person: someone else pushed to its pull request",
    ]


def test_retire_branch__an_agent_named_like_a_class_branch_has_its_own() -> None:
    """Agent ``class-foo`` and strategy class ``foo`` had one retire branch, so one PR for two
    retirements (found by a review); every other agent keeps its plain branch."""
    assert retire_branch("class:foo") == "metasup/retire/class-foo"
    assert retire_branch("class-foo").startswith("metasup/retire/class-foo-")
    assert retire_branch("class-foo") != retire_branch("class:foo")
    assert retire_branch("news-sent") == "metasup/retire/news-sent"
