"""LP e-mails from rolling runs: once per period, whitelist only, claimed before sending."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml
from dask_runs import run_on_a_cluster
from fakegithub import FakeGitHub, OpenAPISpec
from smtpserver import ENVIRON, Server
from test_action_rolling import REPO, STATE, Rolling, fleet_files


@pytest.fixture
def trust_test_ca(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The action uses the system trust store; point it at the test CA (OpenSSL reads SSL_CERT_FILE)."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))


def mailing(
    fake: FakeGitHub,
    tmp_path: Path,
    github_event_path: Callable[..., Path],
    server: Server,
    **email_config: object,
) -> Rolling:
    files = fleet_files()
    config = yaml.safe_load(files["metasup.yml"])
    config["email"] = {
        "cadence": "daily",
        "from": "metasup@fund.example",
        "to": ["ann@fund.example", "eve@evil.example"],
        "whitelist": ["@fund.example"],
        "smtp": {"host": "127.0.0.1", "port": server.port, "security": "starttls", "timeout_seconds": 5},
        **email_config,
    }
    files["metasup.yml"] = yaml.safe_dump(config, sort_keys=False)
    fake.create_repo(REPO, files)
    workspace = tmp_path / "workspace"
    for name, text in files.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text)
    runner = Rolling(fake, workspace, github_event_path("workflow_dispatch", repo=REPO))
    runner.environ.update(ENVIRON)
    return runner


@pytest.mark.usefixtures("trust_test_ca")
def test_email__four_runs_a_day_send_once(
    fake_github: FakeGitHub,
    tmp_path: Path,
    make_server: Callable[..., Server],
    github_event_path: Callable[..., Path],
) -> None:
    server = make_server()
    runner = mailing(fake_github, tmp_path, github_event_path, server)
    for _ in range(4):
        assert runner() == 0
        fake_github.advance(hours=6)
    assert len(server.mailbox.received) == 1
    _sender, recipients, content = server.mailbox.received[0]
    assert recipients == ["ann@fund.example"]  # eve is not whitelisted
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert message["X-Metasup-Period"] == "daily:2026-10-29"
    assert message.get_content_type() == "multipart/alternative"
    sent = runner.events("email_sent")
    assert [r["data"]["period"] for r in sent] == ["daily:2026-10-29"]  # type: ignore[index]
    assert runner.log.count("::warning::LP e-mail: eve@evil.example is not in email.whitelist") == 1


@pytest.mark.usefixtures("trust_test_ca")
def test_email__weekly_on_wrong_weekday_sends_nothing(
    fake_github: FakeGitHub,
    tmp_path: Path,
    make_server: Callable[..., Server],
    github_event_path: Callable[..., Path],
) -> None:
    server = make_server()
    runner = mailing(
        fake_github,
        tmp_path,
        github_event_path,
        server,
        cadence="weekly",
        weekday="mon",
    )
    assert runner() == 0  # as_of is a Friday
    assert server.mailbox.received == []
    assert runner.events("email_sent") == []


@pytest.mark.usefixtures("trust_test_ca")
def test_email__wrong_password_records_nothing_then_retry_sends(
    fake_github: FakeGitHub,
    tmp_path: Path,
    make_server: Callable[..., Server],
    github_event_path: Callable[..., Path],
) -> None:
    server = make_server()
    runner = mailing(fake_github, tmp_path, github_event_path, server)
    assert runner(SMTP_PASSWORD="wrong") == 1
    assert "::error::LP e-mail daily:2026-10-29 not sent: SMTP login failed" in runner.stdout
    assert server.mailbox.received == []
    assert runner.events("email_sent") == []
    assert "daily:2026-10-29" not in fake_github.read_file(REPO, "email-claims.json", ref=STATE)
    assert runner() == 0
    assert len(server.mailbox.received) == 1


@pytest.mark.usefixtures("trust_test_ca")
def test_email__racing_run_holding_the_claim_means_no_send(
    fake_github: FakeGitHub,
    tmp_path: Path,
    make_server: Callable[..., Server],
    github_event_path: Callable[..., Path],
) -> None:
    server = make_server()
    runner = mailing(fake_github, tmp_path, github_event_path, server)

    def other_run_claims_first(fake: FakeGitHub, request: object) -> None:
        fake.create_branch(REPO, STATE)
        fake.commit_files(REPO, STATE, {"email-claims.json": '{"daily:2026-10-29": "other-run"}'})

    fake_github.before_request(other_run_claims_first, method="POST", path=f"/repos/{REPO}/git/refs")
    assert runner() == 0
    assert server.mailbox.received == []
    summary = re.sub(r"\\(.)", r"\1", (runner.workspace.parent / "summary.md").read_text())
    assert (
        "LP e-mail daily:2026-10-29: run other-run claimed it but has not recorded sending it — "
        "it is still running, or it stopped before recording" in summary
    )
    assert "delete 'daily:2026-10-29' from email-claims.json on the metasup-state branch" in runner.log
    assert runner.events("email_sent") == []


@pytest.mark.usefixtures("trust_test_ca")
def test_email__a_rolling_run_on_dask_sends_the_local_runs_report(
    fake_github: FakeGitHub,
    github_openapi: OpenAPISpec,
    tmp_path: Path,
    make_server: Callable[..., Server],
    github_event_path: Callable[..., Path],
) -> None:
    """SPEC §8: the LP report books the prod agents' realized signals, which the cluster brings back,
    so a rolling run on a dask cluster e-mails what the local run e-mails."""
    server = make_server()
    local = mailing(fake_github, tmp_path / "local", github_event_path, server)
    assert local() == 0
    other = FakeGitHub(github_openapi).start()
    try:
        distributed = mailing(other, tmp_path / "dask", github_event_path, server)
        run_on_a_cluster(distributed.workspace, distributed)
    finally:
        other.stop()
    assert other.take_errors() == []
    assert "rolling run on the dask engine" in distributed.stdout
    texts = []
    for _sender, _recipients, content in server.mailbox.received:
        message = email.message_from_bytes(content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        texts.append(body.get_content())
    assert len(texts) == 2
    assert "momo-alpha" in texts[0]  # a prod agent's line: the report is not empty
    assert texts[0] == texts[1]


@pytest.mark.usefixtures("trust_test_ca")
def test_email__a_mistyped_or_doubled_recipient_is_dropped_and_the_run_goes_on(
    fake_github: FakeGitHub,
    tmp_path: Path,
    make_server: Callable[..., Server],
    github_event_path: Callable[..., Path],
) -> None:
    """A typo in ``email.to`` stopped the whole rolling run (an internal error: no kill recorded);
    two addresses in one entry sent to the first only, without a word."""
    server = make_server()
    doubled = "Bob <bob@fund.example>, Cy <cy@fund.example>"
    to = ["ann@fund.example.", doubled, "Dee <dee@fund.example>"]
    runner = mailing(fake_github, tmp_path, github_event_path, server, to=to)
    assert runner() == 0
    (_sender, recipients, _content) = server.mailbox.received[0]
    assert recipients == ["dee@fund.example"]
    for entry in to[:2]:
        assert f"::warning::LP e-mail: {entry} is not one e-mail address" in runner.log
    assert runner.events("killed")  # the rest of the run happened


@pytest.mark.usefixtures("trust_test_ca")
def test_email__no_answer_after_the_message_keeps_the_claim_and_never_sends_twice(
    fake_github: FakeGitHub,
    tmp_path: Path,
    make_server: Callable[..., Server],
    github_event_path: Callable[..., Path],
) -> None:
    """The server queued the report, then its reply came after the timeout: the run retried and
    ann got it twice. Now the run says the e-mail may have gone out and keeps its claim; the next
    run warns about that claim (and how to release it) and sends nothing."""
    server = make_server()
    accept = server.mailbox.handle_DATA

    async def queued_then_late(srv: Any, session: Any, envelope: Any) -> str:
        reply: str = await accept(srv, session, envelope)
        await asyncio.sleep(2.0)
        return reply

    server.mailbox.handle_DATA = queued_then_late  # type: ignore[method-assign]
    runner = mailing(fake_github, tmp_path, github_event_path, server, smtp={
        "host": "127.0.0.1", "port": server.port, "security": "starttls", "timeout_seconds": 1,
    })  # fmt: skip

    assert runner() == 1
    assert "::error::LP e-mail daily:2026-10-29: the SMTP server" in runner.stdout
    assert "it may have been delivered, so metasup does not send it again" in runner.stdout
    assert len(server.mailbox.received) == 1
    assert runner.events("email_sent") == []
    assert "daily:2026-10-29" in fake_github.read_file(REPO, "email-claims.json", ref=STATE)

    fake_github.advance(hours=6)
    assert runner() == 0
    assert "claimed it but has not recorded sending it" in runner.stdout
    assert len(server.mailbox.received) == 1


@pytest.mark.usefixtures("trust_test_ca")
@pytest.mark.parametrize("refusal", ["550 5.1.1 mailbox unavailable", "450 4.2.1 mailbox busy"])
def test_email__a_recipient_the_server_refuses_is_named(
    fake_github: FakeGitHub,
    tmp_path: Path,
    make_server: Callable[..., Server],
    github_event_path: Callable[..., Path],
    refusal: str,
) -> None:
    """bob was refused at RCPT while ann got the report: the summary said "sent to 1
    recipient(s)" and nothing more, so nobody knew bob never got it."""
    server = make_server()

    async def refuse_bob(srv: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("bob@"):
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    server.mailbox.handle_RCPT = refuse_bob  # type: ignore[attr-defined]
    runner = mailing(
        fake_github, tmp_path, github_event_path, server, to=["ann@fund.example", "bob@fund.example"]
    )

    assert runner() == 0

    assert [recipients for _, recipients, _ in server.mailbox.received] == [["ann@fund.example"]]
    code = refusal.split()[0]
    assert (
        f"::warning::LP e-mail daily:2026-10-29: the SMTP server refused bob@fund.example ({code} "
        in runner.stdout
    )
    [sent] = runner.events("email_sent")
    assert sent["data"]["refused"] == ["bob@fund.example"]  # type: ignore[index]


@pytest.mark.usefixtures("trust_test_ca")
def test_email__the_run_that_records_a_persons_edit_books_as_later_reports_do(
    fake_github: FakeGitHub,
    tmp_path: Path,
    make_server: Callable[..., Server],
    github_event_path: Callable[..., Path],
) -> None:
    """A person took momo-alpha (in prod since before the ledger) out of prod; the run that records
    it (``left_prod_by_hand``) also sends the period's e-mail. That e-mail was built from the ledger
    before the run: momo-alpha, no longer prod and never moved, was booked nowhere, its prod history
    gone from the figures, while every later report books it until the edit (a review)."""
    server = make_server()
    fake_github.clock.set(datetime(2026, 10, 31, 6, tzinfo=UTC))  # runs (and records) after the data
    runner = mailing(fake_github, tmp_path, github_event_path, server)
    config = runner.workspace / "metasup.yml"
    with_email = config.read_text()
    without = yaml.safe_load(with_email)
    del without["email"]
    config.write_text(yaml.safe_dump(without, sort_keys=False))
    assert runner() == 0  # no e-mail yet: the snapshot shows momo-alpha in prod
    assert server.mailbox.received == []

    registry = fake_github.read_file(REPO, "agents.yaml", ref="main") or ""
    edited = re.sub(r"(name: momo-alpha .*?stage: )prod", r"\1sandbox", registry, count=1, flags=re.S)
    assert edited != registry
    fake_github.commit_files(REPO, "main", {"agents.yaml": edited}, user="alice")
    (runner.workspace / "agents.yaml").write_text(edited)
    config.write_text(with_email)
    fake_github.advance(hours=6)
    assert runner() == 0

    [moved] = runner.events("left_prod_by_hand", "momo-alpha")
    [(_sender, _recipients, content)] = server.mailbox.received
    message = email.message_from_bytes(content, policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert "momo-alpha" in body.get_content()  # in prod for the whole period: booked
    assert moved["run_id"] == "2"
