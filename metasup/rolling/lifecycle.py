"""Which PR is which: branch names, labels and the two stage-change lifecycles (SPEC §3.8, §5).

An [AUTO-PROMOTE] and an [AUTO-DEMOTE] PR live the same life; a :class:`Lifecycle` holds what
differs (branch prefix, label, title, stages, audit events), so ``plan`` and ``execute`` run one
code path for both. [AUTO-RETIRE] branches have their own prefix and no lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from metasup.model.review import CLASS_SUBJECT_PREFIX
from metasup.render.filters import plain_line
from metasup.rolling.audit_ledger import LedgerEvent
from metasup.rolling.slugs import branch_slug, hashed_slug

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
        """The PR's title: the agent's name pings and links nobody (:func:`plain_line`)."""
        return f"[{self.tag}] {plain_line(agent)}: {self.from_stage} → {self.to_stage}"


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
    """``metasup/retire/<agent>``, or ``metasup/retire/class-<class>``. An agent whose slug starts
    with ``class-`` gets its hashed slug: ``class-foo`` had the branch of class ``foo`` (found by a
    review), so the two retirements would have shared one PR."""
    if subject.startswith(CLASS_SUBJECT_PREFIX):
        return RETIRE_PREFIX + "class-" + branch_slug(subject.removeprefix(CLASS_SUBJECT_PREFIX))
    slug = branch_slug(subject)
    return RETIRE_PREFIX + (hashed_slug(subject) if slug.startswith("class-") else slug)
