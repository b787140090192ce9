"""The LP e-mail reads the audit ledger the rolling run writes (SPEC §6): a class kill recorded as
``class:NAME`` dates that class and is logged once, as a strategy class; a record's ``data`` is
told in an LP's words (``PR #7``), never with the ledger's bookkeeping (``dedupe_key``)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

import metasup.examples
from metasup.evaluate.supervisor import Supervision
from metasup.lp.email import render_html, render_text
from metasup.lp.report import LpReport, build_lp_report, last_complete_period
from metasup.lp.values import StrategyState
from metasup.model.review import CLASS_SUBJECT_PREFIX
from metasup.rolling.audit_ledger import extend_ledger_text, parse_ledger
from metasup.rolling.audit_records import NewEntry
from metasup.rolling.plan import pull_key
from metasup.runner import default_as_of, load_workspace, supervise_workspace

RUN_TS = "2026-10-26T20:00:00Z"
KILL_REASON = "1 of 1 retirement rules fired: alpha_negative (alpha -0.8% per period)"
ROLLING_ENTRIES = [
    NewEntry(event="promoted", subject="momo-beta", data={"pr": 7}, dedupe_key=pull_key(7)),
    NewEntry(
        event="killed",
        subject=f"{CLASS_SUBJECT_PREFIX}llm_macro",
        data={"reason": KILL_REASON, "registry": "active", "after_pr": 4},  # a second kill
        dedupe_key="after pr#4",
    ),
    NewEntry(
        event="vetoed",
        subject="momo-slow",
        data={
            "pr": 9,
            "closed_at": "2026-10-26T14:00:00+00:00",
            "cooldown_until": "2026-11-02T14:00:00+00:00",
        },
        dedupe_key=pull_key(9),
    ),
]
"""What a rolling run records: the ledger's own entry type, so its bookkeeping keys are the real ones."""


@pytest.fixture(scope="module")
def demo() -> tuple[Supervision, Any, pd.Timestamp]:
    """The bundled demo at its default as_of (2026-10-30 20:00), whose review kills ``llm_macro``."""
    workspace = load_workspace(metasup.examples.CONFIG_PATH)
    as_of = default_as_of(workspace.artifacts)
    return supervise_workspace(workspace, as_of, None), workspace.config, as_of


def report_with(demo: tuple[Supervision, Any, pd.Timestamp], entries: list[NewEntry]) -> LpReport:
    """The week's report with a ledger of ``entries``, read back as ``metasup report --ledger`` does."""
    supervision, config, as_of = demo
    records = parse_ledger(extend_ledger_text("", entries, RUN_TS, "r1")) if entries else []
    period = last_complete_period(as_of, "weekly")
    return build_lp_report(supervision, config, as_of, period, [r.fields() for r in records])


@pytest.fixture(scope="module")
def with_ledger(demo: tuple[Supervision, Any, pd.Timestamp]) -> LpReport:
    return report_with(demo, ROLLING_ENTRIES)


def test_class_kill_in_the_ledger__dates_the_class(with_ledger: LpReport) -> None:
    klass = next(s for s in with_ledger.strategies.classes if s.name == "llm_macro")
    assert klass.words == "killed on 2026-10-26"
    assert not klass.decided_now


def test_class_kill_in_the_ledger__logged_once_as_a_strategy_class(with_ledger: LpReport) -> None:
    about = [(e.event, e.kind, e.source) for e in with_ledger.log if "llm_macro" in e.subject]
    assert about == [("killed", "class", "ledger")]
    text = render_text(with_ledger)
    assert "killed: strategy class llm_macro" in text
    assert "class:" not in text
    assert "(this report): strategy class llm_macro" not in text
    html = render_html(with_ledger, {"equity": "cid:e", "attribution": "cid:a"})
    assert 'Strategy class <b style="overflow-wrap:anywhere;">llm_macro</b> killed' in html
    assert "class:llm_macro" not in html
    logged = json.loads(with_ledger.to_json())["log"]
    assert {"subject": "llm_macro", "kind": "class"}.items() <= next(
        e for e in logged if e["subject"] == "llm_macro"
    ).items()


def test_class_kill_of_this_report__named_as_a_strategy_class(
    demo: tuple[Supervision, Any, pd.Timestamp],
) -> None:
    report = report_with(demo, [])
    entry = next(e for e in report.log if e.subject == "llm_macro")
    assert (entry.kind, entry.source) == ("class", "review")
    assert "killed (this report): strategy class llm_macro — decided on the data to 2026-10-30" in (
        render_text(report)
    )


def test_log_detail__in_an_lps_words_without_ledger_bookkeeping(with_ledger: LpReport) -> None:
    details = {(e.event, e.subject): e.detail for e in with_ledger.log}
    assert details[("promoted", "momo-beta")] == "PR #7"
    assert details[("killed", "llm_macro")] == KILL_REASON
    assert details[("vetoed", "momo-slow")] == (
        "PR #9; closed 2026-10-26 14:00 UTC; not proposed again before 2026-11-02 14:00 UTC"
    )
    text = render_text(with_ledger)
    for internal in ("dedupe_key", "pr#7", "pr: 7", "registry", "after_pr", "pr#4"):
        assert internal not in text


def test_a_pending_demotion_is_dated_by_its_proposal_not_this_report(
    demo: tuple[Supervision, Any, pd.Timestamp],
) -> None:
    """``meanrev-swing``'s demotion was proposed on 20 October and its PR waits: every weekly e-mail
    said "demoted (this report)" until the merge (an audit). A vetoed proposal dates nothing."""
    proposed = NewEntry(
        event="demotion_proposed", subject="meanrev-swing", data={"pr": 12}, dedupe_key="pr#12"
    )
    vetoed = NewEntry(event="demotion_vetoed", subject="meanrev-swing", data={"pr": 12}, dedupe_key="pr#12")
    pending = extend_ledger_text("", [proposed], "2026-10-20T12:00:00Z", "r0")
    supervision, config, as_of = demo
    period = last_complete_period(as_of, "weekly")

    def swing(ledger: str) -> tuple[StrategyState, str]:
        records = [r.fields() for r in parse_ledger(ledger)]
        report = build_lp_report(supervision, config, as_of, period, records)
        return next(s for s in report.strategies.agents if s.name == "meanrev-swing"), render_text(report)

    state, text = swing(pending)
    assert (state.words, state.decided_now) == ("demoted on 2026-10-20", False)
    assert "demoted (this report): meanrev-swing" not in text
    state, _ = swing(extend_ledger_text(pending, [vetoed], "2026-10-21T12:00:00Z", "r1"))
    assert state.decided_now  # the rule fires again at as_of, with no proposal on record
