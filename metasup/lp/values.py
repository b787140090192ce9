"""LP report values (SPEC §6) as pydantic models: what the e-mail and ``metasup report --json`` show.

Only the shapes and the words they are shown with; :mod:`metasup.lp.report` computes them,
:mod:`metasup.lp.log` builds the strategies' states and the promotion/demotion log.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Literal

from pydantic import ConfigDict, Field

from metasup.lp.statistics import PeriodKind
from metasup.model.review import Model, OptFloat

LOG_EVENTS: tuple[str, ...] = (
    "promoted",
    "vetoed",
    "promotion_withdrawn",
    "demotion_proposed",
    "demoted",
    "demotion_vetoed",
    "demotion_withdrawn",
    "promotion_held",
    "demotion_held",
    "promoted_by_hand",
    "left_prod_by_hand",
    "killed",
)
"""Ledger events that make the promotion/demotion log of an e-mail."""

PLAIN_WORDS: dict[str, str] = {
    "demotion_proposed": "demotion to sandbox proposed",
    "demoted": "demoted from prod to sandbox",
    "demotion_vetoed": "demotion vetoed, stays in prod",
    "demotion_withdrawn": "demotion withdrawn, stays in prod",
    "promotion_held": "promotion held for a person: someone else pushed to its pull request",
    "demotion_held": "demotion held for a person: someone else pushed to its pull request",
    "promoted_by_hand": "put in prod by a person (agents.yaml)",
    "left_prod_by_hand": "taken out of prod by a person (agents.yaml)",
}
"""How the e-mail's log says a ledger event (events not listed are shown by name)."""

SubjectKind = Literal["agent", "class"]
"""What a log entry or a strategy is: a prod agent or a strategy class (the ledger's ``class:``)."""

ROWS_IN_FULL = 20
"""The e-mail lists up to this many agents (classes, log entries, prod agents in the strategies
table) one per row; above it, it summarizes. 20 rows of the attribution table are about 14 KB of
HTML, so every table of a fleet of any size stays within Gmail's ~102 KB clipping limit; and the
golden fleet's 20 prod agents are still listed in full."""

ROWS_AT_EACH_END = 8
"""A summarized attribution table keeps this many top and this many bottom contributors by PnL
(what an LP asks about) and sums the rest — at least ``ROWS_IN_FULL - 2 * 8 + 1 = 5`` of them —
into one row."""

MONTHS: tuple[str, ...] = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # fmt: skip


class PeriodInfo(Model):
    start: dt.date
    end: dt.date
    key: str
    kind: PeriodKind
    label: str
    first_day: dt.date | None = None
    """First weekday booked in the period (weekend exits are booked on the next Monday)."""
    last_day: dt.date | None = None
    """Last weekday booked in the period."""


class PnlBlock(Model):
    """USD for ``pnl``, ``gross`` and ``net``; compounded return on capital (a fraction) for ``returns``."""

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


class AttributionLine(Model):
    """One row of an e-mail's attribution table: an agent (a class), or ``others`` of them summed."""

    name: str
    row: LpAttributionRow
    others: int = 0


class AttributionTable(Model):
    """An attribution table as the e-mail shows it, ranked by PnL. ``total`` (every row summed, so
    the fund's figures) is set when ``lines`` sum some rows into one, to show the table adds up."""

    lines: list[AttributionLine] = Field(default_factory=list)
    total: LpAttributionRow | None = None
    count: int = 0

    @property
    def summarized(self) -> bool:
        return self.total is not None


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


class MonthlyRow(Model):
    """One year of the returns-by-month table (quantstats' ``monthly_returns``, compounded).

    ``months[i]`` is month ``i + 1``'s compounded daily returns, ``None`` for a month outside the
    record; ``year`` compounds the year's months.
    """

    year: int
    months: list[OptFloat] = Field(default_factory=lambda: list[OptFloat]([None] * 12))
    total: OptFloat = None


class SignalCounts(Model):
    realized: int = 0
    won: int = 0
    lost: int = 0
    flat: int = 0


class StrategyState(Model):
    """A strategy as of the report's data; ``since`` is the UTC date of the ledger record of its
    current state (a kill, a demotion) when the ledger has one."""

    name: str
    status: str
    active: bool
    strategy_class: str | None = None
    since: str | None = None
    decided_now: bool = False
    """The review of this report's data made the decision; the ledger records it on the next run."""

    @property
    def words(self) -> str:
        """The status as the e-mail shows it: ``killed on 2026-10-29``, ``killed (this report)``."""
        if self.since:
            return f"{self.status} on {self.since}"
        if self.decided_now:
            return f"{self.status} (this report)"
        return STATUS_WORDS.get(self.status, self.status)


STATUS_WORDS: dict[str, str] = {
    "killed (class)": "killed with its class",
    "killed (kill_list)": "excluded by the kill list",
}


class Strategies(Model):
    classes: list[StrategyState] = Field(default_factory=list)
    agents: list[StrategyState] = Field(default_factory=list)


class StrategyGroup(Model):
    """One row of a summarized strategies table: strategies of one kind with the same status words
    (and, for agents, the same class). ``members`` are the names, each with its number of active
    prod agents for an active class (``None`` for the others)."""

    kind: SubjectKind
    words: str
    active: bool
    members: list[tuple[str, int | None]] = Field(default_factory=list)
    strategy_class: str | None = None

    @property
    def active_agents(self) -> int:
        """Active prod agents of the group's classes (0 for a group of agents)."""
        return sum(count or 0 for _, count in self.members)

    @property
    def labels(self) -> list[str]:
        """Each member as the text part lists it: ``llm_macro (12)`` for a class with 12 active prod
        agents, the bare name otherwise."""
        return [f"{name} ({count})" if count else name for name, count in self.members]

    @property
    def kind_words(self) -> str:
        """The Kind column: ``class``, ``6 classes``, ``34 classes · 124 active prod agents``,
        ``5 prod agents`` (the template adds an agent group's class)."""
        n = len(self.members)
        if self.kind == "agent":
            return "prod agent" if n == 1 else f"{n} prod agents"
        words = "class" if n == 1 else f"{n} classes"
        if not self.active:
            return words
        agents = self.active_agents
        if not agents:
            return f"{words} · no active prod agent"
        return f"{words} · {agents} active prod agent{'' if agents == 1 else 's'}"


class LogEntry(Model):
    ts: str
    event: str
    subject: str
    """The agent's or the class's name, as in ``strategies`` (never the ledger's ``class:`` prefix)."""
    kind: SubjectKind = "agent"
    detail: str = ""
    """What the record's ``data`` says, in an LP's words (``PR #7``; no ledger bookkeeping)."""
    source: Literal["ledger", "review"] = "ledger"
    """``review``: decided by this report's review, not yet in the ledger."""

    @property
    def words(self) -> str:
        """The event in plain words, as the e-mail shows it (not part of the JSON)."""
        return PLAIN_WORDS.get(self.event, self.event)

    @property
    def kind_words(self) -> str:
        """What the e-mail puts before a class's name (``strategy class llm_macro``); an agent's
        name stands alone, as in the strategies table."""
        return "strategy class " if self.kind == "class" else ""


class LogGroup(Model):
    """Log entries shown in one row: same minute, event, kind, detail and source. A long log (a
    review that kills a class and its agents) reads in a few rows; every entry is still named."""

    entries: list[LogEntry]

    @property
    def first(self) -> LogEntry:
        return self.entries[0]

    @property
    def subjects(self) -> list[str]:
        return [entry.subject for entry in self.entries]


class LpReport(Model):
    """SPEC §6's JSON (``period`` … ``daily``) plus what the e-mail shows."""

    period: PeriodInfo
    pnl: PnlBlock
    gross: PnlBlock = PnlBlock()
    net: PnlBlock = PnlBlock()
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
    monthly: list[MonthlyRow] = Field(default_factory=list)
    daily: list[DailyReturn] = Field(default_factory=list)
    as_of: str
    capital: float
    risk_free_rate: float = 0.0
    inception: str | None = None
    strategies: Strategies = Strategies()
    log_start: str | None = None
    """First UTC date of the log: the period's start, or an earlier entry's day (a weekend event
    booked to the period's first trading day); it runs to ``as_of``, like the strategies."""
    log: list[LogEntry] = Field(default_factory=list)
    fund_name: str | None = None
    min_history_days: int = 60

    @property
    def short_history(self) -> bool:
        """Too few daily returns for Sharpe and Sortino to mean anything (SPEC §6): shown as "—"."""
        return len(self.daily) < self.min_history_days

    def to_json(self) -> str:
        data = self.model_dump(mode="json", by_alias=True)
        return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
