"""SPEC §6: "Sandbox returns are never chained into the fund's record." The fund books an agent's
signals from the run that recorded its promotion to the one that recorded its demotion (or its
kill, for an agent retired since), as the ledger shows; not every signal of the agents in prod today
(found by an audit: a promoted agent's sandbox record became the fund's, a retired agent's prod
losses left it)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from metasup.examples import EXAMPLES_DIR
from metasup.lp.prod_spans import prod_spans
from metasup.lp.report import build_lp_report
from metasup.lp.statistics import last_complete_period
from metasup.runner import default_as_of, load_workspace, supervise_workspace

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
        (  # metasup promoted it, a person took it back out in agents.yaml
            [record("promoted", "a", MAY_1), record("left_prod_by_hand", "a", JUN_15, stage="sandbox")],
            "sandbox",
            ((ns(MAY_1), ns(JUN_15)),),
        ),
        (  # a person put it in prod: its sandbox history is not the fund's
            [record("promoted_by_hand", "a", JUN_15, stage="prod")],
            "prod",
            ((ns(JUN_15), None),),
        ),
        (  # killed from prod and retired, put back in prod by a person, retired again (not recorded
            # yet): in prod until the kill, and again from the reinstatement (the old kill does not
            # close the new span, nor does the reinstatement drop the history before the kill)
            [record("killed", "a", MAY_1, registry="prod"), record("promoted_by_hand", "a", JUN_15)],
            "retired",
            ((None, ns(MAY_1)), (ns(JUN_15), None)),
        ),
        (  # promoted, killed, retired, reinstated by a person: the killed stretch is not booked
            [
                record("promoted", "a", "2026-02-01T00:00:00Z"),
                record("killed", "a", MAY_1, registry="prod"),
                record("promoted_by_hand", "a", JUN_15),
            ],
            "prod",
            ((ns("2026-02-01T00:00:00Z"), ns(MAY_1)), (ns(JUN_15), None)),
        ),
        (  # reinstated by a person and killed again by the run that recorded it, then retired by
            # the new retire PR: one moment in prod, nothing booked after (the kill follows the edit
            # whatever their order in the ledger)
            [
                record("killed", "a", MAY_1, registry="prod"),
                record("killed", "a", JUN_15, registry="prod"),
                record("promoted_by_hand", "a", JUN_15),
            ],
            "retired",
            ((None, ns(MAY_1)),),
        ),
        (  # a demotion PR withdrawn because a person took the agent out (both in one run): out
            [
                record("promoted", "a", MAY_1),
                record("demotion_proposed", "a", "2026-06-01T00:00:00Z"),
                record("left_prod_by_hand", "a", JUN_15),
                record("demotion_withdrawn", "a", JUN_15),
            ],
            "sandbox",
            ((ns(MAY_1), ns("2026-06-01T00:00:00Z")),),
        ),
        (  # renamed: its old name, unregistered now (stage sandbox), was the fund's until then
            [record("left_prod_by_hand", "a", JUN_15, stage="removed")],
            "sandbox",
            ((None, ns(JUN_15)),),
        ),
        (  # a person took out an agent in prod since before the ledger
            [record("left_prod_by_hand", "a", JUN_15, stage="retired")],
            "retired",
            ((None, ns(JUN_15)),),
        ),
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
        "promoted-then-out-by-hand",
        "in-by-hand",
        "reinstated-after-kill",
        "reinstated-after-promotion-and-kill",
        "killed-again-in-the-run-of-the-reinstatement",
        "withdrawn-with-a-hand-move",
        "renamed",
        "out-by-hand",
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


OCT_20 = "2026-10-20T12:00:00Z"


OCT_22 = "2026-10-22T12:00:00Z"


@pytest.mark.parametrize(
    ("records", "stage", "killed", "in_force", "expected"),
    [
        (  # killed from prod, its retire PR not merged yet: out of the book since the kill
            [record("killed", "a", OCT_20, registry="prod")],
            "prod",
            "a",
            None,
            ((None, ns(OCT_20)),),
        ),
        (  # its class killed
            [record("killed", "class:trend", OCT_20)],
            "prod",
            "class:trend",
            None,
            ((None, ns(OCT_20)),),
        ),
        (  # a kill lifted since (its retire PR closed): the rules fire again, not recorded yet
            [record("killed", "a", OCT_20, registry="prod")],
            "prod",
            "a",
            set(),
            ((None, None),),
        ),
        (  # promoted into a class killed before: never in the allocation
            [record("killed", "class:trend", OCT_20), record("promoted", "a", OCT_22)],
            "prod",
            "class:trend",
            {"class:trend"},
            (),
        ),
        ([], "prod", "a", None, ((None, None),)),  # killed by this run: nothing recorded, nothing to close
        (  # a demotion proposed, its PR open: out since the proposal
            [record("demotion_proposed", "a", OCT_20)],
            "prod",
            None,
            None,
            ((None, ns(OCT_20)),),
        ),
        (  # ... and merged: the same span, not one to the merge
            [record("demotion_proposed", "a", OCT_20), record("demoted", "a", OCT_22)],
            "sandbox",
            None,
            None,
            ((None, ns(OCT_20)),),
        ),
        (  # vetoed: out between the proposal and the veto only
            [record("demotion_proposed", "a", MAY_1), record("demotion_vetoed", "a", JUN_15)],
            "prod",
            None,
            None,
            ((None, ns(MAY_1)), (ns(JUN_15), None)),
        ),
    ],
    ids=[
        "killed",
        "class-killed",
        "kill-lifted",
        "promoted-into-killed-class",
        "unrecorded",
        "demotion-pending",
        "demotion-merged",
        "demotion-vetoed",
    ],
)
def test_prod_spans__an_exclusion_ends_the_span_when_it_was_recorded(
    records: list[Mapping[str, Any]],
    stage: str,
    killed: str | None,
    in_force: set[str] | None,
    expected: tuple,
) -> None:  # type: ignore[type-arg]
    """A killed or demoted agent whose stage still said prod (its PR waiting) was booked after the
    fund stopped trading it, and those days left the record when the PR merged (an audit; a review
    found the demotion's merge still moved them)."""
    killed_now = {} if killed is None else {"a": killed}
    assert prod_spans(records, {"a": stage}, killed_now, in_force).spans.get("a", ()) == expected


def week_of(tmp_path: Path, agent: str, stage: str, ledger: list[Mapping[str, Any]]) -> tuple[object, float]:
    """The demo's last full week with ``agent`` at ``stage`` in agents.yaml: the fund's PnL block and
    the agent's attribution."""
    workspace = tmp_path / f"{agent}-{stage}"
    shutil.copytree(EXAMPLES_DIR, workspace, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    registry = workspace / "agents.yaml"
    text = registry.read_text()
    at = text.index("stage: prod", text.index(f"- name: {agent}"))
    registry.write_text(text[:at] + f"stage: {stage}" + text[at + len("stage: prod") :])
    loaded = load_workspace(workspace / "metasup.yml")
    as_of = default_as_of(loaded.artifacts)
    period = last_complete_period(as_of, "weekly")
    built = build_lp_report(supervise_workspace(loaded, as_of, None), loaded.config, as_of, period, ledger)
    report = json.loads(built.to_json())
    return report["pnl"], report["attribution"]["agents"][agent]["pnl"]


def test_lp_report__a_kill_books_the_same_before_and_after_its_retire_pr_merges(tmp_path: Path) -> None:
    """The audit's case on the demo: ``meanrev-legacy`` killed from prod on 20 October. While its
    [AUTO-RETIRE] PR waited, the week booked its post-kill losses (−$645 instead of −$85); merging
    the PR changed the fund's week and since-inception figures with nothing to say why."""
    ledger = [record("killed", "meanrev-legacy", OCT_20, registry="prod", reason="alpha negative")]
    waiting = week_of(tmp_path, "meanrev-legacy", "prod", ledger)
    assert waiting == week_of(tmp_path, "meanrev-legacy", "retired", ledger)
    assert waiting[1] == pytest.approx(-85.41, abs=0.01)  # the agent's days before the kill


def test_lp_report__a_demotion_books_the_same_before_and_after_its_pr_merges(tmp_path: Path) -> None:
    """``meanrev-swing``'s demotion proposed on 20 October, merged (recorded) on the 22nd: the days
    in between came back into the week once merged (found by a review)."""
    proposed = record("demotion_proposed", "meanrev-swing", OCT_20)
    waiting = week_of(tmp_path, "meanrev-swing", "prod", [proposed])
    merged = week_of(
        tmp_path, "meanrev-swing", "sandbox", [proposed, record("demoted", "meanrev-swing", OCT_22)]
    )
    assert waiting == merged


def test_lp_report__an_agent_out_of_prod_before_the_period_gets_no_attribution_row(tmp_path: Path) -> None:
    """``momo-slow`` was demoted on 1 September: every later e-mail listed it at $0.00 among the
    week's agents, and such rows piled up for the life of the fund (an audit)."""
    workspace = tmp_path / "ws"
    shutil.copytree(EXAMPLES_DIR, workspace, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    registry = workspace / "agents.yaml"
    text = registry.read_text()
    at = text.index("stage: prod", text.index("- name: momo-slow"))
    registry.write_text(text[:at] + "stage: sandbox" + text[at + len("stage: prod") :])
    loaded = load_workspace(workspace / "metasup.yml")
    as_of = default_as_of(loaded.artifacts)
    period = last_complete_period(as_of, "weekly")
    ledger = [record("demoted", "momo-slow", "2026-09-01T12:00:00Z")]
    report = build_lp_report(supervise_workspace(loaded, as_of, None), loaded.config, as_of, period, ledger)
    listed = json.loads(report.to_json())["attribution"]["agents"]
    assert "momo-slow" not in listed
    assert {"momo-alpha", "meanrev-core"} <= set(listed)  # the agents in prod that week still are


def test_during__agents_in_prod_at_some_time_in_the_window() -> None:
    spans = prod_spans(
        [record("demoted", "a", MAY_1), record("promoted", "b", JUN_15)],
        {"a": "sandbox", "b": "prod", "c": "prod"},
    )
    window = (pd.Timestamp("2026-06-01", tz="UTC"), pd.Timestamp("2026-06-08", tz="UTC"))
    assert spans.during(*window) == ["c"]
    assert spans.during(pd.Timestamp("2026-04-30", tz="UTC"), pd.Timestamp("2026-06-16", tz="UTC")) == [
        "a",
        "b",
        "c",
    ]


def test_report_cli__a_recorded_kill_stands_offline_as_in_the_rolling_run(tmp_path: Path) -> None:
    """``metasup report --ledger``: momo-alpha killed from prod on 20 October, its retire PR not
    merged; its rules do not fire at ``as_of``. The rolling run's e-mail stopped booking it at the
    kill; the offline report, with no PR states, booked it all week as active (an audit: the two
    disagreed on the same period). A recorded kill stands while its registry entry is unchanged."""
    from metasup.cli import main
    from metasup.rolling.audit_ledger import NewEntry, append, serialize

    kill = NewEntry(event="killed", subject="momo-alpha", data={"registry": "prod"}, dedupe_key="k")
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text(serialize(append([], [kill], "2026-10-20T12:00:00Z", "r1")))
    config = str(EXAMPLES_DIR / "metasup.yml")
    assert main(["report", "--config", config, "--json", str(tmp_path / "none.json")]) == 0
    assert (
        main(["report", "--config", config, "--json", str(tmp_path / "k.json"), "--ledger", str(ledger)]) == 0
    )
    plain, killed = (json.loads((tmp_path / name).read_text()) for name in ("none.json", "k.json"))

    [state] = [s for s in killed["strategies"]["agents"] if s["name"] == "momo-alpha"]
    assert (state["status"], state["since"]) == ("killed", "2026-10-20")
    before, after = (r["attribution"]["agents"]["momo-alpha"]["pnl"] for r in (plain, killed))
    assert 0 < after < before  # only its days before the kill
    assert plain["pnl"]["period"] - killed["pnl"]["period"] == pytest.approx(before - after)
