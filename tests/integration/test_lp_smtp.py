"""LP e-mail over real SMTP: an aiosmtpd server on 127.0.0.1 with TLS (trustme CA) and AUTH.

Each test starts its own server on a free port and stops it at teardown; the client gets a TLS
context that trusts the test CA, and an injected ``sleep`` so retries never wait for real.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import logging
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pandas as pd
import pytest
from smtpserver import ENVIRON, PASSWORD, Server, smtp_config

from metasup.lp.charts import render_charts
from metasup.lp.email import build_message
from metasup.lp.report import LpReport, compute_lp_report
from metasup.lp.smtp import EmailError, EmailMaybeSent, filter_recipients, send_report
from metasup.lp.statistics import daily_returns
from metasup.model.config import EmailConfig, SmtpConfig

CONFIG = EmailConfig.model_validate(
    {
        "from": "metasup@fund.example",
        "to": ["ann@lp.example", "Bob <bob@lp.example>", "eve@evil.example", "ceo@fund.example"],
        "whitelist": ["@lp.example", "ceo@FUND.example"],
    }
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def report() -> LpReport:
    capital = 1_000_000.0
    days = pd.bdate_range("2026-10-01", "2026-10-23", tz="UTC")
    recon = pd.DataFrame(
        {
            "exit_ts": days + pd.Timedelta(hours=15),
            "agent": ["momo", "revert"] * (len(days) // 2) + ["momo"] * (len(days) % 2),
            "strategy_class": None,
            "status": "realized",
            "pnl": [float(100 * ((i * 7) % 5 - 2)) for i in range(len(days))],
            "fee": 1.0,
        }
    )
    costs = pd.DataFrame({"ts": days[-3:], "agent": "momo", "cost_usd": 4.0})
    as_of = pd.Timestamp("2026-10-26T09:00", tz="UTC")
    agents = ["momo", "revert"]
    return compute_lp_report(
        daily_returns(recon, agents, capital, as_of),
        recon,
        costs,
        agents,
        {"momo": "trend", "revert": "range"},
        capital,
        dt.date(2026, 10, 19),
        dt.date(2026, 10, 25),
        as_of,
    )


@pytest.fixture
def message(report: LpReport) -> EmailMessage:
    allowed, _ = filter_recipients(CONFIG.to, CONFIG.whitelist)
    return build_message(report, render_charts(report), CONFIG, allowed)


def no_sleep(waits: list[float]) -> Callable[[float], None]:
    return waits.append


def check_delivered(server: Server, message: EmailMessage) -> EmailMessage:
    assert len(server.mailbox.received) == 1
    mail_from, rcpt_tos, content = server.mailbox.received[0]
    assert mail_from == "metasup@fund.example"
    assert rcpt_tos == ["ann@lp.example", "bob@lp.example", "ceo@fund.example"]  # eve was never whitelisted
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == "LP report — week 2026-W43 (Oct 19 – Oct 25)"
    assert parsed["X-Metasup-Period"] == "weekly:2026-W43"
    assert parsed["Date"] is not None
    assert parsed["Message-ID"] is not None
    assert "eve@evil.example" not in content.decode("ascii", "replace")
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert "week 2026-W43" in plain.get_content()
    images = {
        str(part["Content-ID"]).strip("<>"): part.get_content()
        for part in parsed.walk()
        if part.get_content_type() == "image/png"
    }
    html_text = html.get_content()
    cids = {src.split('"')[0] for src in html_text.split('src="cid:')[1:]}
    assert cids == set(images)
    assert all(image.startswith(b"\x89PNG") for image in images.values())
    assert "Bcc" not in parsed
    return parsed


@pytest.mark.parametrize("exclude", [["PLAIN"], ["LOGIN"]], ids=["auth-login", "auth-plain"])
def test_send_report__starttls_with_auth(
    make_server: Callable[..., Server],
    client_context: ssl.SSLContext,
    message: EmailMessage,
    exclude: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = make_server(auth_exclude_mechanism=exclude)
    result = send_report(message, smtp_config(server), ENVIRON, context=client_context, sleep=no_sleep([]))
    assert result.sent
    assert result.attempts == 1
    assert result.recipients == ["ann@lp.example", "bob@lp.example", "ceo@fund.example"]
    assert server.mailbox.logins == [({"PLAIN": "LOGIN", "LOGIN": "PLAIN"}[exclude[0]], True)]
    check_delivered(server, message)
    assert PASSWORD not in caplog.text


def test_send_report__implicit_tls(
    make_server: Callable[..., Server], client_context: ssl.SSLContext, message: EmailMessage
) -> None:
    server = make_server(implicit_tls=True)
    result = send_report(message, smtp_config(server, "ssl"), ENVIRON, context=client_context)
    assert result.sent
    assert server.mailbox.logins == [("PLAIN", True)]
    check_delivered(server, message)


def test_send_report__wrong_password_is_a_clear_error_and_not_retried(
    make_server: Callable[..., Server],
    client_context: ssl.SSLContext,
    message: EmailMessage,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = make_server()
    waits: list[float] = []
    with pytest.raises(EmailError) as caught:
        send_report(
            message,
            smtp_config(server),
            {**ENVIRON, "SMTP_PASSWORD": "wrong-horse"},
            context=client_context,
            sleep=no_sleep(waits),
        )
    text = str(caught.value)
    assert text.startswith("SMTP login failed for user lp-bot: check SMTP_USERNAME/SMTP_PASSWORD secrets")
    assert "535" in text
    assert "wrong-horse" not in text
    assert "wrong-horse" not in caplog.text
    # one connection: smtplib tries each advertised mechanism once, then gives up without a retry
    assert server.mailbox.logins == [("PLAIN", False), ("LOGIN", False)]
    assert server.mailbox.received == []
    assert waits == []


def test_send_report__untrusted_certificate_is_not_retried(
    make_server: Callable[..., Server], message: EmailMessage
) -> None:
    server = make_server()
    waits: list[float] = []
    with pytest.raises(EmailError, match="CERTIFICATE_VERIFY_FAILED"):
        send_report(
            message, smtp_config(server), ENVIRON, context=ssl.create_default_context(), sleep=no_sleep(waits)
        )
    assert server.mailbox.received == []
    assert waits == []


def test_send_report__connection_refused_then_server_up_delivers_once(
    make_server: Callable[..., Server], client_context: ssl.SSLContext, message: EmailMessage
) -> None:
    server = make_server(started=False)
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the server comes up while the client backs off
        waits.append(seconds)
        server.start()

    result = send_report(message, smtp_config(server), ENVIRON, context=client_context, sleep=sleep)
    assert result.sent
    assert result.attempts == 2
    assert waits == [2.0]
    check_delivered(server, message)


def test_send_report__transient_421_then_success_delivers_once(
    make_server: Callable[..., Server], client_context: ssl.SSLContext, message: EmailMessage
) -> None:
    server = make_server()
    server.mailbox.fail_data.append("421 4.3.2 Service not available, try again later")
    waits: list[float] = []
    result = send_report(message, smtp_config(server), ENVIRON, context=client_context, sleep=no_sleep(waits))
    assert result.sent
    assert result.attempts == 2
    assert waits == [2.0]
    check_delivered(server, message)


def test_send_report__gives_up_after_the_last_attempt(
    make_server: Callable[..., Server], client_context: ssl.SSLContext, message: EmailMessage
) -> None:
    server = make_server()
    server.mailbox.fail_data.extend(["451 4.3.0 busy"] * 3)
    waits: list[float] = []
    with pytest.raises(EmailError, match="after 3 attempt"):
        send_report(message, smtp_config(server), ENVIRON, context=client_context, sleep=no_sleep(waits))
    assert waits == [2.0, 4.0]
    assert server.mailbox.received == []


def test_send_report__permanent_5xx_is_not_retried(
    make_server: Callable[..., Server], client_context: ssl.SSLContext, message: EmailMessage
) -> None:
    server = make_server()
    server.mailbox.fail_data.append("554 5.6.0 Message rejected")
    waits: list[float] = []
    with pytest.raises(EmailError, match="554"):
        send_report(message, smtp_config(server), ENVIRON, context=client_context, sleep=no_sleep(waits))
    assert waits == []
    assert server.mailbox.received == []


@pytest.mark.parametrize("host", ["smtp..fund.example", "x" * 64 + ".example"])
def test_send_report__a_host_name_dns_cannot_hold_is_a_clear_error(host: str, message: EmailMessage) -> None:
    """An empty label or one over 63 characters: Python's IDNA codec refuses it (UnicodeError)."""
    waits: list[float] = []
    with pytest.raises(EmailError, match=f"via {host}:587 .* failed after 1 attempt"):
        send_report(message, SmtpConfig(host=host), ENVIRON, sleep=no_sleep(waits))
    assert waits == []


def test_send_report__nobody_whitelisted_sends_nothing(
    make_server: Callable[..., Server], client_context: ssl.SSLContext, report: LpReport
) -> None:
    server = make_server()
    allowed, dropped = filter_recipients(["eve@evil.example"], CONFIG.whitelist)
    assert (allowed, dropped) == ([], ["eve@evil.example"])
    message = build_message(report, render_charts(report), CONFIG, allowed)
    result = send_report(message, smtp_config(server), ENVIRON, context=client_context)
    assert not result.sent
    assert server.mailbox.received == []
    assert server.mailbox.logins == []


@pytest.mark.parametrize("server_does", ["answers late", "hangs up"])
def test_send_report__no_answer_after_the_message_is_never_sent_again(
    make_server: Callable[..., Server],
    client_context: ssl.SSLContext,
    message: EmailMessage,
    server_does: str,
) -> None:
    """The server queued the message, then its "250" came after the client's timeout (or it hung
    up before replying): the retry sent the whole transaction again and the LPs got the report
    twice. A failure after the message was handed over is ambiguous: not retried, said so."""
    server = make_server()
    box = server.mailbox
    accept = box.handle_DATA

    async def queued_then_silent(srv: Any, session: Any, envelope: Any) -> str:
        reply: str = await accept(srv, session, envelope)
        if server_does == "hangs up":
            srv.transport.close()
        await asyncio.sleep(2.0)
        return reply

    box.handle_DATA = queued_then_silent  # type: ignore[method-assign]
    config = smtp_config(server).model_copy(update={"timeout_seconds": 1.0})
    waits: list[float] = []
    with pytest.raises(EmailMaybeSent, match="did not answer after the message was handed over"):
        send_report(message, config, ENVIRON, context=client_context, sleep=no_sleep(waits))
    assert len(box.received) == 1
    assert waits == []
