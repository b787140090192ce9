"""LP statistics (SPEC §6): the fund's calendar, its daily return series and empyrical's statistics on it.

Kept apart from :mod:`metasup.lp.report` because these are conventions, not report values: a
number here must agree with empyrical-reloaded (the tests check it does), whereas the report
decides which numbers an LP sees. Everything is pure: frames, arrays and timestamps in, values
out; no clock, no I/O.

* **Booking.** The fund's books close once per UTC weekday. A realized signal is booked on the
  UTC date of its ``exit_ts``; a Saturday or Sunday exit on the following Monday. Telemetry costs
  and ledger events are booked the same way, so every exit, cost and event belongs to exactly
  one daily and one weekly period (:class:`Period`, :func:`due_period`).
* **Daily returns** (:func:`daily_returns`): per booked weekday, realized PnL (after fees) of
  the prod agents' signals / ``portfolio.capital``; zero on a weekday without exits.
* **Risk statistics** follow empyrical-reloaded on that series: ``√252`` annualization,
  ``ddof=1``, compounded cumulative returns, drawdown as a negative fraction of the running peak
  (the starting capital counts as a peak). Too short a series gives NaN, and so does a ratio
  whose denominator is zero (constant returns, no losing day); the report turns NaN into ``None``.

``docs/lp-report.md`` is the long version, with the cadence rules of :func:`due_period`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from metasup.model.review import Model
from metasup.model.timestamps import utc

TRADING_DAYS_PER_YEAR = 252
Cadence = Literal["daily", "weekly"]
PeriodKind = Literal["daily", "weekly", "custom"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
REALIZED_STATUS: Final = "realized"
"""``status`` of a realized signal in the reconciled frame (``docs/data-model.md``)."""

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
            since, until = ("", "") if start.year == end.year else (f", {start.year}", f", {end.year}")
            label = f"week {year}-W{week:02d} ({start:%b} {start.day}{since} – {end:%b} {end.day}{until})"
            return cls(kind="weekly", key=f"weekly:{year}-W{week:02d}", start=start, end=end, label=label)
        return cls(
            kind="custom", key=f"custom:{start}..{end}", start=start, end=end, label=f"{start} – {end}"
        )


def utc_date(as_of: pd.Timestamp | dt.date) -> dt.date:
    """The UTC calendar date of a timestamp (a date is its own)."""
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
    today = utc_date(as_of)
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
    period = scheduled_period(as_of, cadence, weekday)  # on a scheduled day, the one due
    today = utc_date(as_of).weekday()
    scheduled_today = today < 5 if cadence == "daily" else WEEKDAYS[today] == weekday
    return period if scheduled_today else None


CATCH_UP_PERIODS: Final = 10
"""At most this many periods are due at once (:func:`due_periods`): the ones a holiday or missed
runs skipped, newest kept."""


def scheduled_period(as_of: pd.Timestamp, cadence: Cadence, weekday: str = "mon") -> Period:
    """The latest period whose scheduled day has come by ``as_of``'s UTC date.

    A daily period (a weekday) is scheduled on the next weekday; a weekly one on the first
    ``weekday`` after it ends. On a scheduled day this is :func:`due_period`; on another day it is
    the period scheduled last (the Friday's at a weekend or a holiday Monday's next ``as_of``)."""
    if weekday not in WEEKDAYS:
        raise ValueError(f"weekday must be one of {', '.join(WEEKDAYS)}, got {weekday!r}")
    today = utc_date(as_of)
    if cadence == "daily":
        scheduled = today - dt.timedelta(days=max(0, today.weekday() - 4))  # a weekend → its Friday
        return period_containing(_previous_weekday(scheduled), "daily")
    back = (today.weekday() - WEEKDAYS.index(weekday)) % 7
    scheduled = today - dt.timedelta(days=back)
    return period_containing(scheduled - dt.timedelta(days=scheduled.weekday() + 1), "weekly")


def _period_before(period: Period, cadence: Cadence) -> Period:
    if cadence == "daily":
        return period_containing(_previous_weekday(period.start), "daily")
    return period_containing(period.start - dt.timedelta(days=7), "weekly")


def period_start_of(key: str, cadence: Cadence) -> dt.date | None:
    """The first day of the period keyed ``key`` (``daily:2026-10-23``, ``weekly:2026-W43``); None
    for a key of another cadence or that is not a period's."""
    prefix, _, rest = key.partition(":")
    if prefix != cadence:
        return None
    try:
        if cadence == "daily":
            return dt.date.fromisoformat(rest)
        year, week = rest.split("-W")
        return dt.date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        return None


def due_periods(
    as_of: pd.Timestamp, cadence: Cadence, weekday: str, sent: Collection[str]
) -> tuple[list[Period], int]:
    """The periods whose e-mail is due at ``as_of``, oldest first, and how many more were missed.

    ``sent``: the keys of the periods already sent. Before the first e-mail of ``cadence``, only
    :func:`due_period` (the schedule: nothing at a weekend, a weekly one on ``weekday`` only).
    After it, every period after the last one sent whose scheduled day has come
    (:func:`scheduled_period`), so that a holiday (no bar, so no ``as_of``, on a Monday) or runs
    that did not happen skip no period; at most :data:`CATCH_UP_PERIODS`, the newest, and the
    number of older ones left out.
    """
    starts = [start for key in sent if (start := period_start_of(key, cadence)) is not None]
    if not starts:
        period = due_period(as_of, cadence, weekday)
        return ([] if period is None else [period]), 0
    last = max(starts)
    periods: list[Period] = []
    period = scheduled_period(as_of, cadence, weekday)
    while period.start > last and len(periods) < CATCH_UP_PERIODS:
        periods.append(period)
        period = _period_before(period, cadence)
    return periods[::-1], _periods_since(last, period, cadence)


def _periods_since(last: dt.date, period: Period, cadence: Cadence) -> int:
    """How many periods start after ``last`` up to ``period``'s start (0 when it is not after)."""
    if period.start <= last:
        return 0
    if cadence == "daily":
        return int(np.busday_count(last + dt.timedelta(days=1), period.start + dt.timedelta(days=1)))
    return (period.start - last).days // 7


# --------------------------------------------------------------------------------------------
# Daily return series
# --------------------------------------------------------------------------------------------


def booked_day(ts: pd.Series) -> pd.Series:
    """UTC midnight of the weekday each timestamp is booked on (weekend → next Monday)."""
    day = pd.to_datetime(ts, utc=True).dt.floor("D")
    weekday = day.dt.day_of_week.to_numpy()
    shift = np.where(weekday >= 5, 7 - weekday, 0)
    return day + pd.Series(pd.to_timedelta(shift, unit="D"), index=day.index)


def booked_day_of(stamp: pd.Timestamp) -> pd.Timestamp:
    """:func:`booked_day` of one timestamp."""
    result: pd.Timestamp = booked_day(pd.Series([utc(stamp)])).iloc[0]
    return result


BOOKED_COLUMNS: Final = ("status", "agent", "strategy_class", "ts", "exit_ts", "pnl", "fee")
"""The reconciled columns the LP report reads from the booked signals (:func:`prod_realized`)."""


def booked_signals(recon: pd.DataFrame, prod_agents: Collection[str], as_of: pd.Timestamp) -> pd.DataFrame:
    """:func:`prod_realized` with only :data:`BOOKED_COLUMNS`: what an engine that reconciles on other
    machines brings back for the LP report, instead of every reconciled signal.

    A copy, not a view: a worker keeps each partition's result until the driver gathers them all,
    and a view (even of no rows) would keep that partition's whole reconciliation alive with it.
    """
    booked = prod_realized(recon, prod_agents, as_of).loc[:, list(BOOKED_COLUMNS)]
    return booked.reset_index(drop=True).copy(deep=True)


def prod_realized(recon: pd.DataFrame, prod_agents: Collection[str], as_of: pd.Timestamp) -> pd.DataFrame:
    """The rows of the reconciled signals that the fund booked: prod agents', realized by ``as_of``."""
    if not prod_agents:  # a review's partitions on a cluster: no pass over their rows
        return recon.iloc[:0]
    mask = (
        (recon["status"] == REALIZED_STATUS)
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
    realized = prod_realized(recon_signals, prod_agents, as_of)
    if realized.empty:
        return _empty_daily()
    pnl = realized["pnl"].groupby(booked_day(realized["exit_ts"]).to_numpy()).sum()
    last_weekday = pd.Timestamp(_previous_weekday(utc_date(as_of) + dt.timedelta(days=1)), tz="UTC")
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


def monthly_returns(daily: pd.Series) -> pd.DataFrame:
    """Compounded returns by calendar month (quantstats' ``monthly_returns``): rows are years,
    columns the months 1–12 (NaN outside the record) and ``year``, the year's months compounded."""
    if daily.empty:
        return pd.DataFrame(columns=[*range(1, 13), "year"], dtype="float64")
    index = pd.DatetimeIndex(daily.index)
    grouped = (1.0 + daily.astype("float64")).groupby([index.year, index.month]).prod() - 1.0
    table = grouped.unstack().reindex(columns=range(1, 13))
    table["year"] = (1.0 + table.iloc[:, :12].fillna(0.0)).prod(axis=1) - 1.0
    table.index.name = None
    return table
