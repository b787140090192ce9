"""LP report values (SPEC §6): the numbers the LP e-mail and ``metasup report --json`` show.

The statistics and the fund's calendar are :mod:`metasup.lp.statistics` (empyrical's
conventions); this module decides which numbers make the report: PnL blocks, risk, hit rate,
attribution by agent and class, the gross → net bridge, the strategies alive and the
promotion/demotion log (:mod:`metasup.lp.log`); the models are
:mod:`metasup.lp.values`. Pure: frames and timestamps in, an :class:`LpReport` out; no clock,
no I/O. Rendering is :mod:`metasup.lp.email`, sending :mod:`metasup.lp.smtp`.

Risk statistics use the daily series from inception to the end of the reported period and
the annual risk-free rate / 252 per day; a statistic that is undefined (too short a series, a
zero denominator) is ``None`` (JSON ``null``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import pandas as pd

from metasup.evaluate.supervisor import Supervision
from metasup.lp.log import describe_data as describe_data  # re-exported
from metasup.lp.log import promotion_log, review_entries, strategies_from_review
from metasup.lp.prod_spans import kill_subjects, prod_spans
from metasup.lp.statistics import (
    TRADING_DAYS_PER_YEAR,
    Period,
    annual_volatility,
    booked_day,
    booked_day_of,
    cumulative_return,
    daily_returns,
    drawdowns,
    monthly_returns,
    prod_realized,
    sharpe_ratio,
    sortino_ratio,
    utc_date,
)
from metasup.lp.statistics import last_complete_period as last_complete_period  # re-exported
from metasup.lp.values import (  # re-exported: the report's models
    LOG_EVENTS as LOG_EVENTS,
)
from metasup.lp.values import (
    Bridge,
    DailyReturn,
    LogEntry,
    LpAttribution,
    LpAttributionRow,
    LpReport,
    MonthlyRow,
    PeriodInfo,
    PnlBlock,
    SignalCounts,
    Strategies,
)
from metasup.lp.values import StrategyState as StrategyState
from metasup.model.config import Config
from metasup.model.registry import UNCLASSIFIED
from metasup.model.timestamps import utc

__all__ = [
    "LOG_EVENTS",
    "LogEntry",
    "LpAttributionRow",
    "LpReport",
    "Strategies",
    "StrategyState",
    "build_lp_report",
    "compute_lp_report",
    "describe_data",
    "last_complete_period",
    "promotion_log",
    "strategies_from_review",
]


# --------------------------------------------------------------------------------------------
# Computing it
# --------------------------------------------------------------------------------------------


def compute_lp_report(
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
    fund_name: str | None = None,
    min_history_days: int = 60,
    listed_agents: Collection[str] | None = None,
) -> LpReport:
    """The LP report of the booked days ``period_start..period_end`` (inclusive UTC dates).

    Risk statistics use ``daily`` (from :func:`daily_returns`) from inception to the end of the
    period; PnL, hit rate, attribution and bridge use the prod agents' realized signals and costs
    booked in the period. ``risk_free_rate`` is annual. Frames as in ``docs/data-model.md``;
    ``ledger_records`` are mappings with ``ts, event, subject, data`` (``audit_ledger.LedgerRecord``).
    ``listed_agents``: the agents the attribution lists even without a booked signal or cost in the
    period (default: ``prod_agents``; the fund's are those in prod during the period).
    """
    as_of = utc(as_of)
    period = Period.between(utc_date(period_start), utc_date(period_end))
    start, end = utc(period.start), utc(period.end)
    series = daily.loc[daily.index <= end]
    values = series.to_numpy(dtype="float64")
    rf_daily = risk_free_rate / TRADING_DAYS_PER_YEAR

    signals = prod_realized(recon_signals, prod_agents, as_of)
    signals = signals.assign(booked=booked_day(signals["exit_ts"]).to_numpy())
    spent = costs.loc[(costs["ts"] <= as_of) & costs["agent"].isin(list(prod_agents))]
    spent = spent.assign(booked=booked_day(spent["ts"]).to_numpy())
    in_period = signals.loc[(signals["booked"] >= start) & (signals["booked"] <= end)]
    costs_in_period = spent.loc[(spent["booked"] >= start) & (spent["booked"] <= end)]

    pnl, gross_pnl, net_pnl, returns = {}, {}, {}, {}
    for name, first in _block_starts(period, as_of).items():
        booked = signals.loc[(signals["booked"] >= first) & (signals["booked"] <= end)]
        spent_in = spent.loc[(spent["booked"] >= first) & (spent["booked"] <= end)]
        pnl[name] = float(booked["pnl"].sum())
        gross_pnl[name] = pnl[name] + float(booked["fee"].sum())
        net_pnl[name] = pnl[name] - float(spent_in["cost_usd"].sum())
        returns[name] = cumulative_return(series.loc[series.index >= first].to_numpy(dtype="float64"))
    booked_days = pd.bdate_range(start, end)
    strategies = strategies or Strategies()
    log_end = booked_day_of(as_of)

    dd = drawdowns(values)
    fees = float(in_period["fee"].sum())
    total_costs = float(costs_in_period["cost_usd"].sum())
    gross = float(in_period["pnl"].sum()) + fees
    nonzero = in_period["pnl"].to_numpy(dtype="float64")
    won, lost = int((nonzero > 0).sum()), int((nonzero < 0).sum())
    log = [*promotion_log(ledger_records, start, log_end, as_of), *review_entries(strategies, as_of)]
    return LpReport(
        period=PeriodInfo(
            **period.model_dump(),
            first_day=booked_days[0].date() if len(booked_days) else None,
            last_day=booked_days[-1].date() if len(booked_days) else None,
        ),
        pnl=PnlBlock(**pnl),
        gross=PnlBlock(**gross_pnl),
        net=PnlBlock(**net_pnl),
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
        attribution=_attribution(
            in_period,
            costs_in_period,
            prod_agents if listed_agents is None else listed_agents,
            agent_class,
            capital,
        ),
        bridge=Bridge(gross=gross, fees=fees, costs=total_costs, net=gross - fees - total_costs),
        daily=[
            DailyReturn(day=_date_text(day), value=float(value))
            for day, value in zip(series.index, values, strict=True)
        ],
        as_of=as_of.isoformat(),
        capital=capital,
        risk_free_rate=risk_free_rate,
        inception=_date_text(series.index[0]) if len(series) else None,
        strategies=strategies,
        monthly=_monthly(series),
        log_start=_log_start(period, log).isoformat(),
        log=log,
        fund_name=fund_name,
        min_history_days=min_history_days,
    )


def _log_start(period: Period, log: Sequence[LogEntry]) -> dt.date:
    """The log's first day: the period's start, or the day of an earlier entry — a weekend event is
    booked on the next trading day (``lp.statistics.booked_day_of``), so a Saturday kill is in the
    report whose period opens on the Monday after, and the heading must not say it starts later."""
    days = [utc(entry.ts).date() for entry in log]
    return min([period.start, *days])


def _block_starts(period: Period, as_of: pd.Timestamp) -> dict[str, pd.Timestamp]:
    """First booked day of each ``pnl`` block; month, quarter and year are those of the period's
    last *booked* day (a weekday: a weekly period ends on a Sunday, which may open a new month or
    year that holds none of the period's bookings), or of ``as_of`` when the period is still running
    (a week-to-date report)."""
    last = min(period.end, utc_date(as_of))
    weekdays = pd.bdate_range(period.start, last)
    anchor = weekdays[-1].date() if len(weekdays) else last
    return {
        "period": utc(period.start),
        "mtd": utc(anchor.replace(day=1)),
        "qtd": utc(anchor.replace(month=3 * ((anchor.month - 1) // 3) + 1, day=1)),
        "ytd": utc(anchor.replace(month=1, day=1)),
        "since_inception": pd.Timestamp.min.tz_localize("UTC"),
    }


def _monthly(series: pd.Series) -> list[MonthlyRow]:
    def value(number: object) -> float | None:
        return None if number is None or math.isnan(float(number)) else float(number)  # type: ignore[arg-type]

    return [
        MonthlyRow(
            year=int(str(year)), months=[value(row[m]) for m in range(1, 13)], total=value(row["year"])
        )
        for year, row in monthly_returns(series).iterrows()
    ]


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
    cost's class is its agent's. Every agent of ``prod_agents`` (and its class) gets a row, zero or not.
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


# --------------------------------------------------------------------------------------------
# From a run's values
# --------------------------------------------------------------------------------------------


def build_lp_report(
    supervision: Supervision,
    config: Config,
    as_of: pd.Timestamp,
    period: Period,
    ledger_records: Sequence[Mapping[str, Any]] = (),
    kills_in_force: Collection[str] | None = None,
) -> LpReport:
    """The LP report of a review: its own reconciliation and costs, then :func:`compute_lp_report`.

    The fund's are the signals and costs of agents while they were in prod (:mod:`metasup.lp.prod_spans`:
    from the ledger's promotions, demotions and kills — ``kills_in_force`` as the rolling run found
    them, else every recorded kill —, else the registry's stage in ``review``); an agent's class is
    the review's.
    """
    as_of = utc(as_of)
    review, recon, visible = supervision.review, supervision.reconciled, supervision.visible
    stages = {a.agent: a.stage for a in review.agents}
    spans = prod_spans(ledger_records, stages, kill_subjects(review.agents), kills_in_force)
    recon = recon.loc[spans.booked(recon["agent"], recon["ts"])]
    costs = visible.costs.loc[spans.booked(visible.costs["agent"], visible.costs["ts"])]
    prod = spans.agents
    agent_class = {a.agent: a.strategy_class for a in review.agents}
    capital = config.portfolio.capital
    return compute_lp_report(
        daily_returns(recon, prod, capital, as_of),
        recon,
        costs,
        prod,
        agent_class,
        capital,
        period.start,
        period.end,
        as_of,
        risk_free_rate=config.email.risk_free_rate,
        ledger_records=ledger_records,
        strategies=strategies_from_review(review, ledger_records, as_of),
        fund_name=config.email.fund_name,
        min_history_days=config.email.min_history_days,
        listed_agents=spans.during(utc(period.start), utc(period.end) + pd.Timedelta(days=1)),
    )
