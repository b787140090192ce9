"""What one rolling run is given (:class:`RollingContext`) and what it reports (:class:`RollingOutcome`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from metasup.model.review import Review
from metasup.rolling.dashboard import ListedPromotion
from metasup.rolling.plan import RollingPlan


@dataclass(frozen=True)
class RollingContext:
    """What the shell needs besides the client: plain values from the action settings."""

    repository: str
    base_ref: str
    registry_path: str
    run_id: str
    run_link: str
    now: datetime
    as_of: pd.Timestamp | None
    dry_run: bool
    environ: Mapping[str, str]


@dataclass
class RollingOutcome:
    review: Review
    plan: RollingPlan
    promote_prs: list[int] = field(default_factory=list)
    open_promotions: list[ListedPromotion] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    audit_ledger_broken: bool = False
