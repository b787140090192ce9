"""The rolling run's LP e-mail step: at most once per period, claimed on the state branch.

The claim is a compare-and-swap write, so of two racing runs only one sends. A failed send
releases the claim (its period maps to None in ``claim_changes``) so a later run can try again;
a run that dies between claim and record leaves the claim, and the period is not sent twice (at
most once, by design: an LP must never get the same report twice). Such a claim, with no
``email_sent`` record, is a warning on every run that finds it: the report may not have gone out,
and the warning says how to release it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from metasup.evaluate.supervisor import Supervision
from metasup.github import Console, GitHubClient
from metasup.lp.charts import render_charts
from metasup.lp.email import build_message
from metasup.lp.report import build_lp_report
from metasup.lp.smtp import EmailError, EmailMaybeSent, filter_recipients, send_report, why_dropped
from metasup.lp.statistics import CATCH_UP_PERIODS, Period, due_periods
from metasup.rolling.audit_ledger import LedgerRecord, NewEntry
from metasup.rolling.context import RollingContext
from metasup.rolling.state import claim_email_period
from metasup.rolling.state_layout import EMAIL_CLAIMS_PATH, STATE_BRANCH
from metasup.runner import Workspace


@dataclass(frozen=True)
class DueEmail:
    """What the e-mail step reads: this run, the evaluated base, and the state branch as read."""

    context: RollingContext
    workspace: Workspace
    supervision: Supervision
    records: list[LedgerRecord]
    claims: dict[str, str]
    state_head: str | None
    kills_in_force: frozenset[str] = frozenset()
    """Subjects whose recorded kill stands (``rolling.kills.kills_in_force``)."""


@dataclass(frozen=True)
class EmailStep:
    """What the e-mail step did: audit-ledger entries to record, claims to keep or release, what to say."""

    entries: list[NewEntry] = field(default_factory=list)
    claim_changes: dict[str, str | None] = field(default_factory=dict)
    decisions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _unrecorded_claim(period_key: str, holder: str) -> str:
    return (
        f"LP e-mail {period_key}: run {holder} claimed it but has not recorded sending it — it is "
        "still running, or it stopped before recording and the e-mail may not have gone out. "
        f"metasup never sends a period twice; to send it again, delete {period_key!r} from "
        f"{EMAIL_CLAIMS_PATH} on the {STATE_BRANCH} branch."
    )


def send_due_email(gh: GitHubClient, due: DueEmail, console: Console) -> EmailStep:
    """Send the LP e-mail of the oldest period due at the review's ``as_of`` and neither sent nor
    claimed (``lp.statistics.due_periods``: the schedule, and the periods a holiday or missed runs
    skipped since the last one sent — one a run, so a backlog goes out oldest first, one per run).

    Claim on the state branch, send, and return the ``email_sent`` entry; warnings about
    recipients outside ``email.whitelist`` go to ``console`` as they are found.
    """
    email = due.workspace.config.email
    if not email.to:
        return EmailStep()
    as_of = pd.Timestamp(due.supervision.review.as_of)
    sent = [str(r.data.get("period")) for r in due.records if r.event == "email_sent"]
    periods, missed = due_periods(as_of, email.cadence, email.weekday, sent)
    # every claim no ``email_sent`` covers, due or long past: a later period going out must not
    # silence the one whose e-mail may never have left (an audit)
    warnings = [
        _unrecorded_claim(key, holder) for key, holder in sorted(due.claims.items()) if key not in sent
    ]
    if missed:
        warnings.append(
            f"LP e-mail: {missed} {email.cadence} period(s) before {periods[0].key} were never sent "
            f"(no run, or no data, on their day) and are past the catch-up of {CATCH_UP_PERIODS}: "
            "metasup does not send them"
        )
    period = next((p for p in periods if p.key not in due.claims and p.key not in sent), None)
    if period is None:
        return EmailStep(warnings=warnings)
    step = _send(gh, due, console, period)
    return replace(step, warnings=[*warnings, *step.warnings])


def _send(gh: GitHubClient, due: DueEmail, console: Console, period: Period) -> EmailStep:
    """Claim ``period``, build and send its e-mail, and say what happened."""
    email = due.workspace.config.email
    as_of = pd.Timestamp(due.supervision.review.as_of)
    allowed, dropped = filter_recipients(email.to, email.whitelist)
    for address in dropped:
        console.command("warning", f"LP e-mail: {address} {why_dropped(address)} and gets nothing")
    if not allowed:
        return EmailStep(decisions=[f"LP e-mail {period.key}: no whitelisted recipient, nothing sent"])
    context = due.context
    try:  # built before the claim: a message that cannot be built must not use the period up
        report = build_lp_report(
            due.supervision,
            due.workspace.config,
            as_of,
            period,
            [r.fields() for r in due.records],
            kills_in_force=due.kills_in_force,
        )
        message = build_message(report, render_charts(report), email, allowed)
    except EmailError as exc:
        return EmailStep(errors=[f"LP e-mail {period.key} not sent: {exc}"])
    if not claim_email_period(gh, context.repository, due.claims, period.key, context.run_id, due.state_head):
        return EmailStep(decisions=[f"LP e-mail {period.key}: another run is handling it"])
    released: dict[str, str | None] = {period.key: None}
    try:
        result = send_report(message, email.smtp, context.environ)
    except EmailMaybeSent as exc:  # the claim stays: every later run says so, and how to release it
        return EmailStep(errors=[f"LP e-mail {period.key}: {exc}"])
    except EmailError as exc:
        return EmailStep(claim_changes=released, errors=[f"LP e-mail {period.key} not sent: {exc}"])
    if not result.sent:
        return EmailStep(claim_changes=released, decisions=[f"LP e-mail {period.key}: {result.reason}"])
    data: dict[str, object] = {
        "period": period.key,
        "recipients": len(result.recipients),
        "message_id": result.message_id,
    }
    if result.refused:
        data["refused"] = sorted(result.refused)
    entry = NewEntry(event="email_sent", subject="lp_report", data=data, dedupe_key=period.key)
    return EmailStep(
        entries=[entry],
        claim_changes={period.key: context.run_id},
        decisions=[f"LP e-mail {period.key} sent to {len(result.recipients)} recipient(s)"],
        warnings=[
            f"LP e-mail {period.key}: the SMTP server refused {address} ({code} {text.strip()}); "
            "it went to the others and is not sent again — forward it to this address by hand"
            for address, (code, text) in sorted(result.refused.items())
        ],
    )
