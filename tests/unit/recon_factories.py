"""Reconciled signal frames and telemetry built by hand, for the metrics and what shares their sums.

Frames have exactly the columns and dtypes of docs/data-model.md; times are given in days before
``AS_OF``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from metasup.evaluate.metrics import MetricsTable, compute_metrics
from metasup.evaluate.reconcile import RESULT_COLUMNS
from metasup.model.artifacts import Artifacts
from metasup.model.config import Config
from metasup.model.registry import Registry
from metasup.model.review import DataQuality

AS_OF = pd.Timestamp("2024-03-31T00:00:00Z")
DAY = pd.Timedelta(days=1)
HOUR = pd.Timedelta(hours=1)

TIME_COLUMNS = ("ts", "entry_ts", "target_ts", "exit_ts")
TEXT_COLUMNS = ("signal_id", "agent", "strategy_class", "symbol", "status")
FLOAT_COLUMNS = (
    "confidence",
    "notional",
    "entry_price",
    "exit_price",
    "ret",
    "fee",
    "pnl",
    "bench_ret",
    "excess",
)
SIGNAL_COLUMNS = [
    "ts",
    "signal_id",
    "agent",
    "strategy_class",
    "symbol",
    "direction",
    "confidence",
    "horizon_s",
    "notional",
]
RECON_COLUMNS = (*SIGNAL_COLUMNS, *RESULT_COLUMNS)
"""The reconciled signals frame: the loader's signal columns, then ``reconcile``'s results."""


def before(days: float) -> pd.Timestamp:
    """``days`` before AS_OF (negative: after)."""
    return AS_OF - days * DAY


def _emission(
    agent: str,
    emitted_at: pd.Timestamp,
    strategy_class: str | None,
    symbol: str,
    confidence: float,
    notional: float,
) -> dict[str, Any]:
    """The fields a signal has from its emission on."""
    return {
        "ts": emitted_at,
        "agent": agent,
        "strategy_class": strategy_class,
        "symbol": symbol,
        "confidence": confidence,
        "notional": notional,
    }


def realized(
    agent: str,
    *,
    exited: float,
    ret: float,
    emitted: float | None = None,
    confidence: float = 0.5,
    notional: float = 10_000.0,
    excess: float | None = None,
    strategy_class: str | None = None,
    symbol: str = "AAA",
) -> dict[str, Any]:
    """A realized signal exiting ``exited`` days before AS_OF (emitted a day earlier by default)."""
    emitted_at = before(exited + 1 if emitted is None else emitted)
    exit_at = before(exited)
    return {
        **_emission(agent, emitted_at, strategy_class, symbol, confidence, notional),
        "entry_ts": emitted_at + HOUR,
        "entry_price": 100.0,
        "target_ts": exit_at,
        "exit_ts": exit_at,
        "exit_price": 100.0 * (1 + ret),
        "status": "realized",
        "ret": ret,
        "fee": 0.0,
        "pnl": notional * ret,
        "bench_ret": 0.0,
        "excess": ret if excess is None else excess,
    }


def pending(
    agent: str,
    *,
    emitted: float,
    status: str = "open",
    confidence: float = 0.5,
    strategy_class: str | None = None,
    symbol: str = "AAA",
) -> dict[str, Any]:
    """An ``open`` signal (entry found, exit pending) or a ``no_price`` one (no entry bar)."""
    emitted_at = before(emitted)
    has_entry = status == "open"
    return {
        **_emission(agent, emitted_at, strategy_class, symbol, confidence, 10_000.0),
        "entry_ts": emitted_at + HOUR if has_entry else pd.NaT,
        "entry_price": 100.0 if has_entry else np.nan,
        "target_ts": AS_OF + 10 * DAY if has_entry else pd.NaT,
        "exit_ts": pd.NaT,
        "exit_price": np.nan,
        "status": status,
        "ret": np.nan,
        "fee": np.nan,
        "pnl": np.nan,
        "bench_ret": np.nan,
        "excess": np.nan,
    }


def recon_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The reconciled signals frame of docs/data-model.md, built from row dicts."""
    data: dict[str, Any] = {column: [row.get(column) for row in rows] for column in RECON_COLUMNS}
    data["signal_id"] = [f"s{i}" for i in range(len(rows))]
    data["direction"] = np.ones(len(rows), dtype=np.int8)
    data["horizon_s"] = np.full(len(rows), 86_400, dtype=np.int64)
    frame = pd.DataFrame(data)
    for column in TIME_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.as_unit("ns")
    for column in TEXT_COLUMNS:
        frame[column] = frame[column].astype("str")
    for column in FLOAT_COLUMNS:
        frame[column] = frame[column].astype(np.float64)
    return frame


def events(rows: list[tuple[Any, ...]], columns: list[str], float_column: str | None = None) -> pd.DataFrame:
    """A telemetry frame; the first element of each row is 'days before AS_OF'."""
    frame = pd.DataFrame([(before(row[0]), *row[1:]) for row in rows], columns=columns)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).dt.as_unit("ns")
    for column in columns[1:]:
        if column == float_column:
            frame[column] = frame[column].astype(np.float64)
        else:
            frame[column] = frame[column].astype("str")
    return frame


def make_artifacts(
    recon: pd.DataFrame,
    *,
    costs: list[tuple[float, str, float, str]] | None = None,
    evals: list[tuple[float, str, float]] | None = None,
    violations: list[tuple[float, str]] | None = None,
    regimes: list[tuple[float, str, str | None]] | None = None,
) -> Artifacts:
    """Artifacts whose telemetry is given as (days_before, ...) tuples."""
    violation_rows = [(days, agent, "no-leverage", None, None) for days, agent in violations or []]
    return Artifacts(
        signals=recon[SIGNAL_COLUMNS],
        costs=events(list(costs or []), ["ts", "agent", "cost_usd", "kind"], "cost_usd"),
        evals=events(list(evals or []), ["ts", "agent", "score"], "score"),
        violations=events(violation_rows, ["ts", "agent", "rule", "severity", "detail"]),
        regimes=events(list(regimes or []), ["ts", "regime", "symbol"]),
        prices=pd.DataFrame({"ts": pd.to_datetime([], utc=True), "symbol": [], "price": []}),
        data_quality=DataQuality(),
    )


def make_registry(
    agents: list[dict[str, Any]] | None = None, classes: list[dict[str, Any]] | None = None
) -> Registry:
    return Registry.model_validate({"agents": agents or [], "strategy_classes": classes or []})


def make_config(**sections: dict[str, Any]) -> Config:
    return Config.model_validate({"artifacts": {"alpha": "alpha.jsonl", "prices": "prices.csv"}, **sections})


REGISTRY = make_registry(
    agents=[{"name": "alpha", "strategy_class": "momentum"}],
    classes=[{"name": "momentum"}],
)


def metrics_of(
    rows: list[dict[str, Any]],
    registry: Registry = REGISTRY,
    config: Config | None = None,
    **telemetry: Any,
) -> MetricsTable:
    recon = recon_frame(rows)
    return compute_metrics(
        recon, make_artifacts(recon, **telemetry), registry, config or make_config(), AS_OF
    )
