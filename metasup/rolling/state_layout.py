"""The state branch's layout: its name and where each file lives on it.

Review mode reads one file of it (the base's snapshot, the next PR's baseline) and rolling runs
read and write them all (``rolling.state``); this module alone knows the names, and imports
nothing heavier than the branch naming rules, so a review starts without the rolling machinery.
"""

from __future__ import annotations

from metasup.rolling.slugs import branch_slug

STATE_BRANCH = "metasup-state"
AUDIT_LEDGER_PATH = "ledger.jsonl"
ALLOCATION_PATH = "allocation.json"
EMAIL_CLAIMS_PATH = "email-claims.json"
PULLS_PATH = "pulls.json"


def snapshot_path(ref: str) -> str:
    """Where the review of ``ref`` is kept on the state branch (the next PRs' baseline)."""
    return f"snapshots/{branch_slug(ref)}.json"
