"""Sending the LP e-mail (SPEC §6): recipients whitelist, SMTP with TLS and login, retries.

The only module of the LP wing that does I/O. Credentials come from the environment mapping
the caller passes in (``environ``), never from ``os.environ`` directly, and the password is
never logged. Building the message is :mod:`metasup.lp.email`.

Exceptions::

    MetasupError
     └── EmailError     the e-mail cannot be built or sent; the message says what to fix
          └── EmailMaybeSent  no reply after the message was handed over: perhaps delivered
"""

from __future__ import annotations

import copy
import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address, AddressHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from typing import TYPE_CHECKING

from metasup.model.config import ENCODED_WORD, SmtpConfig
from metasup.model.errors import MetasupError

if TYPE_CHECKING:
    from typing_extensions import Buffer

log = logging.getLogger(__name__)


class EmailError(MetasupError):
    """The LP e-mail cannot be built or sent."""


class EmailMaybeSent(EmailError):
    """The server stopped answering after the whole message was handed over (a timeout or a
    hang-up before its reply to DATA): it may have been delivered, so it is not sent again."""


# --------------------------------------------------------------------------------------------
# Recipients
# --------------------------------------------------------------------------------------------


_HEADERS = HeaderRegistry()


def _address(entry: str) -> Address | None:
    """``entry`` (``a@b``, ``Name <a@b>``, ``"Doe, Jane" <a@b>``) as one address, or ``None`` when it
    is not exactly one well-formed address: a typo (``a@b.``, ``a@b..c``), several addresses
    (``A <a@b>, B <c@d>``, or with ``;``), a line break. Read the way the ``To`` header will be
    (``email.policy.default``): whatever it would find a defect in or lose is dropped, not sent."""
    if any(char in entry for char in "\r\n") or ENCODED_WORD.search(entry):
        return None  # an encoded word is decoded by the header: =0D=0A in it is a line break
    try:
        header = _HEADERS("to", entry)
    except ValueError:  # what the header parser cannot hold at all
        return None
    if not isinstance(header, AddressHeader) or header.defects or len(header.addresses) != 1:
        return None
    (address,) = header.addresses
    return address if address.username and address.domain else None


def why_dropped(entry: str) -> str:
    """Why :func:`filter_recipients` dropped ``entry``, in the words of the run's warning."""
    if _address(entry.strip()) is None:
        return (
            "is not one e-mail address (a typo, several addresses in one entry, a line break, "
            "an encoded word?)"
        )
    return "is not in email.whitelist"


def filter_recipients(to: Sequence[str], whitelist: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split ``to`` into (allowed, dropped) by ``email.whitelist``.

    A whitelist entry is an exact address (case-insensitive) or ``@domain``, which allows every
    address whose domain is exactly that domain (not its subdomains). An empty whitelist allows
    nobody. Entries that are not one address are dropped; duplicates (case-insensitive) are kept
    once. Allowed entries come back as the ``To`` header will write them (``Name <a@b>``).
    """
    addresses = {entry.strip().lower() for entry in whitelist if not entry.strip().startswith("@")}
    domains = {entry.strip()[1:].lower() for entry in whitelist if entry.strip().startswith("@")}
    allowed: list[str] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for entry in to:
        address = _address(entry.strip())
        key = address.addr_spec.lower() if address else None
        if key is not None and key in seen:
            continue
        if key is not None and (key in addresses or key.rsplit("@", 1)[1] in domains):
            allowed.append(str(address))
            seen.add(key)
        else:
            dropped.append(entry)
    return allowed, dropped


# --------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------


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


class _HandOver(smtplib.SMTP):
    """An SMTP client that knows whether the message itself went out: ``data()`` sends the DATA
    command, then (after the server's 354) the message; a failure after that is ambiguous."""

    handed_over = False
    _data_writes = -1

    def data(self, msg: Buffer | str) -> tuple[int, bytes]:
        self._data_writes = 0
        return super().data(msg)

    def send(self, s: Buffer | str) -> None:
        super().send(s)
        if self._data_writes >= 0:
            self._data_writes += 1
            self.handed_over = self._data_writes > 1  # the first write is the DATA command


class _Tls(_HandOver, smtplib.SMTP_SSL):
    """:class:`_HandOver` over implicit TLS (``security: ssl``)."""


class _HandedOver(Exception):
    """The exception of a send that failed with no reply after the message was handed over."""


def _deliver(
    message: EmailMessage,
    recipients: list[str],
    smtp: SmtpConfig,
    host: str,
    credentials: tuple[str, str] | None,
    context: ssl.SSLContext,
) -> dict[str, tuple[int, bytes]]:
    client: _HandOver
    if smtp.security == "ssl":
        client = _Tls(host, smtp.port, timeout=smtp.timeout_seconds, context=context)
    else:
        client = _HandOver(host, smtp.port, timeout=smtp.timeout_seconds)
    try:
        client.ehlo()
        if smtp.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if credentials is not None:
            client.login(*credentials)
        refused = client.send_message(message, to_addrs=recipients)
    except smtplib.SMTPResponseException:  # the server's reply (451 after DATA): it did not take it
        client.close()
        raise
    except OSError as exc:  # smtplib's errors too: a timeout, a hang-up, a reset
        client.close()
        if client.handed_over:  # no reply to the message: a retry could deliver it twice
            raise _HandedOver(exc) from exc
        raise
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
        except _HandedOver as exc:
            raise EmailMaybeSent(
                f"the SMTP server {where} did not answer after the message was handed over "
                f"({exc.__cause__}): it may have been delivered, so metasup does not send it again"
            ) from None
        except smtplib.SMTPAuthenticationError as exc:
            user = credentials[0] if credentials else "(none)"
            raise EmailError(
                f"SMTP login failed for user {user}: check {smtp.username_env}/{smtp.password_env} secrets "
                f"(server {where} replied {exc.smtp_code})"
            ) from None
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:  # UnicodeError: a host IDNA refuses
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
