"""A person's close or merge of metasup's PR is what it is, whatever happened to the PR before (SPEC §5
"[AUTO-PROMOTE] PRs", "Acting safely"): closing it unmerged is a veto — also when someone pushed to it
(held) or it carries ``metasup-withdrawn`` — and merging it is a promotion. Only a close GitHub says
metasup made is metasup's withdrawal. Each case was found by an adversarial audit; end to end
through the action against the fake GitHub."""

from __future__ import annotations

import json
from typing import Any

from test_action_rolling import PROMOTE_BRANCH, REPO, Rolling
from test_action_rolling_safety import rolling, summary

__all__ = ["rolling"]  # the fixture, shared with test_action_rolling_safety

VIOLATION = {
    "type": "safety_violation",
    "ts": "2026-10-29T15:00:00Z",
    "agent": "momo-beta",
    "rule": "max_position",
}


def held_pull(rolling: Rolling, hours: int) -> tuple[Any, str]:
    """metasup's promote PR after bob pushed to it and the next run, ``hours`` later, held it; and
    bob's commit."""
    assert rolling() == 0
    [pull] = rolling.promote_pulls()
    bobs = rolling.fake.push_to_pull(REPO, pull.number, {"NOTES.md": "bob\n"}, user="bob")
    rolling.fake.advance(hours=hours)
    assert rolling() == 0
    assert rolling.events("promotion_held", "momo-beta")
    return pull, bobs


def test_a_person_who_closes_a_held_pr_vetoes_it(rolling: Rolling) -> None:
    """bob pushes to metasup's PR (it is held, his to merge), then closes it: that is a veto, and no
    new PR comes until the cooldown is over."""
    fake = rolling.fake
    pull, bobs = held_pull(rolling, hours=25)
    fake.close_pull(REPO, pull.number, user="bob")
    fake.advance(hours=6)

    assert rolling() == 0

    assert [p.number for p in rolling.promote_pulls()] == [pull.number]  # no new PR
    [veto] = rolling.events("vetoed", "momo-beta")
    assert veto["data"]["pr"] == pull.number
    assert "cooldown_until" in veto["data"]
    assert fake.ref_sha(REPO, PROMOTE_BRANCH) == bobs  # his work stays
    fake.advance(hours=24 * 10)
    assert rolling() == 0
    assert [p.number for p in rolling.promote_pulls()] == [pull.number]


def test_a_persons_merge_of_a_held_pr_is_recorded_as_the_promotion(rolling: Rolling) -> None:
    fake = rolling.fake
    pull, _ = held_pull(rolling, hours=2)
    fake.merge(REPO, pull.number, user="alice")
    fake.advance(hours=6)

    assert rolling() == 0

    [promoted] = rolling.events("promoted", "momo-beta")
    assert promoted["data"]["pr"] == pull.number
    assert promoted["data"]["merged_by"] == "alice"


def test_a_person_who_closes_a_pr_metasup_withdrew_and_they_reopened_vetoes_it(rolling: Rolling) -> None:
    """metasup withdraws its PR (gates failed); the gates pass again; a person reopens it, then closes
    it: their close is a veto, though the PR still carries ``metasup-withdrawn``."""
    fake = rolling.fake
    assert rolling() == 0
    [pull] = rolling.promote_pulls()
    telemetry = rolling.workspace / "telemetry" / "events.jsonl"
    original = telemetry.read_text()
    telemetry.write_text(original + json.dumps(VIOLATION) + "\n")
    fake.advance(hours=6)
    assert rolling() == 0
    assert fake.issue(REPO, pull.number).state == "closed"
    assert rolling.events("promotion_withdrawn", "momo-beta")
    telemetry.write_text(original)  # the gates pass again
    fake.client().get_repo(REPO).get_pull(pull.number).edit(state="open")
    fake.advance(hours=1)
    fake.close_pull(REPO, pull.number, user="alice")
    fake.advance(hours=6)

    assert rolling() == 0

    assert [p.number for p in rolling.promote_pulls()] == [pull.number]  # no new PR at once
    [veto] = rolling.events("vetoed", "momo-beta")
    assert veto["data"]["pr"] == pull.number


def hand_labelled_veto(rolling: Rolling) -> Any:
    """metasup's promote PR, which alice labelled ``metasup-withdrawn`` and closed; and the run after."""
    assert rolling() == 0
    [pull] = rolling.promote_pulls()
    rolling.fake.client().get_repo(REPO).get_issue(pull.number).add_to_labels("metasup-withdrawn")
    rolling.fake.close_pull(REPO, pull.number, user="alice")
    rolling.fake.advance(hours=6)
    assert rolling() == 0
    return pull


def test_a_person_who_labels_a_pr_withdrawn_and_closes_it_vetoes_it(rolling: Rolling) -> None:
    pull = hand_labelled_veto(rolling)

    assert [p.number for p in rolling.promote_pulls()] == [pull.number]
    assert rolling.events("promotion_withdrawn") == []
    [veto] = rolling.events("vetoed", "momo-beta")
    assert veto["data"]["pr"] == pull.number


def test_a_vetoed_pr_a_person_reopens_is_theirs_to_merge(rolling: Rolling) -> None:
    """Reopening a vetoed PR is a person's act: metasup neither merges it when its window has passed
    nor closes it again (a person's merge of it is recorded as for a held PR, tested above)."""
    fake = rolling.fake
    assert rolling() == 0
    [pull] = rolling.promote_pulls()
    fake.advance(hours=1)
    fake.close_pull(REPO, pull.number, user="alice")
    fake.advance(hours=30)
    assert rolling() == 0
    assert rolling.events("vetoed", "momo-beta")
    fake.client().get_repo(REPO).get_pull(pull.number).edit(state="open")
    fake.advance(minutes=5)

    assert rolling() == 0

    assert fake.issue(REPO, pull.number).state == "open"
    assert not fake.issue(REPO, pull.number).pull.merged  # type: ignore[union-attr]
    assert f"PR #{pull.number} was reopened after its veto" in summary(rolling).replace("\\", "")
    fake.advance(hours=24 * 40)  # past the cooldown: still no merge, no close, no second PR
    assert rolling() == 0
    assert fake.issue(REPO, pull.number).state == "open"
    assert [p.number for p in rolling.promote_pulls()] == [pull.number]
