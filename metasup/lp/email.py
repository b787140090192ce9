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
import hashlib
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Any

from metasup.lp.report import LpAttributionRow, LpReport
from metasup.lp.smtp import EmailError, filter_recipients
from metasup.lp.values import MONTHS
from metasup.model.config import EmailConfig
from metasup.render.environment import package_template
from metasup.render.filters import pct_typeset, usd

__all__ = [
    "BLOCKS",
    "DEFAULT_SUBJECT_PREFIX",
    "EmailError",
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
        else (f"from {first:%A %b} {first.day} to {last:%A %b} {last.day}, {last.year}")
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


def _context(report: LpReport, prefix: str) -> dict[str, Any]:
    def by_pnl(rows: Mapping[str, LpAttributionRow]) -> list[tuple[str, LpAttributionRow]]:
        return sorted(rows.items(), key=lambda item: (-item[1].pnl, item[0]))

    strategies = report.strategies
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
        "agents": by_pnl(report.attribution.agents),
        "classes": by_pnl(report.attribution.classes),
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
    return message
