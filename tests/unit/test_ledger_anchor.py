"""The ledger head anchor (pure) and who owns a metasup-named PR (pure), plus ``ledger verify --anchor``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from metasup.cli import main
from metasup.github import PullFacts
from metasup.model.pulls import PullState
from metasup.rolling.audit_anchor import (
    LedgerAnchor,
    anchors_in_message,
    check_anchors,
    head_anchor,
    parse_anchor,
)
from metasup.rolling.audit_ledger import NewEntry, append_new, serialize
from metasup.rolling.ownership import RecordedHeads, classify

RECORDS = append_new(
    [], [NewEntry(event="killed", subject=f"agent-{i}") for i in range(5)], "2026-10-05T06:00:00Z", "1"
)


def test_anchor__trailer_round_trips_through_a_commit_message() -> None:
    anchor = head_anchor(RECORDS)
    assert anchor is not None
    assert anchor.seq == 5
    message = f"metasup: update supervision state\n\n{anchor.trailer()}\n"
    assert anchors_in_message(message) == [anchor]
    assert anchors_in_message("Update files") == []
    assert head_anchor([]) is None


def test_anchor__intact_ledger_holds_every_earlier_anchor() -> None:
    anchors = [LedgerAnchor(r.seq, r.hash) for r in RECORDS]
    assert check_anchors(RECORDS, anchors) is None
    assert check_anchors(RECORDS, []) is None


def test_anchor__cut_tail_is_found() -> None:
    anchor = LedgerAnchor(RECORDS[-1].seq, RECORDS[-1].hash)
    problem = check_anchors(RECORDS[:3], [anchor])
    assert problem is not None
    assert problem.kind == "anchor_missing"
    assert problem.seq == 5
    assert "tail was cut off" in str(problem)
    assert check_anchors([], [anchor]) is not None


def test_anchor__rewritten_record_is_found() -> None:
    other = append_new(
        RECORDS[:2], [NewEntry(event="killed", subject="someone-else")], "2026-10-06T06:00:00Z", "2"
    )
    problem = check_anchors([*RECORDS[:2], *other], [LedgerAnchor(3, RECORDS[2].hash)])
    assert problem is not None
    assert problem.kind == "anchor_mismatch"
    assert problem.line == 3


def test_anchor__argument_parsing() -> None:
    assert parse_anchor(f"5:{RECORDS[-1].hash}") == LedgerAnchor(5, RECORDS[-1].hash)
    for bad in ["5", f"0:{RECORDS[-1].hash}", "5:abc", f"x:{RECORDS[-1].hash}"]:
        with pytest.raises(ValueError, match="SEQ:HASH"):
            parse_anchor(bad)


def test_cli__ledger_verify_anchor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_text(serialize(RECORDS[:3]))
    assert main(["ledger", "verify", str(path), "--anchor", f"3:{RECORDS[2].hash}"]) == 0
    assert "1 anchor(s) hold" in capsys.readouterr().out
    assert main(["ledger", "verify", str(path), "--anchor", f"5:{RECORDS[4].hash}"]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "seq 5" in out
    assert "cut off" in out
    assert "anchored by --anchor," in out  # where the anchor came from: not "an earlier state commit"
    assert main(["ledger", "verify", str(path), "--anchor", "nonsense"]) == 2


# -- ownership ---------------------------------------------------------------------------------------

LOGIN = "github-actions[bot]"
BRANCH = "metasup/promote/alpha"


@dataclass(frozen=True)
class Facts:
    state: PullState
    author_login: str = LOGIN
    head_repo_full_name: str | None = "o/r"
    base_repo_full_name: str = "o/r"
    head_sha: str = "a" * 40
    base_ref: str = "main"
    closed_by: str | None = None

    is_metasups = PullFacts.is_metasups


def pull(
    number: int = 1,
    state: str = "open",
    branch: str = BRANCH,
    merged: bool = False,
    labels: frozenset[str] = frozenset(),
) -> PullState:
    created = datetime(2026, 10, 1, tzinfo=UTC)
    closed = created if state == "closed" else None
    return PullState(number, branch, state, merged, created, closed, labels)  # type: ignore[arg-type]


def test_ownership__recorded_heads_round_trip_and_bound() -> None:
    heads = RecordedHeads()
    for i in range(60):
        heads = heads.with_head(BRANCH, f"{i:040d}")
    assert len(heads.by_branch[BRANCH]) == 50
    assert RecordedHeads.parse(heads.to_text()) == heads
    assert heads.recorded_for(BRANCH, f"{59:040d}") == f"{59:040d}"
    assert heads.recorded_for(BRANCH, "f" * 40) == f"{59:040d}"
    assert heads.recorded_for("other", "f" * 40) is None


def test_ownership__classify() -> None:
    heads = RecordedHeads().with_head(BRANCH, "a" * 40)
    owned = classify(
        [
            Facts(pull(1)),  # ours
            Facts(pull(2), head_sha="b" * 40),  # ours, moved
            Facts(pull(3), head_repo_full_name="alice/r", author_login="alice"),  # fork
            Facts(pull(4, branch="metasup/retire/x"), author_login="bob"),  # another user, same repo
            Facts(pull(5, state="closed"), author_login="bob"),  # closed, not ours: ignored
            Facts(pull(6, branch="metasup/demote/y")),  # ours by author, nothing recorded
            Facts(pull(7, branch="metasup/promote/z"), base_ref="release"),  # retargeted by a person
        ],
        LOGIN,
        heads.with_head("metasup/promote/z", "a" * 40),
        "main",
    )
    assert [p.number for p in owned.ours] == [1]
    assert owned.head_of == {1: "a" * 40}
    assert [p.number for p in owned.moved] == [2]
    assert owned.blocked == {BRANCH, "metasup/retire/x", "metasup/demote/y", "metasup/promote/z"}
    assert [w.split(" ")[1] for w in owned.warnings] == ["#3", "#4", "#6", "#7"]
    assert owned.warnings[-1].endswith(
        "it now targets release, not main; left alone (metasup merges only into that)"
    )
    assert "alice/r" in owned.warnings[0]
    assert "opened by bob" in owned.warnings[1]


def test_ownership__a_closed_pr_a_person_pushed_to_is_still_metasups_proposal() -> None:
    """Held (a person pushed), then closed or merged by a person: the veto or the promotion counts."""
    heads = RecordedHeads().with_head(BRANCH, "a" * 40)
    owned = classify(
        [
            Facts(pull(1, state="closed"), head_sha="b" * 40, closed_by="bob"),  # held, then closed
            Facts(pull(2, state="closed", merged=True), head_sha="b" * 40),  # held, then merged
            Facts(pull(3, state="closed"), head_sha="b" * 40, author_login="bob"),  # bob's own: no
            Facts(pull(4, state="closed"), head_sha="b" * 40, base_ref="release"),  # retargeted: no
        ],
        LOGIN,
        heads,
        "main",
    )
    assert [p.number for p in owned.ours] == [1, 2]
    assert owned.moved == []
    assert owned.warnings == []
    assert owned.blocked == frozenset()


def test_ownership__metasup_withdrawn_marks_only_a_close_metasup_made() -> None:
    withdrawn = frozenset({"auto-promote", "metasup-withdrawn"})
    heads = RecordedHeads().with_head(BRANCH, "a" * 40)
    owned = classify(
        [
            Facts(pull(1, state="closed", labels=withdrawn), closed_by=LOGIN),  # metasup withdrew it
            Facts(pull(2, state="closed", labels=withdrawn), closed_by="alice"),  # a person closed it
            Facts(pull(3, state="closed", labels=withdrawn)),  # an older PR: not asked, as labelled
            Facts(
                pull(4, state="closed", labels=frozenset({"auto-promote"})), closed_by=LOGIN
            ),  # label removed
            Facts(pull(5, state="closed", labels=frozenset({"auto-promote"})), closed_by="alice"),  # a veto
        ],
        LOGIN,
        heads,
        "main",
    )
    assert [sorted(p.labels) for p in owned.ours] == [
        ["auto-promote", "metasup-withdrawn"],
        ["auto-promote"],
        ["auto-promote", "metasup-withdrawn"],
        ["auto-promote", "metasup-withdrawn"],
        ["auto-promote"],
    ]
