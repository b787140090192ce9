"""LP performance metrics (SPEC §6): the functional core behind the LP e-mail and ``metasup report``.

Everything here is pure: frames and timestamps in, an :class:`LpReport` out; no clock, no I/O.
Rendering and sending live in :mod:`metasup.lp.email`.

* **Booking.** The fund's books close once per UTC weekday. A realized signal is booked on the
  UTC date of its ``exit_ts``; a Saturday or Sunday exit on the following Monday. Telemetry costs
  and ledger events are booked the same way, so every exit, cost and event belongs to exactly
  one daily and one weekly period.
* **Daily returns** (:func:`daily_returns`): per booked weekday, realized PnL (after fees) of
  the prod agents' signals / ``portfolio.capital``; zero on a weekday without exits.
* **Risk statistics** follow empyrical-reloaded on that series, from inception to the end of the
  reported period: ``√252`` annualization, ``ddof=1``, daily risk-free rate = annual / 252,
  compounded cumulative returns, drawdown as a negative fraction of the running peak (the
  starting capital counts as a peak). Too short a series gives ``None`` (JSON ``null``), and
  so does a ratio whose denominator is zero (constant returns, no losing day).

``docs/lp-report.md`` is the long version, with the cadence rules of :func:`due_period`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import ConfigDict, Field

from metasup.evaluate.reconcile import REALIZED, reconcile
from metasup.model.artifacts import Artifacts
from metasup.model.config import Config
from metasup.model.registry import UNCLASSIFIED
from metasup.model.review import Model, OptFloat, Review
from metasup.model.timestamps import utc

TRADING_DAYS_PER_YEAR = 252
Cadence = Literal["daily", "weekly"]
PeriodKind = Literal["daily", "weekly", "custom"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LOG_EVENTS: tuple[str, ...] = ("promoted", "vetoed", "promotion_withdrawn", "killed")
"""Ledger events that make the promotion/demotion log of an e-mail."""

FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# Periods and cadence
# --------------------------------------------------------------------------------------------


class Period(Model):
    """Booked days ``start..end`` (inclusive UTC dates) and the key that makes sending idempotent."""

    kind: PeriodKind
    key: str
    start: dt.date
    end: dt.date
    label: str

    @classmethod
    def between(cls, start: dt.date, end: dt.date) -> Period:
        """The period of those days; a single day is ``daily``, an ISO week Mon–Sun ``weekly``."""
        if end < start:
            raise ValueError(f"period ends ({end}) before it starts ({start})")
        if start == end:
            return cls(kind="daily", key=f"daily:{start}", start=start, end=end, label=f"{start:%a} {start}")
        year, week, weekday = start.isocalendar()
        if weekday == 1 and end == start + dt.timedelta(days=6):
            label = f"week {year}-W{week:02d} ({start:%b} {start.day} – {end:%b} {end.day})"
            return cls(kind="weekly", key=f"weekly:{year}-W{week:02d}", start=start, end=end, label=label)
        return cls(
            kind="custom", key=f"custom:{start}..{end}", start=start, end=end, label=f"{start} – {end}"
        )


def _utc_date(as_of: pd.Timestamp) -> dt.date:
    return utc(as_of).date()


def _previous_weekday(day: dt.date) -> dt.date:
    back = {0: 3, 6: 2}.get(day.weekday(), 1)  # Monday → Friday, Sunday → Friday, else yesterday
    return day - dt.timedelta(days=back)


def period_containing(day: dt.date, cadence: Cadence) -> Period:
    """The daily period of ``day`` or the ISO week (Mon–Sun) that contains it."""
    if cadence == "daily":
        return Period.between(day, day)
    monday = day - dt.timedelta(days=day.weekday())
    return Period.between(monday, monday + dt.timedelta(days=6))


def last_complete_period(as_of: pd.Timestamp, cadence: Cadence) -> Period:
    """The period a report made at ``as_of`` covers, due or not.

    Daily: the last weekday strictly before ``as_of``'s UTC date. Weekly: the last ISO week
    (Mon–Sun) that ended strictly before ``as_of``'s UTC date.
    """
    today = _utc_date(as_of)
    if cadence == "daily":
        return period_containing(_previous_weekday(today), "daily")
    return period_containing(today - dt.timedelta(days=today.weekday() + 1), "weekly")


def due_period(as_of: pd.Timestamp, cadence: Cadence, weekday: str = "mon") -> Period | None:
    """The period whose e-mail is due at ``as_of``, or ``None`` when nothing is due.

    Daily: due on every run whose ``as_of`` falls on a UTC weekday (Mon–Fri), for the previous
    weekday (Monday reports Friday); nothing is due at a weekend ``as_of``. Weekly: due only
    when ``as_of``'s UTC weekday is ``weekday``, for the last ISO week that ended before that
    date. Every run of the same day gets the same period (and key): the rolling run sends a key
    at most once, by looking for an ``email_sent`` ledger record with ``data.period == key``.
    """
    if weekday not in WEEKDAYS:
        raise ValueError(f"weekday must be one of {', '.join(WEEKDAYS)}, got {weekday!r}")
    today = _utc_date(as_of)
    if cadence == "daily":
        return last_complete_period(as_of, "daily") if today.weekday() < 5 else None
    return last_complete_period(as_of, "weekly") if WEEKDAYS[today.weekday()] == weekday else None


# --------------------------------------------------------------------------------------------
# Daily return series
# --------------------------------------------------------------------------------------------


def booked_day(ts: pd.Series) -> pd.Series:
    """UTC midnight of the weekday each timestamp is booked on (weekend → next Monday)."""
    day = pd.to_datetime(ts, utc=True).dt.floor("D")
    weekday = day.dt.day_of_week.to_numpy()
    shift = np.where(weekday >= 5, 7 - weekday, 0)
    return day + pd.Series(pd.to_timedelta(shift, unit="D"), index=day.index)


def _booked(stamp: pd.Timestamp) -> pd.Timestamp:
    result: pd.Timestamp = booked_day(pd.Series([utc(stamp)])).iloc[0]
    return result


def _prod_realized(recon: pd.DataFrame, prod_agents: Collection[str], as_of: pd.Timestamp) -> pd.DataFrame:
    mask = (
        (recon["status"] == REALIZED)
        & recon["agent"].isin(list(prod_agents))
        & (recon["exit_ts"] <= as_of)
        & recon["pnl"].notna()
    )
    return recon.loc[mask]


def _empty_daily() -> pd.Series:
    index = pd.DatetimeIndex([], tz="UTC", name="date").as_unit("ns")
    return pd.Series([], index=index, dtype="float64", name="return")


def daily_returns(
    recon_signals: pd.DataFrame, prod_agents: Collection[str], capital: float, as_of: pd.Timestamp
) -> pd.Series:
    """Daily return on capital of the prod agents, one value per UTC weekday (SPEC §6).

    From the booked day of the first exit to the last weekday at or before ``as_of`` (or the
    Monday that a weekend exit before ``as_of`` is booked on): Σ pnl of the prod agents'
    realized signals booked that day / ``capital``; 0 on a weekday without exits. Empty when no
    prod signal has been realized. Index: tz-aware UTC midnights named ``date``.

    >>> daily_returns(recon, ["momo"], 1e6, as_of)   # doctest: +SKIP
    date
    2026-10-26 00:00:00+00:00    0.00042
    2026-10-27 00:00:00+00:00    0.00000
    Name: return, dtype: float64
    """
    as_of = utc(as_of)
    realized = _prod_realized(recon_signals, prod_agents, as_of)
    if realized.empty:
        return _empty_daily()
    pnl = realized["pnl"].groupby(booked_day(realized["exit_ts"]).to_numpy()).sum()
    last_weekday = pd.Timestamp(_previous_weekday(_utc_date(as_of) + dt.timedelta(days=1)), tz="UTC")
    end = max(last_weekday, pnl.index.max())
    days = pd.bdate_range(pnl.index.min(), end, tz="UTC", name="date").as_unit("ns")
    return (pnl.reindex(days, fill_value=0.0) / capital).astype("float64").rename("return")


# --------------------------------------------------------------------------------------------
# Statistics on daily returns (empyrical-reloaded's conventions)
# --------------------------------------------------------------------------------------------


def annual_volatility(returns: FloatArray) -> float:
    """``std(r, ddof=1) · √252``; NaN under 2 returns."""
    if len(returns) < 2:
        return math.nan
    return float(np.std(returns, ddof=1) * math.sqrt(TRADING_DAYS_PER_YEAR))


def sharpe_ratio(returns: FloatArray, risk_free: float = 0.0) -> float:
    """``mean(r − rf) / std(r − rf, ddof=1) · √252`` (``rf`` daily); NaN under 2 returns, ±inf/NaN
    when the returns are constant (empyrical treats their deviation as exactly 0)."""
    if len(returns) < 2:
        return math.nan
    adjusted = returns - risk_free
    std = 0.0 if adjusted.max() == adjusted.min() else float(np.std(adjusted, ddof=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.divide(np.mean(adjusted), std) * math.sqrt(TRADING_DAYS_PER_YEAR))


def downside_risk(returns: FloatArray, required_return: float = 0.0) -> float:
    """``√mean(min(r − required, 0)²) · √252`` (empyrical's downside deviation); NaN when empty."""
    if len(returns) < 1:
        return math.nan
    shortfall = np.minimum(returns - required_return, 0.0)
    return float(math.sqrt(float(np.mean(np.square(shortfall)))) * math.sqrt(TRADING_DAYS_PER_YEAR))


def sortino_ratio(returns: FloatArray, required_return: float = 0.0) -> float:
    """``mean(r − required) · 252 / downside_risk``; NaN under 2 returns, +inf with no shortfall."""
    if len(returns) < 2:
        return math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        annual = np.mean(returns - required_return) * TRADING_DAYS_PER_YEAR
        return float(np.divide(annual, downside_risk(returns, required_return)))


def drawdowns(returns: FloatArray) -> FloatArray:
    """Drawdown after each day: compounded wealth / running peak − 1 (≤ 0); the start is a peak."""
    wealth = np.concatenate(([1.0], np.cumprod(1.0 + returns)))
    peak = np.maximum.accumulate(wealth)
    result: FloatArray = (wealth / peak - 1.0)[1:]
    return result


def cumulative_return(returns: FloatArray) -> float:
    """``Π(1 + r) − 1``; NaN for no returns (empyrical's ``cum_returns_final``)."""
    return float(np.prod(1.0 + returns) - 1.0) if len(returns) else math.nan


# --------------------------------------------------------------------------------------------
# The report model
# --------------------------------------------------------------------------------------------


class PeriodInfo(Model):
    start: dt.date
    end: dt.date
    key: str
    kind: PeriodKind
    label: str


class PnlBlock(Model):
    """USD for ``pnl``; compounded return on capital (a fraction) for ``returns``."""

    period: OptFloat = None
    mtd: OptFloat = None
    qtd: OptFloat = None
    ytd: OptFloat = None
    since_inception: OptFloat = None


class LpAttributionRow(Model):
    pnl: float
    fees: float
    costs: float
    net: float
    contribution: float
    share: OptFloat = None


class LpAttribution(Model):
    agents: dict[str, LpAttributionRow] = Field(default_factory=dict)
    classes: dict[str, LpAttributionRow] = Field(default_factory=dict)


class Bridge(Model):
    gross: float
    fees: float
    costs: float
    net: float


class DailyReturn(Model):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=True, serialize_by_alias=True)

    day: str = Field(alias="date")
    value: float = Field(alias="return")


class SignalCounts(Model):
    realized: int = 0
    won: int = 0
    lost: int = 0
    flat: int = 0


class StrategyState(Model):
    name: str
    status: str
    active: bool
    strategy_class: str | None = None


class Strategies(Model):
    classes: list[StrategyState] = Field(default_factory=list)
    agents: list[StrategyState] = Field(default_factory=list)


class LogEntry(Model):
    ts: str
    event: str
    subject: str
    detail: str = ""


class LpReport(Model):
    """SPEC §6's JSON (``period`` … ``daily``) plus what the e-mail shows."""

    period: PeriodInfo
    pnl: PnlBlock
    returns: PnlBlock
    volatility: OptFloat = None
    sharpe: OptFloat = None
    sortino: OptFloat = None
    max_drawdown: OptFloat = None
    current_drawdown: OptFloat = None
    best_day: OptFloat = None
    best_day_date: str | None = None
    worst_day: OptFloat = None
    worst_day_date: str | None = None
    hit_rate: OptFloat = None
    signals: SignalCounts = SignalCounts()
    attribution: LpAttribution = LpAttribution()
    bridge: Bridge
    daily: list[DailyReturn] = Field(default_factory=list)
    as_of: str
    capital: float
    risk_free_rate: float = 0.0
    inception: str | None = None
    strategies: Strategies = Strategies()
    log: list[LogEntry] = Field(default_factory=list)

    def to_json(self) -> str:
        data = self.model_dump(mode="json", by_alias=True)
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)


# --------------------------------------------------------------------------------------------
# Computing it
# --------------------------------------------------------------------------------------------


def lp_metrics(
    daily: pd.Series,
    recon_signals: pd.DataFrame,
    costs: pd.DataFrame,
    prod_agents: Collection[str],
    agent_class: Mapping[str, str],
    capital: float,
    period_start: pd.Timestamp | dt.date,
    period_end: pd.Timestamp | dt.date,
    as_of: pd.Timestamp,
    risk_free_rate: float = 0.0,
    ledger_records: Sequence[Mapping[str, Any]] = (),
    strategies: Strategies | None = None,
) -> LpReport:
    """The LP report of the booked days ``period_start..period_end`` (inclusive UTC dates).

    Risk statistics use ``daily`` (from :func:`daily_returns`) from inception to the end of the
    period; PnL, hit rate, attribution and bridge use the prod agents' realized signals and costs
    booked in the period. ``risk_free_rate`` is annual. Frames as in ``docs/data-model.md``;
    ``ledger_records`` are mappings with ``ts, event, subject, data`` (``ledger.LedgerRecord``).
    """
    as_of = utc(as_of)
    period = Period.between(_utc_date(utc(period_start)), _utc_date(utc(period_end)))
    start, end = utc(period.start), utc(period.end)
    series = daily.loc[daily.index <= end]
    values = series.to_numpy(dtype="float64")
    rf_daily = risk_free_rate / TRADING_DAYS_PER_YEAR

    signals = _prod_realized(recon_signals, prod_agents, as_of)
    signals = signals.assign(booked=booked_day(signals["exit_ts"]).to_numpy())
    spent = costs.loc[(costs["ts"] <= as_of) & costs["agent"].isin(list(prod_agents))]
    spent = spent.assign(booked=booked_day(spent["ts"]).to_numpy())
    in_period = signals.loc[(signals["booked"] >= start) & (signals["booked"] <= end)]
    costs_in_period = spent.loc[(spent["booked"] >= start) & (spent["booked"] <= end)]

    pnl, returns = {}, {}
    for name, first in _block_starts(period, as_of).items():
        booked = signals.loc[(signals["booked"] >= first) & (signals["booked"] <= end)]
        pnl[name] = float(booked["pnl"].sum())
        returns[name] = cumulative_return(series.loc[series.index >= first].to_numpy(dtype="float64"))

    dd = drawdowns(values)
    fees = float(in_period["fee"].sum())
    total_costs = float(costs_in_period["cost_usd"].sum())
    gross = float(in_period["pnl"].sum()) + fees
    nonzero = in_period["pnl"].to_numpy(dtype="float64")
    won, lost = int((nonzero > 0).sum()), int((nonzero < 0).sum())
    return LpReport(
        period=PeriodInfo(**period.model_dump()),
        pnl=PnlBlock(**pnl),
        returns=PnlBlock(**returns),
        volatility=annual_volatility(values),
        sharpe=sharpe_ratio(values, rf_daily),
        sortino=sortino_ratio(values, rf_daily),
        max_drawdown=float(dd.min()) if len(dd) else None,
        current_drawdown=float(dd[-1]) if len(dd) else None,
        best_day=float(series.max()) if len(series) else None,
        best_day_date=_date_text(series.idxmax()) if len(series) else None,
        worst_day=float(series.min()) if len(series) else None,
        worst_day_date=_date_text(series.idxmin()) if len(series) else None,
        hit_rate=won / (won + lost) if won + lost else None,
        signals=SignalCounts(realized=len(nonzero), won=won, lost=lost, flat=len(nonzero) - won - lost),
        attribution=_attribution(in_period, costs_in_period, prod_agents, agent_class, capital),
        bridge=Bridge(gross=gross, fees=fees, costs=total_costs, net=gross - fees - total_costs),
        daily=[
            DailyReturn(day=_date_text(day), value=float(value))
            for day, value in zip(series.index, values, strict=True)
        ],
        as_of=as_of.isoformat(),
        capital=capital,
        risk_free_rate=risk_free_rate,
        inception=_date_text(series.index[0]) if len(series) else None,
        strategies=strategies or Strategies(),
        log=promotion_log(ledger_records, start, end, as_of),
    )


def _block_starts(period: Period, as_of: pd.Timestamp) -> dict[str, pd.Timestamp]:
    """First booked day of each ``pnl`` block; month, quarter and year are those of the period's
    last day, or of ``as_of`` when the period is still running (a week-to-date report)."""
    anchor = min(period.end, _utc_date(as_of))
    return {
        "period": utc(period.start),
        "mtd": utc(anchor.replace(day=1)),
        "qtd": utc(anchor.replace(month=3 * ((anchor.month - 1) // 3) + 1, day=1)),
        "ytd": utc(anchor.replace(month=1, day=1)),
        "since_inception": pd.Timestamp.min.tz_localize("UTC"),
    }


def _date_text(day: object) -> str:
    return pd.Timestamp(day).date().isoformat()  # type: ignore[arg-type]


def _attribution(
    signals: pd.DataFrame,
    costs: pd.DataFrame,
    prod_agents: Collection[str],
    agent_class: Mapping[str, str],
    capital: float,
) -> LpAttribution:
    """PnL, fees and running costs by agent and by class; each side sums to the period's totals.

    A signal's class is its own ``strategy_class``, else its agent's (as in ``portfolio``); a
    cost's class is its agent's. Every prod agent (and its class) gets a row, zero or not.
    """
    classes = {name: agent_class.get(name, UNCLASSIFIED) for name in prod_agents}
    agent_classes = _class_of(signals["agent"], agent_class)
    own = signals["strategy_class"] if "strategy_class" in signals.columns else agent_classes
    signal_class = own.where(own.notna(), agent_classes).astype("object")
    cost_class = _class_of(costs["agent"], agent_class)
    total = float(signals["pnl"].sum())
    by_agent = _rows(signals, signals["agent"].astype("object"), costs, costs["agent"].astype("object"))
    by_class = _rows(signals, signal_class, costs, cost_class)
    by_agent = by_agent.reindex(by_agent.index.union(sorted(set(prod_agents))), fill_value=0.0)
    by_class = by_class.reindex(by_class.index.union(sorted(set(classes.values()))), fill_value=0.0)
    return LpAttribution(
        agents=_attribution_rows(by_agent, total, capital),
        classes=_attribution_rows(by_class, total, capital),
    )


def _class_of(agents: pd.Series, agent_class: Mapping[str, str]) -> pd.Series:
    """Each row's agent's class, ``unclassified`` when the mapping does not know the agent."""
    mapped = agents.astype("object").map(dict(agent_class)).astype("object")
    return mapped.where(mapped.notna(), UNCLASSIFIED)


def _rows(
    signals: pd.DataFrame, signal_key: pd.Series, costs: pd.DataFrame, cost_key: pd.Series
) -> pd.DataFrame:
    frame = pd.concat(
        {
            "pnl": signals["pnl"].groupby(signal_key.to_numpy()).sum(),
            "fees": signals["fee"].groupby(signal_key.to_numpy()).sum(),
            "costs": costs["cost_usd"].groupby(cost_key.to_numpy()).sum(),
        },
        axis=1,
    )
    return frame.reindex(columns=["pnl", "fees", "costs"]).fillna(0.0).astype("float64")


def _attribution_rows(frame: pd.DataFrame, total: float, capital: float) -> dict[str, LpAttributionRow]:
    return {
        str(name): LpAttributionRow(
            pnl=row["pnl"],
            fees=row["fees"],
            costs=row["costs"],
            net=row["pnl"] - row["costs"],
            contribution=row["pnl"] / capital,
            share=row["pnl"] / total if total != 0 else None,
        )
        for name, row in frame.sort_index().to_dict("index").items()
    }


def promotion_log(
    records: Sequence[Mapping[str, Any]], start: pd.Timestamp, end: pd.Timestamp, as_of: pd.Timestamp
) -> list[LogEntry]:
    """Ledger events promoted/vetoed/promotion_withdrawn/killed booked in ``start..end``, oldest first."""
    entries: list[tuple[pd.Timestamp, LogEntry]] = []
    for record in records:
        if record.get("event") not in LOG_EVENTS or record.get("ts") is None:
            continue
        when = utc(record["ts"])
        if when > as_of or not start <= _booked(when) <= end:
            continue
        entry = LogEntry(
            ts=when.isoformat(),
            event=str(record["event"]),
            subject=str(record.get("subject", "")),
            detail=describe_data(record.get("data")),
        )
        entries.append((when, entry))
    return [entry for _, entry in sorted(entries, key=lambda pair: pair[0])]


DETAIL_LIMIT = 160


def describe_data(data: object) -> str:
    """A short ``key: value`` summary of a ledger record's ``data`` (first keys, at most 160 chars)."""
    if not isinstance(data, Mapping):
        return "" if data is None else str(data)[:DETAIL_LIMIT]
    parts = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        parts.append(f"{key}: {shown}")
    text = "; ".join(parts)
    return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 1] + "…"


# --------------------------------------------------------------------------------------------
# From a run's values
# --------------------------------------------------------------------------------------------


def strategies_from_review(review: Review) -> Strategies:
    """Strategy classes with their status, and the prod agents (active or excluded) with theirs."""
    return Strategies(
        classes=[
            StrategyState(name=c.name, status=c.status, active=c.status != "killed")
            for c in review.strategy_classes
            if c.registered or any(a.agent in c.agents and a.stage == "prod" for a in review.agents)
        ],
        agents=[
            StrategyState(
                name=a.agent, status=a.status, active=a.status == "active", strategy_class=a.strategy_class
            )
            for a in review.agents
            if a.stage == "prod"
        ],
    )


def build_lp_report(
    artifacts: Artifacts,
    config: Config,
    review: Review,
    as_of: pd.Timestamp,
    period: Period,
    ledger_records: Sequence[Mapping[str, Any]] = (),
) -> LpReport:
    """Everything at once for ``cli``/``action``: reconcile at ``as_of``, then :func:`lp_metrics`.

    Prod agents are those whose registry stage is ``prod`` in ``review`` (killed ones included:
    their realized signals were traded); an agent's class is the review's.
    """
    as_of = utc(as_of)
    visible = artifacts.until(as_of)
    recon = reconcile(visible.signals, visible.prices, config.reconcile, as_of, config.benchmark).signals
    prod = [a.agent for a in review.agents if a.stage == "prod"]
    agent_class = {a.agent: a.strategy_class for a in review.agents}
    capital = config.portfolio.capital
    return lp_metrics(
        daily_returns(recon, prod, capital, as_of),
        recon,
        visible.costs,
        prod,
        agent_class,
        capital,
        period.start,
        period.end,
        as_of,
        risk_free_rate=config.email.risk_free_rate,
        ledger_records=ledger_records,
        strategies=strategies_from_review(review),
    )
