"""LP e-mail: charts, rendering and sending (SPEC §6). The metrics are :mod:`metasup.lp.report`.

Rendering is pure (an :class:`~metasup.lp.report.LpReport` in, bytes and text out): charts are
drawn on matplotlib ``Figure`` objects with an explicit Agg canvas (pyplot and the global
backend are never touched), templates are package data rendered by Jinja2 with autoescape on
for HTML. Sending (:func:`send_report`) is the only I/O here.

Exceptions::

    MetasupError
     └── EmailError     the e-mail cannot be built or sent; the message says what to fix
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, formatdate, getaddresses, make_msgid, parseaddr
from importlib import resources
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from metasup.lp.report import LpAttributionRow, LpReport, drawdowns
from metasup.model.config import EmailConfig, SmtpConfig
from metasup.model.errors import MetasupError

log = logging.getLogger(__name__)

DEFAULT_SUBJECT_PREFIX = "metasup LP report"
CHART_DPI = 100
CHART_NAMES = ("equity", "attribution")
MAX_CHART_AGENTS = 20
"""Bars in the attribution chart; the rest are summed into one "N others" bar."""
BLOCKS = (("period", "Period"), ("mtd", "Month to date"), ("qtd", "Quarter to date"),
          ("ytd", "Year to date"), ("since_inception", "Since inception"))  # fmt: skip


class EmailError(MetasupError):
    """The LP e-mail cannot be built or sent."""


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------

Charts = dict[str, bytes]
"""PNG bytes by chart name (``equity``, ``attribution``)."""


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(buffer, format="png", dpi=CHART_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _no_data(figure: Figure, text: str) -> None:
    ax = figure.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=11, color="#57606a")


def equity_chart(report: LpReport) -> bytes:
    """Cumulative return (compounded, %) above drawdown (%), since inception; the period shaded."""
    figure = Figure(figsize=(6.4, 3.8), dpi=CHART_DPI, layout="constrained")
    if not report.daily:
        _no_data(figure, "No realized PnL yet")
        return _png(figure)
    returns = np.array([d.value for d in report.daily], dtype=np.float64)
    days = pd.DatetimeIndex([d.day for d in report.daily]).to_numpy(dtype="datetime64[D]")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(2.2, 1))
    top.plot(days, (np.cumprod(1 + returns) - 1) * 100, color="#0b3d91", linewidth=1.6)
    top.axhline(0, color="#8c959f", linewidth=0.8)
    top.set_ylabel("Cumulative return %", fontsize=8)
    top.set_title("Equity curve since inception", fontsize=10, loc="left")
    drawdown = drawdowns(returns) * 100
    bottom.fill_between(days, drawdown, 0, color="#cf222e", alpha=0.35, linewidth=0)
    bottom.plot(days, drawdown, color="#cf222e", linewidth=0.8)
    bottom.set_ylabel("Drawdown %", fontsize=8)
    bottom.set_ylim(min(float(drawdown.min()) * 1.15, -0.01), 0)
    start = np.datetime64(report.period.start, "D")
    end = np.datetime64(report.period.end, "D") + np.timedelta64(1, "D")
    for ax in (top, bottom):
        ax.axvspan(start, end, color="#ddf4ff", zorder=0)
        ax.grid(True, color="#eaeef2", linewidth=0.6)
        ax.tick_params(labelsize=7)
    first, last = days[0], days[-1]
    bottom.set_xlim(
        first - np.timedelta64(1, "D"), max(last, end - np.timedelta64(1, "D")) + np.timedelta64(1, "D")
    )
    return _png(figure)


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def attribution_chart(report: LpReport) -> bytes:
    """Horizontal bars: each agent's realized PnL in the period (USD), best on top."""
    rows = sorted(report.attribution.agents.items(), key=lambda item: item[1].pnl, reverse=True)
    if len(rows) > MAX_CHART_AGENTS:
        rest = rows[MAX_CHART_AGENTS - 1 :]
        rows = [*rows[: MAX_CHART_AGENTS - 1], (f"{len(rest)} others", _sum_rows(rest))]
    figure = Figure(figsize=(6.4, 1.0 + 0.32 * max(len(rows), 2)), dpi=CHART_DPI, layout="constrained")
    if not rows:
        _no_data(figure, "No prod agent")
        return _png(figure)
    ax = figure.add_subplot()
    values = [row.pnl for _, row in rows][::-1]
    names = [_clip(name, 28) for name, _ in rows][::-1]
    positions = np.arange(len(rows))
    ax.barh(positions, values, color=["#1a7f37" if v >= 0 else "#cf222e" for v in values], height=0.6)
    ax.set_yticks(positions, labels=names, fontsize=8, parse_math=False)
    ax.axvline(0, color="#8c959f", linewidth=0.8)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _money_short(x)))
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(True, axis="x", color="#eaeef2", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_title(f"Realized PnL by agent · {report.period.label}", fontsize=10, loc="left", parse_math=False)
    if all(v == 0 for v in values):
        ax.set_xlim(-1, 1)
    return _png(figure)


def _sum_rows(rows: Sequence[tuple[str, LpAttributionRow]]) -> LpAttributionRow:
    total = {key: sum(getattr(row, key) for _, row in rows) for key in ("pnl", "fees", "costs", "net")}
    return LpAttributionRow(**total, contribution=sum(row.contribution for _, row in rows))


def _money_short(value: float) -> str:
    size = abs(value)
    text = f"{size / 1e6:.1f}M" if size >= 1e6 else f"{size / 1e3:.1f}k" if size >= 1e3 else f"{size:.0f}"
    return ("−$" if value < 0 else "$") + text


def render_charts(report: LpReport) -> Charts:
    """Both charts as PNG bytes (~640 px wide at 100 dpi)."""
    return {"equity": equity_chart(report), "attribution": attribution_chart(report)}


# --------------------------------------------------------------------------------------------
# Text and HTML
# --------------------------------------------------------------------------------------------


def pct(value: float | None, digits: int = 2, signed: bool = True) -> str:
    if value is None:
        return "—"
    text = f"{value * 100:{'+' if signed else ''}.{digits}f}%"
    return text.replace("-", "−")


def money(value: float | None) -> str:
    if value is None:
        return "—"
    return ("−$" if value < 0 else "$") + f"{abs(value):,.2f}"


def ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}".replace("-", "−")


def tone(value: float | None) -> str:
    """Text colour of a number: green above zero, red below, grey otherwise."""
    if value is None or value == 0:
        return "#57606a"
    return "#1a7f37" if value > 0 else "#cf222e"


def clip(value: object, size: int) -> str:
    return _clip(" ".join(str(value).split()), size)


def when(value: str) -> str:
    """An ISO timestamp as ``2026-10-30 20:00 UTC``."""
    return f"{pd.Timestamp(value).tz_convert('UTC'):%Y-%m-%d %H:%M} UTC"


FILTERS: dict[str, Callable[..., str]] = {
    "pct": pct,
    "money": money,
    "ratio": ratio,
    "tone": tone,
    "clip": clip,
    "when": when,
}


def _template(name: str, html: bool) -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.BaseLoader(),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=not html,
        lstrip_blocks=not html,
    )
    env.filters.update(FILTERS)
    text = resources.files("metasup").joinpath(f"templates/{name}").read_text(encoding="utf-8")
    return env.from_string(text)


def subject(report: LpReport, prefix: str = DEFAULT_SUBJECT_PREFIX) -> str:
    """``metasup LP report — week 2026-W43 (Oct 19 – Oct 25)``."""
    return f"{prefix} — {report.period.label}"


def _context(report: LpReport, prefix: str) -> dict[str, Any]:
    def by_pnl(rows: Mapping[str, LpAttributionRow]) -> list[tuple[str, LpAttributionRow]]:
        return sorted(rows.items(), key=lambda item: (-item[1].pnl, item[0]))

    strategies = report.strategies
    return {
        "report": report,
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
    return _template("lp_email.txt.j2", html=False).render(_context(report, prefix))


def render_html(report: LpReport, images: Mapping[str, str], prefix: str = DEFAULT_SUBJECT_PREFIX) -> str:
    """The HTML body; ``images`` maps each chart name to its ``src`` (``cid:…`` or ``data:…``)."""
    return _template("lp_email.html.j2", html=True).render(_context(report, prefix), images=images)


def preview_html(report: LpReport, charts: Charts, prefix: str = DEFAULT_SUBJECT_PREFIX) -> str:
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
    charts: Charts,
    config: EmailConfig,
    recipients: Sequence[str],
    subject_prefix: str = DEFAULT_SUBJECT_PREFIX,
) -> EmailMessage:
    """multipart/alternative: text/plain, then multipart/related (text/html + the inline PNGs).

    ``recipients`` must already be filtered (:func:`filter_recipients`); one that
    ``config.whitelist`` does not allow is an error, so nothing unlisted can slip through.
    ``Date`` and ``Message-ID`` are left to :func:`send_report` (this function reads no clock).
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
        message["To"] = ", ".join(formataddr(parseaddr(entry)) for entry in allowed)
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


# --------------------------------------------------------------------------------------------
# Recipients and sending
# --------------------------------------------------------------------------------------------


def _address(entry: str) -> str | None:
    """The bare address of ``entry`` (``a@b`` or ``Name <a@b>``), or ``None`` when it is not one."""
    if any(char in entry for char in "\r\n"):
        return None
    _, address = parseaddr(entry)
    try:
        parsed = Address(addr_spec=address)
    except (ValueError, IndexError):
        return None
    return address if parsed.username and parsed.domain else None


def filter_recipients(to: Sequence[str], whitelist: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split ``to`` into (allowed, dropped) by ``email.whitelist``.

    A whitelist entry is an exact address (case-insensitive) or ``@domain``, which allows every
    address whose domain is exactly that domain (not its subdomains). An empty whitelist allows
    nobody. Unparseable entries are dropped; duplicates (case-insensitive) are kept once.
    """
    addresses = {entry.strip().lower() for entry in whitelist if not entry.strip().startswith("@")}
    domains = {entry.strip()[1:].lower() for entry in whitelist if entry.strip().startswith("@")}
    allowed: list[str] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for entry in to:
        address = _address(entry.strip())
        key = address.lower() if address else None
        if key is not None and key in seen:
            continue
        if key is not None and (key in addresses or key.rsplit("@", 1)[1] in domains):
            allowed.append(entry.strip())
            seen.add(key)
        else:
            dropped.append(entry)
    return allowed, dropped


@dataclass(frozen=True)
class SendResult:
    sent: bool
    recipients: list[str] = field(default_factory=list)
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)
    attempts: int = 0
    message_id: str | None = None
    reason: str | None = None


def _is_transient(error: BaseException) -> bool:
    """Worth another try: connection refused/reset/timed out, server hung up, or a 4xx reply."""
    if isinstance(error, ssl.SSLError | smtplib.SMTPAuthenticationError | smtplib.SMTPNotSupportedError):
        return False
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, smtplib.SMTPServerDisconnected | ConnectionError | TimeoutError)


def _credentials(smtp: SmtpConfig, environ: Mapping[str, str]) -> tuple[str, str] | None:
    username, password = environ.get(smtp.username_env, ""), environ.get(smtp.password_env, "")
    if not username and not password:
        return None
    if not username or not password:
        missing = smtp.username_env if not username else smtp.password_env
        raise EmailError(f"SMTP credentials incomplete: {missing} is not set (set both or neither)")
    if smtp.security == "none":
        raise EmailError(
            "refusing to send SMTP credentials without TLS: set email.smtp.security to starttls or ssl"
        )
    return username, password


def _deliver(
    message: EmailMessage,
    recipients: list[str],
    smtp: SmtpConfig,
    host: str,
    credentials: tuple[str, str] | None,
    context: ssl.SSLContext,
) -> dict[str, tuple[int, bytes]]:
    client: smtplib.SMTP
    if smtp.security == "ssl":
        client = smtplib.SMTP_SSL(host, smtp.port, timeout=smtp.timeout_seconds, context=context)
    else:
        client = smtplib.SMTP(host, smtp.port, timeout=smtp.timeout_seconds)
    try:
        client.ehlo()
        if smtp.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if credentials is not None:
            client.login(*credentials)
        refused = client.send_message(message, to_addrs=recipients)
    except BaseException:
        client.close()
        raise
    try:  # delivered: a failing QUIT must not make the caller retry (and send twice)
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
    return refused


def send_report(
    message: EmailMessage,
    smtp: SmtpConfig,
    environ: Mapping[str, str],
    *,
    context: ssl.SSLContext | None = None,
    attempts: int = 3,
    backoff_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> SendResult:
    """Send ``message`` to its ``To``/``Cc`` addresses; nothing at all when there are none.

    ``security``: ``starttls`` (port 587), ``ssl`` (implicit TLS, port 465) or ``none`` (no TLS,
    and then no login). Login uses ``environ[smtp.username_env]`` / ``[smtp.password_env]`` when
    set; the password is never logged. Transient failures (connection refused/reset/timeout, a
    4xx reply) are retried up to ``attempts`` times in all, waiting ``backoff_seconds · 2^n``;
    an authentication failure, a 5xx reply or a TLS error raises :class:`EmailError` at once.
    """
    recipients = [
        address for _, address in getaddresses(message.get_all("To", []) + message.get_all("Cc", []))
    ]
    recipients = [address for address in recipients if address]
    if not recipients:
        return SendResult(sent=False, reason="no recipients: e-mail not sent")
    if not smtp.host:
        raise EmailError("email.smtp.host is not set in metasup.yml: cannot send the LP e-mail")
    credentials = _credentials(smtp, environ)
    outgoing = copy.deepcopy(message)
    if "Date" not in outgoing:
        outgoing["Date"] = formatdate(usegmt=True)
    if "Message-ID" not in outgoing:
        outgoing["Message-ID"] = make_msgid(domain="metasup.invalid")
    tls = context or ssl.create_default_context()
    where = f"{smtp.host}:{smtp.port} ({smtp.security})"
    for attempt in range(1, attempts + 1):
        try:
            refused = _deliver(outgoing, recipients, smtp, smtp.host, credentials, tls)
        except smtplib.SMTPAuthenticationError as exc:
            user = credentials[0] if credentials else "(none)"
            raise EmailError(
                f"SMTP login failed for user {user}: check {smtp.username_env}/{smtp.password_env} secrets "
                f"(server {where} replied {exc.smtp_code})"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            if not _is_transient(exc) or attempt == attempts:
                raise EmailError(
                    f"sending the LP e-mail via {where} failed after {attempt} attempt(s): {exc}"
                ) from exc
            wait = backoff_seconds * 2 ** (attempt - 1)
            log.warning(
                "SMTP attempt %d/%d via %s failed (%s); retrying in %.1fs",
                attempt,
                attempts,
                where,
                exc,
                wait,
            )
            sleep(wait)
            continue
        delivered = [r for r in recipients if r not in refused]
        return SendResult(
            sent=bool(delivered),
            recipients=delivered,
            refused={r: (code, text.decode("utf-8", "replace")) for r, (code, text) in refused.items()},
            attempts=attempt,
            message_id=str(outgoing["Message-ID"]),
        )
    raise AssertionError("unreachable")  # pragma: no cover
