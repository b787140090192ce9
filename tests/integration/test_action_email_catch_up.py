"""LP e-mails skip no period (SPEC §6): a market holiday gives no bar, so no ``as_of``, on its day,
and a runner can miss a day; the periods scheduled meanwhile go out after, oldest first, one per
run. Through the action, a real SMTP server and the fake GitHub."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from pathlib import Path

import pytest
from fakegithub import FakeGitHub
from smtpserver import Server
from test_action_email import mailing, trust_test_ca

__all__ = ["trust_test_ca"]  # the fixture


def periods_received(server: Server) -> list[str]:
    return [
        str(email.message_from_bytes(content, policy=email.policy.default)["X-Metasup-Period"])
        for _sender, _recipients, content in server.mailbox.received
    ]


@pytest.mark.usefixtures("trust_test_ca")
def test_daily_periods_a_missed_day_skipped_go_out_oldest_first(
    fake_github: FakeGitHub,
    tmp_path: Path,
    make_server: Callable[..., Server],
    github_event_path: Callable[..., Path],
) -> None:
    """Wednesday's run reports Tuesday; no run on Thursday; Friday's runs report Wednesday, then
    Thursday, then nothing more."""
    server = make_server()
    runner = mailing(fake_github, tmp_path, github_event_path, server)
    assert runner(METASUP_AS_OF="2026-10-28T20:00:00Z") == 0
    assert periods_received(server) == ["daily:2026-10-27"]

    for _ in range(3):
        fake_github.advance(hours=6)
        assert runner(METASUP_AS_OF="2026-10-30T20:00:00Z") == 0

    assert periods_received(server) == ["daily:2026-10-27", "daily:2026-10-28", "daily:2026-10-29"]
    assert [r["data"]["period"] for r in runner.events("email_sent")] == periods_received(server)  # type: ignore[index]


@pytest.mark.usefixtures("trust_test_ca")
def test_a_weekly_report_due_on_a_holiday_monday_goes_out_on_tuesday(
    fake_github: FakeGitHub,
    tmp_path: Path,
    make_server: Callable[..., Server],
    github_event_path: Callable[..., Path],
) -> None:
    """Weekly on Mondays: week 42 goes out on Monday 19 October; Monday 26 October is a holiday
    (the latest bar is Friday's until Tuesday's open), so week 43 goes out with Tuesday's data."""
    server = make_server()
    runner = mailing(fake_github, tmp_path, github_event_path, server, cadence="weekly", weekday="mon")
    assert runner(METASUP_AS_OF="2026-10-19T20:00:00Z") == 0
    fake_github.advance(hours=24 * 7)
    assert runner(METASUP_AS_OF="2026-10-23T20:00:00Z") == 0  # Friday's bar, still on the holiday
    assert periods_received(server) == ["weekly:2026-W42"]

    fake_github.advance(hours=24)
    assert runner(METASUP_AS_OF="2026-10-27T20:00:00Z") == 0

    assert periods_received(server) == ["weekly:2026-W42", "weekly:2026-W43"]
