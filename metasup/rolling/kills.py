"""Kills that stand (SPEC §3.4): decided from the audit ledger, metasup's PRs and the registry. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from metasup.model.pulls import PullState
from metasup.model.registry import Registry
from metasup.model.review import CLASS_SUBJECT_PREFIX
from metasup.rolling.audit_ledger import LedgerRecord
from metasup.rolling.lifecycle import retire_branch


def kills_in_force(
    records: Sequence[LedgerRecord], pulls: Sequence[PullState], registry: Registry
) -> set[str]:
    """Subjects killed by earlier runs that stay excluded (SPEC §3.4: until the registry says otherwise).

    A kill is lifted when a person closes its [AUTO-RETIRE] PR unmerged, or when the registry
    entry changed since the kill (its ``stage``/``status`` differs from the one recorded then —
    a merged retire PR makes it ``retired``/``killed``, which excludes it anyway).
    """
    refused = {p.branch for p in pulls if p.state == "closed" and not p.merged}
    kept: set[str] = set()
    for record in records:
        if record.event != "killed" or retire_branch(record.subject) in refused:
            continue
        now: str | None
        if record.subject.startswith(CLASS_SUBJECT_PREFIX):
            klass = registry.strategy_class(record.subject.removeprefix(CLASS_SUBJECT_PREFIX))
            now = klass.status if klass is not None else None
        else:
            agent = registry.agent(record.subject)
            now = agent.stage if agent is not None else None
        if now is not None and now == record.data.get("registry"):
            kept.add(record.subject)
    return kept
