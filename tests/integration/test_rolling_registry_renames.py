"""People rename and remove agents and classes in agents.yaml; metasup's PRs for them must not stop
the fund's supervision (found by an audit of months of unattended runs, 2026-12-08).

Before: removing a killed agent (or renaming its class) while its [AUTO-RETIRE] PR was open made
every later run exit 1 at the PR's re-cut ("agent 'news-sent' is not in the registry"): no merge,
no snapshot, no dashboard, no e-mail, until a person closed the PR. And a promote PR of an agent a
person renamed stayed open for good, neither merged nor withdrawn.
"""

from __future__ import annotations

import re

from test_action_rolling import REPO, STATE, Rolling
from test_action_rolling_safety import rolling, summary

__all__ = ["rolling"]  # the fixture, shared


def edit_registry(rolling: Rolling, edited: str) -> None:
    """A person's commit on main, which the next run's checkout has."""
    rolling.fake.commit_files(REPO, "main", {"agents.yaml": edited}, user="alice")
    (rolling.workspace / "agents.yaml").write_text(edited)
    rolling.fake.advance(hours=6)


def registry(rolling: Rolling) -> str:
    return rolling.fake.read_file(REPO, "agents.yaml", ref="main") or ""


def test_removing_a_killed_agent_leaves_its_retire_pr_to_people_and_the_run_goes_on(rolling: Rolling) -> None:
    assert rolling() == 0
    [retire] = [p for p in rolling.fake.pulls(REPO) if p.pull.head_ref == "metasup/retire/news-sent"]
    without = re.sub(r"  - name: news-sent .*?(?=\n  - name:|\Z)", "", registry(rolling), flags=re.S)
    assert "news-sent" not in without
    edit_registry(rolling, without)

    assert rolling() == 0, rolling.stdout
    warning = f"re-cut [AUTO-RETIRE] PR #{retire.number} for news-sent on the base's new head: not done: "
    assert f"::warning::{warning}agents.yaml: agent 'news-sent' is not in the registry" in rolling.stdout
    assert rolling.fake.issue(REPO, retire.number).state == "open"  # a person's to close
    snapshot = rolling.fake.read_file(REPO, "snapshots/main.json", ref=STATE) or ""
    assert '"run_id":"2"' in snapshot.replace(" ", "")  # the run went on: its snapshot, dashboard
    assert "dashboard issue" in summary(rolling)


def test_renaming_a_killed_class_does_not_stop_the_runs(rolling: Rolling) -> None:
    assert rolling() == 0
    renamed = (
        registry(rolling)
        .replace("name: llm_macro", "name: llm_news")
        .replace("strategy_class: llm_macro", "strategy_class: llm_news")
    )
    edit_registry(rolling, renamed)

    assert rolling() == 0, rolling.stdout
    assert "not done: agents.yaml: strategy class 'llm_macro' is not in the registry" in rolling.stdout


def test_a_renamed_agents_promote_pr_is_withdrawn_with_the_reason(rolling: Rolling) -> None:
    assert rolling() == 0
    [pull] = rolling.promote_pulls()
    edit_registry(rolling, registry(rolling).replace("name: momo-beta ", "name: momo-beta2"))

    assert rolling() == 0, rolling.stdout
    [closed] = rolling.promote_pulls()
    assert closed.state == "closed"
    assert "metasup-withdrawn" in closed.labels
    assert "no longer in agents.yaml" in rolling.fake.comments(REPO, pull.number)[-1].body
    [withdrawn] = rolling.events("promotion_withdrawn", "momo-beta")
    assert withdrawn["data"]["pr"] == pull.number


def test_an_agent_removed_leaves_prod_then_and_restored_re_enters(rolling: Rolling) -> None:
    """momo-alpha, in prod since before the ledger, removed from agents.yaml (a rename): its prod
    history must stay the fund's (an audit: with no record, the LP report dropped all of it,
    $34,332 of since-inception gross in the audit's e-mails). While removed it showed in the
    snapshot as an unregistered agent, stage ``sandbox``, which must not read as a stage (a review)."""
    assert rolling() == 0
    original = registry(rolling)
    without = re.sub(r"  - name: momo-alpha .*?(?=\n  - name:)", "", original, flags=re.S)
    assert "name: momo-alpha" not in without
    edit_registry(rolling, without)
    assert rolling() == 0
    [removed] = rolling.events("left_prod_by_hand", "momo-alpha")
    assert removed["data"] == {"stage": "removed", "was": "prod", "dedupe_key": "move#1"}
    rolling.fake.advance(hours=6)
    assert rolling() == 0  # recorded once
    edit_registry(rolling, original)
    assert rolling() == 0
    [back] = rolling.events("promoted_by_hand", "momo-alpha")
    assert back["data"] == {"stage": "prod", "was": "sandbox", "dedupe_key": "move#2"}
    assert len(rolling.events("left_prod_by_hand")) == 1
