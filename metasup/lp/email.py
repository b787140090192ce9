"""The LP e-mail message (SPEC §6): subject, text and HTML bodies, and the MIME message.

Pure: an :class:`~metasup.lp.report.LpReport` (and the chart PNGs) in, text and an
``EmailMessage`` out; no clock, no network. The bodies are package templates
(``lp_email.txt.j2``, ``lp_email.html.j2``) rendered in the one environment of
:mod:`metasup.render.environment` (autoescape on for HTML) with the e-mail filters of
:mod:`metasup.render.filters`. The charts are :mod:`metasup.lp.charts`; sending, the
recipients whitelist and :class:`~metasup.lp.smtp.EmailError` are :mod:`metasup.lp.smtp`.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Any

from metasup.lp.fleet_tables import attribution_table, log_groups, strategy_groups
from metasup.lp.report import LpReport
from metasup.lp.smtp import EmailError, filter_recipients
from metasup.lp.values import MONTHS, AttributionTable
from metasup.model.config import EmailConfig
from metasup.render.environment import package_template
from metasup.render.filters import pct_typeset, usd

__all__ = [
    "BLOCKS",
    "DEFAULT_SUBJECT_PREFIX",
    "EmailError",
    "agents_csv",
    "agents_csv_name",
    "build_message",
    "content_id",
    "preview_html",
    "render_html",
    "render_text",
    "subject",
]

DEFAULT_SUBJECT_PREFIX = "LP report"
BLOCKS = (("period", "This period"), ("mtd", "Month to date"), ("qtd", "Quarter to date"),
          ("ytd", "Year to date"), ("since_inception", "Since inception"))  # fmt: skip


def period_sentence(report: LpReport) -> str:
    """The one definition of "this period" that every section refers to."""
    first, last = report.period.first_day, report.period.last_day
    if first is None or last is None:
        return f"Period: {report.period.label}."
    span = (
        f"on {first:%A %b} {first.day}, {first.year}"
        if first == last
        else (
            f"from {first:%A %b} {first.day}{'' if first.year == last.year else f', {first.year}'} "
            f"to {last:%A %b} {last.day}, {last.year}"
        )
    )
    weekend = "UTC; a weekend close counts on the next Monday"
    return f"Period: {report.period.label}, the trades closed {span} ({weekend})."


def notes(report: LpReport) -> dict[str, str]:
    """The footnotes, in plain words, shared by the text and the HTML bodies."""
    as_of_day = report.as_of[:10]
    last = report.daily[-1].day if report.daily else None
    return {
        "performance": (
            "Gross: profit and loss of the fund's live strategies on the trades closed in each span, before "
            "any charge. Costs: trading fees plus the strategies' running costs (computing, data). "
            f"Net: gross minus costs. Return: profit after trading fees as a share of the capital of "
            f"{usd(report.capital)}, compounded day by day; running costs are not deducted from it."
        ),
        "monthly": (
            "Each month compounds that month's daily returns; the Year column compounds the year's months, "
            "and all of them together give the return since inception."
            + (f" Blank: before the first trade or after {last}." if last else "")
        ),
        "risk": (
            "Annualized volatility: how much the daily return swings, scaled to a year. Sharpe ratio: the "
            "average return per unit of that swing, per year; Sortino ratio: the same, counting only the "
            "down days. Drawdown: the fall from the highest value reached so far. Hit rate: the share of "
            "this period's closed trades that made money, among those that made or lost any."
        ),
        "strategies": (
            f"Strategies stand as on {as_of_day}, the date of the data. A date beside a status is when the "
            'change was recorded; "this report" marks a decision taken on this report\'s data, recorded '
            "on the next run. The table and the list of changes cover the same time, from the period's "
            f"first day to {as_of_day}."
        ),
        "groups": (
            "With this many prod agents the table is summarized: every class and prod agent that is "
            "killed, demoted or excluded is named, grouped by status (and class); the active classes "
            "follow, each with its number of active prod agents in brackets, then those without one."
        ),
        "method": (
            "A day's return is the profit of the trades closed that weekday (UTC) after trading fees, "
            "divided by the capital; a weekday without trades counts as zero. Risk figures use every day "
            f"since {report.inception or '—'}, a year counts 252 trading days, and the risk-free rate "
            f"is taken as {pct_typeset(report.risk_free_rate)}. The figures follow the conventions of "
            "the open-source libraries empyrical (risk) and quantstats (returns by month)."
        ),
    }


def subject(report: LpReport, prefix: str = DEFAULT_SUBJECT_PREFIX) -> str:
    """``Acme Fund LP report — week 2026-W43 (Oct 19 – Oct 25)``: the fund's name, not the tool's.

    Without ``email.fund_name`` the ``prefix`` stands alone.
    """
    head = f"{report.fund_name} {prefix}" if report.fund_name else prefix
    return f"{head} — {report.period.label}"


def agents_csv_name(report: LpReport) -> str:
    """The attachment's file name: ``lp-agents-weekly-2026-W43.csv`` (no ``:`` in a file name)."""
    return f"lp-agents-{report.period.key.replace(':', '-')}.csv"


CSV_COLUMNS = ("agent", "strategy_class", "status", "pnl", "fees", "costs", "net", "contribution", "share")


def agents_csv(report: LpReport) -> bytes:
    """Every prod agent's attribution of the period, as the JSON has it, for a spreadsheet.

    A summarized e-mail shows 17 of them; this is the rest, cheap (about 120 bytes an agent). A name
    that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``) is quoted with ``'``.
    """
    states = {s.name: s for s in report.strategies.agents}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for name, row in sorted(report.attribution.agents.items(), key=lambda item: (-item[1].pnl, item[0])):
        state = states.get(name)
        klass = state.strategy_class if state else None
        numbers = (row.pnl, row.fees, row.costs, row.net, row.contribution, row.share)
        writer.writerow(
            [_cell(name), _cell(klass or ""), state.status if state else "", *(_number(n) for n in numbers)]
        )
    return out.getvalue().encode("utf-8")


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula (OWASP's CSV injection advice)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def attribution_note(table: AttributionTable, noun: str, one: str, csv_name: str | None) -> str:
    """Under a summarized table: what the summed row holds, that the total is the fund's, and where
    each row's figures are (empty for a table shown in full)."""
    if not table.summarized:
        return ""
    others = next(line.others for line in table.lines if line.others)
    ends = (len(table.lines) - 1) // 2
    attached = f"the attached file {csv_name} and " if csv_name else ""
    return (
        f"The {table.count} {noun} are ranked by PnL: the {ends} best, the {ends} worst, and the "
        f"{others} others summed in one row, so the total is the fund's. The figures of each {one} "
        f"are in {attached}the report's JSON (metasup report --json)."
    )


def _context(report: LpReport, prefix: str) -> dict[str, Any]:
    strategies = report.strategies
    agents = attribution_table(report.attribution.agents, "agents")
    classes = attribution_table(report.attribution.classes, "classes")
    csv_name = agents_csv_name(report) if agents.summarized else None
    gross, net = report.gross.model_dump(), report.net.model_dump()
    costs = {
        key: None if gross[key] is None or net[key] is None else gross[key] - net[key] for key, _ in BLOCKS
    }
    return {
        "report": report,
        "period_sentence": period_sentence(report),
        "notes": notes(report),
        "months": MONTHS,
        "costs": costs,
        "as_of_day": report.as_of[:10],
        "title": subject(report, prefix),
        "blocks": BLOCKS,
        "agents": agents,
        "classes": classes,
        "agents_note": attribution_note(agents, "agents", "agent", csv_name),
        "classes_note": attribution_note(classes, "classes", "class", None),
        "strategy_groups": strategy_groups(strategies),
        "log_groups": log_groups(report.log),
        "counts": {
            "active_classes": sum(s.active for s in strategies.classes),
            "killed_classes": sum(not s.active for s in strategies.classes),
            "active_agents": sum(s.active for s in strategies.agents),
            "killed_agents": sum(not s.active for s in strategies.agents),
        },
    }


def render_text(report: LpReport, prefix: str = DEFAULT_SUBJECT_PREFIX) -> str:
    """The text/plain body."""
    return package_template("lp_email.txt.j2").render(_context(report, prefix))


def render_html(report: LpReport, images: Mapping[str, str], prefix: str = DEFAULT_SUBJECT_PREFIX) -> str:
    """The HTML body; ``images`` maps each chart name to its ``src`` (``cid:…`` or ``data:…``)."""
    return package_template("lp_email.html.j2").render(_context(report, prefix), images=images)


def preview_html(report: LpReport, charts: Mapping[str, bytes], prefix: str = DEFAULT_SUBJECT_PREFIX) -> str:
    """The e-mail's HTML with the charts inlined as ``data:`` URIs, to open in a browser."""
    images = {
        name: "data:image/png;base64," + base64.b64encode(png).decode("ascii") for name, png in charts.items()
    }
    return render_html(report, images, prefix)


def content_id(name: str, png: bytes) -> str:
    """A stable Content-ID (without angle brackets) for a chart: its name and content hash."""
    return f"{name}.{hashlib.sha256(png).hexdigest()[:16]}@metasup.invalid"


def build_message(
    report: LpReport,
    charts: Mapping[str, bytes],
    config: EmailConfig,
    recipients: Sequence[str],
    subject_prefix: str = DEFAULT_SUBJECT_PREFIX,
) -> EmailMessage:
    """multipart/alternative: text/plain, then multipart/related (text/html + the inline PNGs).

    When the e-mail summarizes the agents (a big fleet), the message is multipart/mixed: that,
    then every agent's figures as a CSV attachment (:func:`agents_csv`), which the e-mail names.

    ``recipients`` must already be filtered (:func:`~metasup.lp.smtp.filter_recipients`); one that
    ``config.whitelist`` does not allow is an error, so nothing unlisted can slip through.
    ``Date`` and ``Message-ID`` are left to :func:`~metasup.lp.smtp.send_report` (this function reads
    no clock).
    """
    if not config.sender:
        raise EmailError("email.from is not set in metasup.yml: cannot build the LP e-mail")
    allowed, dropped = filter_recipients(list(recipients), config.whitelist)
    if dropped:
        raise EmailError(f"recipients not in email.whitelist: {', '.join(dropped)}")
    cids = {name: content_id(name, png) for name, png in charts.items()}
    message = EmailMessage()
    message["Subject"] = subject(report, subject_prefix)
    message["From"] = config.sender
    if allowed:
        message["To"] = ", ".join(allowed)
    message["X-Metasup-Period"] = report.period.key
    message.set_content(render_text(report, subject_prefix))
    message.add_alternative(
        render_html(report, {name: f"cid:{cid}" for name, cid in cids.items()}, subject_prefix),
        subtype="html",
    )
    html_part = list(message.iter_parts())[1]  # the multipart/related made by add_alternative
    for name, png in charts.items():
        html_part.add_related(
            png, "image", "png", cid=f"<{cids[name]}>", filename=f"{name}.png", disposition="inline"
        )
    if attribution_table(report.attribution.agents).summarized:
        message.add_attachment(agents_csv(report), "text", "csv", filename=agents_csv_name(report))
    return message
