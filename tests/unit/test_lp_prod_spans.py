"""SPEC §6: "Sandbox returns are never chained into the fund's record." The fund books an agent's
signals from the run that recorded its promotion to the one that recorded its demotion (or its
kill, for an agent retired since), as the ledger shows; not every signal of the agents in prod today
(found by an audit: a promoted agent's sandbox record became the fund's, a retired agent's prod
losses left it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import pytest

from metasup.lp.prod_spans import prod_spans

MAY_1 = "2026-05-01T12:00:00Z"
JUN_15 = "2026-06-15T12:00:00Z"


def record(event: str, subject: str, ts: str, **data: Any) -> Mapping[str, Any]:
    return {"event": event, "subject": subject, "ts": ts, "data": data}


def ns(ts: str) -> int:
    return pd.Timestamp(ts).value


@pytest.mark.parametrize(
    ("records", "stage_now", "expected"),
    [
        ([], "prod", ((None, None),)),  # no record: in prod for all the history it has
        ([], "sandbox", ()),
        ([], "retired", ()),
        ([record("promoted", "a", MAY_1)], "prod", ((ns(MAY_1), None),)),
        ([record("demoted", "a", JUN_15)], "sandbox", ((None, ns(JUN_15)),)),
        (
            [record("promoted", "a", MAY_1), record("demoted", "a", JUN_15)],
            "sandbox",
            ((ns(MAY_1), ns(JUN_15)),),
        ),
        (  # promoted again after a demotion: two spans
            [
                record("promoted", "a", "2026-02-01T00:00:00Z"),
                record("demoted", "a", MAY_1),
                record("promoted", "a", JUN_15),
            ],
            "prod",
            ((ns("2026-02-01T00:00:00Z"), ns(MAY_1)), (ns(JUN_15), None)),
        ),
        ([record("promoted", "a", MAY_1), record("promoted", "a", JUN_15)], "prod", ((ns(MAY_1), None),)),
        ([record("killed", "a", JUN_15, registry="prod")], "retired", ((None, ns(JUN_15)),)),
        ([record("killed", "a", JUN_15, registry="sandbox")], "retired", ()),
        (  # promoted, then killed and retired: in prod from the promotion to the kill
            [record("promoted", "a", MAY_1), record("killed", "a", JUN_15, registry="prod")],
            "retired",
            ((ns(MAY_1), ns(JUN_15)),),
        ),
        ([record("promoted", "class:a", MAY_1)], "sandbox", ()),  # a class, not the agent
    ],
    ids=[
        "prod-no-record",
        "sandbox-no-record",
        "retired-no-record",
        "promoted",
        "demoted",
        "promoted-then-demoted",
        "twice",
        "repeated-promotion",
        "retired-from-prod",
        "retired-from-sandbox",
        "promoted-then-retired",
        "class-subject",
    ],
)
def test_prod_spans__from_the_ledger(
    records: list[Mapping[str, Any]], stage_now: str, expected: tuple
) -> None:  # type: ignore[type-arg]
    assert prod_spans(records, {"a": stage_now}).spans.get("a", ()) == expected


def test_booked__no_sandbox_era_and_the_prod_losses_kept() -> None:
    """The audit's case: ``star`` earned $2,000 a day in sandbox, was promoted on 1 May, then made
    little; ``loser`` lost $1,500 a day in prod until its kill on 15 June (retired since)."""
    days = pd.bdate_range("2026-01-05", "2026-06-30", tz="UTC")
    rows = []
    for day in days:
        emitted = day + pd.Timedelta(hours=14)
        rows.append(
            {"agent": "star", "ts": emitted, "pnl": 2000.0 if emitted < pd.Timestamp(MAY_1) else 50.0}
        )
        if emitted < pd.Timestamp(JUN_15):
            rows.append({"agent": "loser", "ts": emitted, "pnl": -1500.0})
    recon = pd.DataFrame(rows)
    ledger = [record("promoted", "star", MAY_1), record("killed", "loser", JUN_15, registry="prod")]
    spans = prod_spans(ledger, {"star": "prod", "loser": "retired", "other": "sandbox"})

    booked = recon.loc[spans.booked(recon["agent"], recon["ts"])]

    after_may = sum(1 for day in days if day + pd.Timedelta(hours=14) >= pd.Timestamp(MAY_1))
    before_kill = sum(1 for day in days if day + pd.Timedelta(hours=14) < pd.Timestamp(JUN_15))
    assert booked["pnl"].sum() == pytest.approx(50.0 * after_may - 1500.0 * before_kill)
    assert booked["pnl"].sum() < 0  # the fund lost money
    assert recon.loc[recon["agent"] == "star", "pnl"].sum() > 0  # what the agents in prod today made
    assert spans.agents == ["loser", "star"]
