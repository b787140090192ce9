"""The LP e-mail does not mislead (SPEC §6): the fund's name, and no bare ratio on a short history."""

from __future__ import annotations

from pathlib import Path

import pytest

from metasup.lp.email import render_html, render_text, subject
from metasup.lp.report import LpReport, build_lp_report, last_complete_period
from metasup.runner import default_as_of, load_workspace, supervise_workspace


@pytest.fixture(scope="module")
def demo_report() -> LpReport:
    from metasup.examples import CONFIG_PATH

    workspace = load_workspace(Path(CONFIG_PATH))
    as_of = default_as_of(workspace.artifacts)
    supervision = supervise_workspace(workspace, as_of, None)
    period = last_complete_period(as_of, workspace.config.email.cadence)
    return build_lp_report(supervision, workspace.config, as_of, period)


def test_six_weeks_of_history__ratios_are_a_dash_with_the_reason(demo_report: LpReport) -> None:
    short = demo_report.model_copy(update={"daily": demo_report.daily[-30:]})  # six weeks of weekdays
    assert short.short_history
    html = render_html(short, {})
    assert f"{short.sharpe:.2f}" not in html
    assert "Sharpe and Sortino are shown as — because the fund has 30 days of returns" in html
    text = render_text(short)
    assert "Sharpe ratio           — (only 30 days of returns; shown from 60)" in text


def test_fund_name_in_title_and_subject(demo_report: LpReport) -> None:
    named = demo_report.model_copy(update={"fund_name": "Acme Capital"})
    assert subject(named).startswith("Acme Capital LP report — ")
    assert "<title>Acme Capital LP report" in render_html(named, {})
    assert "metasup" not in subject(named)
