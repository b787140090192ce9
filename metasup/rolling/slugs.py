"""Ref-safe names: an agent, class or branch name as it may appear in a git branch or file name.

Both the PR branches (``lifecycle``) and the state branch's files (``state_layout``) use it; it
imports nothing, so a review that reads its baseline snapshot does not import the rolling
machinery.
"""

from __future__ import annotations

import hashlib
import re

_UNSAFE_REF_CHARS = re.compile(r"[^A-Za-z0-9._-]+|\.{2,}")
"""Characters a branch name may not hold, and ``..`` (``git check-ref-format``)."""

MAX_SLUG = 100
"""Longest name kept as it is: a branch name is a file under ``.git/refs`` (255 bytes at most)."""


def branch_slug(name: str) -> str:
    """A git-ref-safe form of an agent or class name; a hash keeps distinct names distinct.

    Safe means ``git check-ref-format`` accepts it after a prefix: no ``..``, no leading or
    trailing ``.``, no ``.lock`` ending, and short enough to be a file name.
    """
    slug = _safe(name)
    if slug == name and len(name) <= MAX_SLUG:
        return slug
    return hashed_slug(name)


def hashed_slug(name: str) -> str:
    """:func:`branch_slug` with the name's hash always appended: distinct from every plain slug."""
    return f"{_safe(name)[:60].rstrip('.-')}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _safe(name: str) -> str:
    return _UNSAFE_REF_CHARS.sub("-", name).strip(".-").removesuffix(".lock").strip(".-") or "agent"
