"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 with STARTTLS or implicit TLS and AUTH.

The fixtures built on it (``ca``, ``client_context``, ``make_server``) live in
``tests/integration/conftest.py``; every server stops at teardown.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from metasup.model.config import SmtpConfig

USER, PASSWORD = "lp-bot", "s3cret-Pa55"
ENVIRON = {"SMTP_USERNAME": USER, "SMTP_PASSWORD": PASSWORD}
WAIT = 5.0
"""Seconds any single wait may take: server start, SMTP timeout."""


@dataclass
class Mailbox:
    """What the server saw; ``fail_data`` replies to the first DATA commands with that reply."""

    require_auth: bool = False
    fail_data: list[str] = field(default_factory=list)
    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.fail_data:
            return self.fail_data.pop(0)
        assert envelope.mail_from is not None
        assert isinstance(envelope.content, bytes)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Accepted"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == USER.encode()
            and auth_data.password == PASSWORD.encode()
        )
        self.logins.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)  # handled=False: the server replies 535 itself


@dataclass
class Server:
    port: int
    mailbox: Mailbox
    start: Callable[[], None]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def smtp_config(server: Server, security: str = "starttls") -> SmtpConfig:
    return SmtpConfig.model_validate(
        {"host": "127.0.0.1", "port": server.port, "security": security, "timeout_seconds": WAIT}
    )


def client_context_for(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def server_factory(ca: trustme.CA) -> Iterator[Callable[..., Server]]:
    """``make_server(implicit_tls=False, started=True, **smtp_kwargs)``; every server stops at teardown."""
    controllers: list[Controller] = []
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)

    def make(implicit_tls: bool = False, started: bool = True, **smtp_kwargs: Any) -> Server:
        mailbox = Mailbox(require_auth=implicit_tls)
        port = free_port()
        if implicit_tls:
            # Implicit TLS: the whole session is encrypted; aiosmtpd's auth_require_tls only knows
            # STARTTLS, so the mailbox itself refuses recipients until the client has logged in.
            tls: dict[str, Any] = {"ssl_context": server_context}
        else:
            tls = {"tls_context": server_context, "require_starttls": True, "auth_required": True}
        controller = Controller(
            mailbox,
            hostname="127.0.0.1",
            port=port,
            server_hostname="mail.test",
            ready_timeout=WAIT,
            authenticator=mailbox.authenticate,
            auth_require_tls=not implicit_tls,
            **tls,
            **smtp_kwargs,
        )

        def start() -> None:
            controller.start()
            controllers.append(controller)

        if started:
            start()
        return Server(port=port, mailbox=mailbox, start=start)

    yield make
    for controller in controllers:
        controller.stop()
