"""The ledger head anchor (SPEC §5 "Ledger head anchor"): what the hash chain alone cannot show.

A chain shows every edit, insertion and reordering, but not a tail cut off the end: what is left
is still a valid chain. So every state-branch commit that writes ``ledger.jsonl`` says in its
message which record was last: ``Ledger-Head: <seq> <hash>``. A record once anchored must still
be there, with the same hash; because each record's hash covers ``prev_hash``, a matching anchor
also vouches for every record before it.

Pure: text and records in, values out. Reading commit messages is ``rolling.state``'s job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from metasup.rolling.audit_records import LedgerProblem, LedgerRecord

ANCHOR_TRAILER = "Ledger-Head"
_TRAILER = re.compile(rf"^{ANCHOR_TRAILER}:[ \t]*(\d+)[ \t]+([0-9a-f]{{64}})[ \t]*$", re.MULTILINE)
_ARGUMENT = re.compile(r"^(\d+):([0-9a-f]{64})$")


@dataclass(frozen=True, order=True)
class LedgerAnchor:
    """The ledger's last record (``seq``, ``hash``) as a state commit recorded it."""

    seq: int
    hash: str

    def trailer(self) -> str:
        """The commit-message line: ``Ledger-Head: <seq> <hash>``."""
        return f"{ANCHOR_TRAILER}: {self.seq} {self.hash}"

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


def head_anchor(records: Sequence[LedgerRecord]) -> LedgerAnchor | None:
    """The anchor of a ledger: its last record (None for an empty ledger)."""
    return LedgerAnchor(records[-1].seq, records[-1].hash) if records else None


def anchors_in_message(message: str) -> list[LedgerAnchor]:
    """Every ``Ledger-Head:`` line of a commit message (usually none or one)."""
    return [LedgerAnchor(int(seq), digest) for seq, digest in _TRAILER.findall(message)]


def parse_anchor(text: str) -> LedgerAnchor:
    """``SEQ:HASH`` (the CLI's ``--anchor``); raises ValueError saying what is expected."""
    found = _ARGUMENT.match(text.strip())
    if found is None or int(found.group(1)) < 1:
        raise ValueError(f"an anchor is SEQ:HASH (seq ≥ 1, 64 lowercase hex digits), got {text!r}")
    return LedgerAnchor(int(found.group(1)), found.group(2))


def check_anchors(
    records: Sequence[LedgerRecord],
    anchors: Iterable[LedgerAnchor],
    anchored_by: str = "an earlier state commit",
) -> LedgerProblem | None:
    """The first anchor (highest ``seq`` first) ``records`` no longer hold, as a problem; else None.
    ``anchored_by`` says where the anchors come from, for the problem's text.

    ``records`` must be a verified chain (``audit_ledger.parse_ledger``): then ``seq`` n is line n.
    """
    for anchor in sorted(set(anchors), reverse=True):
        if anchor.seq > len(records):
            last = f"seq {records[-1].seq}" if records else "no record at all"
            return LedgerProblem(
                line=len(records) + 1,
                seq=anchor.seq,
                kind="anchor_missing",
                detail=(
                    f"record seq {anchor.seq} ({anchor.hash[:12]}…), anchored by {anchored_by}, is "
                    f"gone: the ledger ends at {last}; its tail was cut off"
                ),
            )
        record = records[anchor.seq - 1]
        if record.hash != anchor.hash:
            return LedgerProblem(
                line=anchor.seq,
                seq=anchor.seq,
                kind="anchor_mismatch",
                detail=(
                    f"record seq {anchor.seq} has hash {record.hash[:12]}…, but {anchored_by} "
                    f"anchored {anchor.hash[:12]}…: the ledger was rewritten from there on"
                ),
            )
    return None
