"""The Review: every value a run produces, as pydantic models (SPEC §4.1).

One model travels from ``supervisor`` to every renderer (JSON, PR comment, PR bodies, e-mail),
so a number can never be computed twice in two places. Floats are plain numbers or ``None``
(never NaN): the validators below turn NaN/inf into ``None`` so the JSON is always valid.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

SCHEMA_VERSION = "1.0"
MAX_REJECTED_LISTED = 100
"""How many rejected lines the report lists one by one; all are counted."""

Severity = Literal["NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
SEVERITY_ORDER: tuple[Severity, ...] = ("NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL")
Priority = Literal["P0", "P1", "P2"]
CLASS_SUBJECT_PREFIX = "class:"
"""How a strategy class is named where agents and classes share one namespace (kills, ledger)."""


def finite_or_none(value: object) -> object:
    """NaN and ±inf become ``None``: JSON has no NaN, and a missing value must read as missing."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:  # an int of hundreds of digits: no float, so no finite number
            return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalars
        return finite_or_none(value.item())
    return value


OptFloat = Annotated[float | None, BeforeValidator(finite_or_none), AfterValidator(finite_or_none)]
"""A number or ``None``; NaN and ±inf are ``None``, also when a JSON file spells them ``"NaN"`` or
``"inf"`` (pydantic reads such strings as floats after the first check: "nan%" in a comment)."""


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Metrics(Model):
    """SPEC §3.2 for one agent or one strategy class; fractions are fractions, money is USD."""

    realized_pnl_30d: float = 0.0
    alpha_30d: OptFloat = None
    hit_rate: OptFloat = None
    mean_confidence: OptFloat = None
    confidence_decay: OptFloat = None
    brier: OptFloat = None
    volatility: OptFloat = None
    behavioral_score: OptFloat = None
    safety_violations_30d: int = 0
    cost_30d: float = 0.0
    cost_drift: OptFloat = None
    alpha_period: list[OptFloat] = Field(default_factory=lambda: list[float | None]([None] * 4))
    regime_mismatch_periods: int = 0
    signals_emitted: int = 0
    signals_realized: int = 0
    signals_open: int = 0
    signals_no_price: int = 0
    coverage: OptFloat = None


class Gate(Model):
    name: str
    passed: bool
    value: Any = None
    threshold: Any = None
    evidence: str


class Promotion(Model):
    result: Literal["APPROVED", "BLOCKED", "NOT_APPLICABLE"]
    gates: list[Gate] = Field(default_factory=list)


class Rule(Model):
    name: str
    triggered: bool
    value: Any = None


class Retirement(Model):
    kill: bool = False
    rules: list[Rule] = Field(default_factory=list)


class Calibration(Model):
    """Murphy's decomposition of the Brier score over 10 equal-width confidence bins (SPEC §3.7)."""

    reliability: OptFloat = None
    resolution: OptFloat = None
    uncertainty: OptFloat = None


class Skill(Model):
    """Evidence of skill over the agent's track record (SPEC §3.7); nulls where undefined.

    ``sharpe`` is per trading day (not annualized); ``psr`` is PSR(0); ``dsr`` is PSR(``sr0``),
    ``sr0`` the Sharpe ratio the best of ``trials`` skill-less strategies would show by luck.
    """

    track_record_days: float
    n: int = 0
    effective_n: OptFloat = None
    """``n`` over the overlap of its values' holding periods (``n`` when none overlap; ``docs/gates.md``,
    "Overlapping holding periods"): the PSR, the DSR and MinTRL count these."""
    sharpe: OptFloat = None
    skewness: OptFloat = None
    kurtosis: OptFloat = None
    psr: OptFloat = None
    dsr: OptFloat = None
    trials: int | None = None
    sr0: OptFloat = None
    min_track_record_days: int | None = None
    eligible_in_days: int | None = None
    prod_correlation: OptFloat = None
    prod_book_days: int = 0
    common_days: int = 0
    marginal_alpha: OptFloat = None
    marginal_alpha_t: OptFloat = None
    calibration: Calibration = Field(default_factory=Calibration)


class Demotion(Model):
    """SPEC §3.8 for a prod agent: is its live edge negative with 1 − ``threshold`` confidence?"""

    demoted: bool = False
    vetoed: bool = False
    window_days: float
    n: int = 0
    psr: OptFloat = None
    threshold: float
    evidence: str


class AgentReport(Model):
    agent: str
    strategy_class: str
    stage: str
    registered: bool = True
    metrics: Metrics
    promotion: Promotion
    retirement: Retirement
    skill: Skill | None = None
    demotion: Demotion | None = None
    status: str
    delta_vs_base: dict[str, OptFloat] = Field(default_factory=dict)


class ClassReport(Model):
    name: str
    status: str
    registered: bool = True
    registry_status: str | None = None
    agents: list[str] = Field(default_factory=list)
    metrics: Metrics
    retirement: Retirement
    delta_vs_base: dict[str, OptFloat] = Field(default_factory=dict)


class Allocation(Model):
    capital: float
    cash: float
    effective_agents: OptFloat = None
    weights: dict[str, float] = Field(default_factory=dict)
    capital_usd: dict[str, float] = Field(default_factory=dict)
    scores: dict[str, OptFloat] = Field(default_factory=dict)


class AttributionRow(Model):
    realized_pnl: float
    cost: float
    net: float
    share: OptFloat = None


class Attribution(Model):
    agents: dict[str, AttributionRow] = Field(default_factory=dict)
    classes: dict[str, AttributionRow] = Field(default_factory=dict)
    total_pnl: float = 0.0
    total_cost: float = 0.0


FindingKind = Literal[
    "ledger_broken",
    "safety_violation",
    "kill",
    "class_kill",
    "demotion",
    "regression_blocks",
    "promotion_blocked",
    "cost_drift",
    "cost_regression",
    "score_regression",
    "unregistered_agent",
    "data_quality",
    "benchmark_missing",
    "no_baseline",
    "stale_prices",
    "empty_file",
    "kill_list_unknown",
    "registered_no_signals",
    "regime_unseen",
    "benchmark_absent",
    "retirement_no_data",
]


class Finding(Model):
    kind: FindingKind
    title: str
    impact: str
    evidence: str
    severity: Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
    agent: str | None = None
    strategy_class: str | None = None


class Recommendation(Model):
    change: str
    priority: Priority
    agent: str | None = None


class FileQuality(Model):
    path: str
    lines: int = 0
    accepted: int = 0
    rejected: int = 0
    ignored: int = 0


class RejectedLine(Model):
    file: str
    line: int
    reason: str


class DataQuality(Model):
    """What the loaders refused and why: nothing is dropped without a line here."""

    files: list[FileQuality] = Field(default_factory=list)
    rejected: list[RejectedLine] = Field(default_factory=list, description="the first 100")
    rejected_total: int = 0
    duplicates: int = 0
    cost_unknown: int = Field(
        default=0, description="accepted `run` events with `cost_usd: null`: runs of unknown cost, adding 0"
    )
    benchmark_missing: int = 0


class BaseInfo(Model):
    ref: str
    source: Literal["snapshot", "git", "none"] = "none"


class Review(Model):
    schema_version: str = SCHEMA_VERSION
    run_id: str
    as_of: str
    base: BaseInfo
    overall_severity: Severity = "NONE"
    agents: list[AgentReport] = Field(default_factory=list)
    strategy_classes: list[ClassReport] = Field(default_factory=list)
    allocation: Allocation
    attribution: Attribution = Attribution()
    findings: list[Finding] = Field(default_factory=list)
    recommendations: list[Recommendation] = Field(default_factory=list)
    data_quality: DataQuality = DataQuality()

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False, allow_nan=False)


def review_json_schema() -> dict[str, Any]:
    """The JSON Schema shipped in the package (``metasup/review.schema.json``)."""
    text = resources.files("metasup").joinpath("review.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def generated_json_schema() -> dict[str, Any]:
    """The schema as pydantic derives it from ``Review``; the shipped file must equal it."""
    schema = Review.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/marketagents/metasup/review.schema.json"
    return schema


if __name__ == "__main__":  # python -m metasup.model.review > metasup/review.schema.json
    print(json.dumps(generated_json_schema(), indent=2, sort_keys=True))
