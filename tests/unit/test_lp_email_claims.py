"""A claimed period whose e-mail may never have gone out is a warning on every later run (the
module's promise), not only while it is still due (found by an audit: once the next period was
sent, the warning stopped for good)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pandas as pd

from metasup.examples import EXAMPLES_DIR
from metasup.rolling.audit_ledger import NewEntry, append_new
from metasup.rolling.context import RollingContext
from metasup.rolling.lp_email import DueEmail, send_due_email
from metasup.runner import default_as_of, load_workspace, supervise_workspace


def test_send_due_email__a_forgotten_claim_is_still_named_after_later_periods_went_out() -> None:
    demo = load_workspace(EXAMPLES_DIR / "metasup.yml")
    email = demo.config.email.model_copy(update={"cadence": "daily", "to": ["lp@example.com"]})
    workspace = replace(demo, config=demo.config.model_copy(update={"email": email}))
    as_of = default_as_of(workspace.artifacts)
    sent = [f"daily:{day:%Y-%m-%d}" for day in pd.bdate_range(end=as_of.normalize(), periods=3)]
    forgotten = f"daily:{(as_of.normalize() - pd.offsets.BDay(5)):%Y-%m-%d}"
    records = append_new(
        [],
        [NewEntry(event="email_sent", subject="fund", data={"period": key}, dedupe_key=key) for key in sent],
        "2026-10-30T21:00:00Z",
        "7",
    )
    context = RollingContext(
        repository="o/r",
        base_ref="main",
        registry_path="agents.yaml",
        run_id="8",
        run_link="",
        now=datetime(2026, 10, 30, 21, tzinfo=UTC),
        as_of=as_of,
        dry_run=False,
        environ={},
    )
    due = DueEmail(
        context, workspace, supervise_workspace(workspace, as_of, None), records, {forgotten: "41"}, "0" * 40
    )

    step = send_due_email(None, due, console=None)  # type: ignore[arg-type]  # nothing is due: no GitHub, no SMTP

    assert step.entries == []
    assert any(f"LP e-mail {forgotten}: run 41 claimed it but has not recorded" in w for w in step.warnings)
