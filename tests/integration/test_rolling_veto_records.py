"""A veto stays what it is, in the ledger and on the dashboard (SPEC §5 "[AUTO-PROMOTE] PRs", "Audit
ledger"): a PR a person vetoed is never also recorded as metasup's withdrawal, and one they reopen
is shown as the open PR it is, not as a veto. End to end through the action against the fake GitHub."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from test_action_rolling import REPO, Rolling
from test_action_rolling_safety import rolling
from test_rolling_human_closes import hand_labelled_veto

__all__ = ["rolling"]  # the fixture, shared with test_action_rolling_safety

COOLDOWN_DAYS = 30


def dashboard_body(rolling: Rolling) -> str:
    [issue] = [i for i in rolling.fake.repo(REPO).issues.values() if i.pull is None]
    body: str = issue.body
    return body


def section(body: str, title: str) -> str:
    """The lines of the dashboard section ``### <title>``, up to the next heading."""
    return body.split(f"### {title}\n", 1)[1].split("\n###", 1)[0].split("\n\n", 1)[0].strip()


def vetoed_by_alice(rolling: Rolling) -> Any:
    """metasup's promote PR for momo-beta, which alice closed; and the run after."""
    assert rolling() == 0
    [pull] = rolling.promote_pulls()
    rolling.fake.close_pull(REPO, pull.number, user="alice")
    rolling.fake.advance(hours=6)
    assert rolling() == 0
    return pull


def test_a_hand_labelled_veto_gets_no_withdrawn_record_when_a_newer_pr_comes(rolling: Rolling) -> None:
    """alice labels metasup's PR ``metasup-withdrawn`` and closes it: a veto. After the cooldown
    metasup opens a new PR for the agent; the old one is still only vetoed in the ledger."""
    fake = rolling.fake
    old = hand_labelled_veto(rolling)
    assert [v["data"]["pr"] for v in rolling.events("vetoed", "momo-beta")] == [old.number]
    fake.advance(hours=24 * (COOLDOWN_DAYS + 1))
    assert rolling() == 0
    new: Any = next(p for p in rolling.promote_pulls("open"))
    assert new.number != old.number

    for _ in range(2):  # the runs after the new PR exists
        fake.advance(hours=6)
        assert rolling() == 0

    assert rolling.events("promotion_withdrawn") == []
    assert [v["data"]["pr"] for v in rolling.events("vetoed", "momo-beta")] == [old.number]


def test_a_vetoed_pr_a_person_reopens_is_shown_open_not_as_a_veto(rolling: Rolling) -> None:
    """alice closes metasup's PR (a veto, listed with its cooldown), then reopens it: the dashboard
    lists it as an open PR a person reopened, and no longer as a veto, while the cooldown runs."""
    fake = rolling.fake
    pull = vetoed_by_alice(rolling)
    assert f"- momo-beta: vetoed in #{pull.number}, no new PR before" in section(
        dashboard_body(rolling), "Vetoes"
    )
    fake.client().get_repo(REPO).get_pull(pull.number).edit(state="open")
    fake.advance(hours=6)

    assert rolling() == 0

    body = dashboard_body(rolling)
    assert section(body, "Vetoes") == "- none"
    assert section(body, "Open promotion PRs") == (
        f"- #{pull.number} momo-beta — 👤 reopened by a person: "
        "theirs to merge or close, metasup leaves it alone"
    )
    assert fake.issue(REPO, pull.number).state == "open"  # left alone
    assert len(rolling.events("vetoed", "momo-beta")) == 1  # the veto stays in the ledger's history


def test_a_pr_closed_again_after_a_reopen_is_vetoed_from_its_last_close(rolling: Rolling) -> None:
    """alice closes metasup's PR, reopens it, and ten days later closes it again: that is a second
    veto. The ledger records both closes; the dashboard shows the cooldown of the last one, and
    metasup proposes the agent again only once that cooldown has run out."""
    fake = rolling.fake
    repo = fake.client().get_repo(REPO)
    pull = vetoed_by_alice(rolling)
    repo.get_pull(pull.number).edit(state="open")
    fake.advance(hours=24 * 10)
    assert rolling() == 0
    fake.close_pull(REPO, pull.number, user="alice")
    last_close = fake.issue(REPO, pull.number).closed_at
    fake.advance(hours=6)

    assert rolling() == 0

    vetoes = rolling.events("vetoed", "momo-beta")
    assert [v["data"]["pr"] for v in vetoes] == [pull.number, pull.number]
    assert vetoes[1]["data"]["closed_at"] == last_close.isoformat()
    until = last_close + timedelta(days=COOLDOWN_DAYS)
    assert section(dashboard_body(rolling), "Vetoes").startswith(
        f"- momo-beta: vetoed in #{pull.number}, no new PR before `{until.isoformat()}`"
    )
    fake.advance(hours=24 * (COOLDOWN_DAYS - 10))  # the first close's cooldown is over, not the last's
    assert rolling() == 0
    assert [p.number for p in rolling.promote_pulls()] == [pull.number]
    assert f"vetoed in #{pull.number}" in section(dashboard_body(rolling), "Vetoes")
    assert len(rolling.events("vetoed", "momo-beta")) == 2  # a re-run records nothing twice

    fake.advance(hours=24 * 11)
    assert rolling() == 0
    assert len(rolling.promote_pulls("open")) == 1
    assert section(dashboard_body(rolling), "Vetoes") == "- none"


def test_a_vetoed_pr_a_person_reopens_and_merges_is_no_longer_listed_as_a_veto(rolling: Rolling) -> None:
    """alice closes metasup's PR, reopens it and merges it: momo-beta is promoted, and the
    dashboard no longer says it was vetoed (the ledger keeps both facts)."""
    fake = rolling.fake
    pull = vetoed_by_alice(rolling)
    fake.client().get_repo(REPO).get_pull(pull.number).edit(state="open")
    fake.merge(REPO, pull.number, user="alice")
    fake.advance(hours=6)

    assert rolling() == 0

    assert section(dashboard_body(rolling), "Vetoes") == "- none"
    assert [r["event"] for r in rolling.ledger() if r["subject"] == "momo-beta"][-2:] == [
        "vetoed",
        "promoted",
    ]
