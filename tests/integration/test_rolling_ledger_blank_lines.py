"""A blank line in the audit ledger (SPEC §5 "Audit ledger"), end to end through the action against
the fake GitHub: one at the end — what an editor or GitHub's web editor leaves — changes no record
and stops nothing; one between records is still a broken chain, named by its line."""

from __future__ import annotations

from test_action_rolling import REPO, STATE, Rolling
from test_action_rolling_safety import next_run_fails_writing_nothing, rolling

from metasup.rolling.audit_ledger import parse_ledger, serialize, verify_ledger

__all__ = ["rolling"]  # the fixture, shared with test_action_rolling_safety


def ledger_text(rolling: Rolling) -> str:
    text: str = rolling.fake.read_file(REPO, "ledger.jsonl", ref=STATE)
    return text


def test_a_blank_line_left_at_the_end_of_the_ledger_stops_nothing(rolling: Rolling) -> None:
    """bob opens ledger.jsonl in the web editor and saves it with an empty last line; alice then
    vetoes metasup's PR. The next runs record the veto right after the last record: the ledger is
    canonical again, its earlier records untouched, each fact once."""
    fake = rolling.fake
    assert rolling() == 0
    before = ledger_text(rolling)
    fake.commit_files(REPO, STATE, {"ledger.jsonl": before + "\n"}, user="bob")
    [pull] = rolling.promote_pulls()
    fake.close_pull(REPO, pull.number, user="alice")
    fake.advance(hours=6)

    assert rolling() == 0

    assert "CRITICAL" not in rolling.stdout
    after = ledger_text(rolling)
    records = parse_ledger(after)
    assert after.startswith(before)
    assert serialize(records) == after  # no blank line left between the records
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    [veto] = [r for r in records if r.event == "vetoed"]
    assert veto.seq == len(parse_ledger(before)) + 1
    fake.advance(hours=6)
    assert rolling() == 0
    assert ledger_text(rolling) == after  # re-running records nothing twice


def test_a_blank_line_between_records_is_named_by_its_line(rolling: Rolling) -> None:
    assert rolling() == 0
    lines = ledger_text(rolling).splitlines(keepends=True)
    edited = "".join([*lines[:2], "\n", *lines[2:]])
    rolling.fake.commit_files(REPO, STATE, {"ledger.jsonl": edited}, user="bob")

    next_run_fails_writing_nothing(rolling)

    assert "::error::CRITICAL: Audit ledger chain broken" in rolling.stdout
    assert "audit ledger broken at line 3: a blank line between records (after seq 2)" in rolling.stdout
    assert verify_ledger(ledger_text(rolling)) is not None  # left as it is, for a person to repair
