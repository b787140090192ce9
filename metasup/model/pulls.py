"""A metasup pull request as GitHub shows it: the value ``github/`` builds and ``rolling/`` reads.

It lives here, at the base, so that the github wing can build it without importing the rolling
wing (and a review-mode run, which lists no pull request, without loading the rolling plan).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal


@dataclass(frozen=True)
class PullState:
    """A metasup pull request as GitHub shows it (built by ``metasup.github.pulls``)."""

    number: int
    branch: str
    state: Literal["open", "closed"]
    merged: bool
    created_at: datetime
    closed_at: datetime | None = None
    labels: frozenset[str] = frozenset()
    changes_requested: bool = False
    branch_parent: str | None = None
    url: str = ""


def account_name(login: str | None) -> str:
    """How a message names an author (None: GitHub's ``user: null``, a deleted account)."""
    return login or "a deleted account"
