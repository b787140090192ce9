"""Which PR is which: branch names, labels and the two stage-change lifecycles (SPEC §3.8, §5).

An [AUTO-PROMOTE] and an [AUTO-DEMOTE] PR live the same life; a :class:`Lifecycle` holds what
differs (branch prefix, label, title, stages, audit events), so ``plan`` and ``execute`` run one
code path for both. [AUTO-RETIRE] branches have their own prefix and no lifecycle.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

from metasup.model.review import CLASS_SUBJECT_PREFIX
from metasup.rolling.audit_ledger import LedgerEvent

PROMOTE_PREFIX = "metasup/promote/"
DEMOTE_PREFIX = "metasup/demote/"
RETIRE_PREFIX = "metasup/retire/"
PROMOTE_LABEL = "auto-promote"
DEMOTE_LABEL = "auto-demote"
RETIRE_LABEL = "auto-retire"
WITHDRAWN_LABEL = "metasup-withdrawn"

Kind = Literal["promote", "demote"]


@dataclass(frozen=True)
class Lifecycle:
    """What differs between an [AUTO-PROMOTE] and an [AUTO-DEMOTE] PR; everything else is shared."""

    kind: Kind
    prefix: str
    label: str
    tag: str
    from_stage: Literal["sandbox", "prod"]
    to_stage: Literal["sandbox", "prod"]
    proposed: LedgerEvent
    done: LedgerEvent
    vetoed: LedgerEvent
    withdrawn: LedgerEvent
    held: LedgerEvent

    def branch(self, agent: str) -> str:
        return self.prefix + branch_slug(agent)

    def title(self, agent: str) -> str:
        return f"[{self.tag}] {agent}: {self.from_stage} → {self.to_stage}"


PROMOTION = Lifecycle(
    "promote", PROMOTE_PREFIX, PROMOTE_LABEL, "AUTO-PROMOTE", "sandbox", "prod",
    "promotion_proposed", "promoted", "vetoed", "promotion_withdrawn", "promotion_held",
)  # fmt: skip
DEMOTION = Lifecycle(
    "demote", DEMOTE_PREFIX, DEMOTE_LABEL, "AUTO-DEMOTE", "prod", "sandbox",
    "demotion_proposed", "demoted", "demotion_vetoed", "demotion_withdrawn", "demotion_held",
)  # fmt: skip
LIFECYCLES: dict[Kind, Lifecycle] = {"promote": PROMOTION, "demote": DEMOTION}
VETO_EVENTS: dict[str, Kind] = {PROMOTION.vetoed: "promote", DEMOTION.vetoed: "demote"}

_UNSAFE_REF_CHARS = re.compile(r"[^A-Za-z0-9._-]+|\.{2,}")
"""Characters a branch name may not hold, and ``..`` (``git check-ref-format``)."""

MAX_SLUG = 100
"""Longest name kept as it is: a branch name is a file under ``.git/refs`` (255 bytes at most)."""


def branch_slug(name: str) -> str:
    """A git-ref-safe form of an agent or class name; a hash keeps distinct names distinct.

    Safe means ``git check-ref-format`` accepts it after a prefix: no ``..``, no leading or
    trailing ``.``, no ``.lock`` ending, and short enough to be a file name.
    """
    slug = _UNSAFE_REF_CHARS.sub("-", name).strip(".-").removesuffix(".lock").strip(".-") or "agent"
    if slug == name and len(name) <= MAX_SLUG:
        return slug
    return f"{slug[:60].rstrip('.-')}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def promote_branch(agent: str) -> str:
    return PROMOTION.branch(agent)


def demote_branch(agent: str) -> str:
    return DEMOTION.branch(agent)


def lifecycle_of(branch: str) -> Lifecycle | None:
    """The lifecycle a metasup stage-change branch belongs to (None for retire and other branches)."""
    return next((c for c in LIFECYCLES.values() if branch.startswith(c.prefix)), None)


def label_of(branch: str) -> str | None:
    """The label metasup's PR from ``branch`` carries (None for branches that are not metasup's)."""
    if branch.startswith(RETIRE_PREFIX):
        return RETIRE_LABEL
    lifecycle = lifecycle_of(branch)
    return lifecycle.label if lifecycle is not None else None


def retire_branch(subject: str) -> str:
    if subject.startswith(CLASS_SUBJECT_PREFIX):
        return RETIRE_PREFIX + "class-" + branch_slug(subject.removeprefix(CLASS_SUBJECT_PREFIX))
    return RETIRE_PREFIX + branch_slug(subject)
