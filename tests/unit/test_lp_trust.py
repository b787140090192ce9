"""What makes an LP trust the e-mail (SPEC §6): returns by month that add up, and a strategies
table and a promotion/demotion log that tell the same story."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import metasup.examples
from metasup.lp.log import strategies_from_review
from metasup.lp.report import LpReport, build_lp_report, last_complete_period
from metasup.lp.statistics import monthly_returns
from metasup.runner import default_as_of, load_workspace, supervise_workspace

KILL_IN_LEDGER = {"ts": "2026-10-20T10:00:00Z", "event": "killed", "subject": "meanrev-legacy", "data": {}}


@pytest.fixture(scope="module")
def demo() -> LpReport:
    workspace = load_workspace(metasup.examples.CONFIG_PATH)
    as_of = default_as_of(workspace.artifacts)
    supervision = supervise_workspace(workspace, as_of, None)
    period = last_complete_period(as_of, "weekly")
    return build_lp_report(supervision, workspace.config, as_of, period, [KILL_IN_LEDGER])


def test_monthly_returns__compound_to_the_since_inception_return(demo: LpReport) -> None:
    assert demo.monthly, "the demo has months of returns"
    product = 1.0
    for row in demo.monthly:
        months = [m for m in row.months if m is not None]
        assert row.total is not None
        assert math.prod(1 + m for m in months) - 1 == pytest.approx(row.total, abs=1e-12)
        product *= 1 + row.total
    assert demo.returns.since_inception is not None
    assert product - 1 == pytest.approx(demo.returns.since_inception, abs=1e-12)


def test_monthly_returns__quantstats_shape_across_a_year_end() -> None:
    days = pd.bdate_range("2025-11-20", "2026-02-10", tz="UTC")
    rng = np.random.default_rng(7)
    daily = pd.Series(rng.normal(0.001, 0.01, len(days)), index=days)
    table = monthly_returns(daily)
    assert list(table.index) == [2025, 2026]
    assert list(table.columns) == [*range(1, 13), "year"]
    assert math.isnan(table.loc[2025, 10])
    assert math.isnan(table.loc[2026, 3])
    nov = daily.loc["2025-11"]
    assert table.loc[2025, 11] == pytest.approx(float(np.prod(1 + nov) - 1), abs=1e-12)
    total = float(np.prod(1 + daily) - 1)
    assert (1 + table["year"]).prod() - 1 == pytest.approx(total, abs=1e-12)


def test_monthly_returns__empty_series() -> None:
    empty = pd.Series([], index=pd.DatetimeIndex([], tz="UTC"), dtype="float64")
    assert monthly_returns(empty).empty


def test_strategies_and_log__tell_the_same_story(demo: LpReport) -> None:
    """Every killed or demoted strategy is either dated by a ledger record or has a log entry of
    this report; every kill or demotion in the log shows in the table (when the table has it)."""
    states = {s.name: s for s in (*demo.strategies.classes, *demo.strategies.agents)}
    logged = {(e.event, e.subject): e for e in demo.log}
    for state in states.values():
        if state.status not in ("killed", "demoted"):
            continue
        if state.since is not None:
            assert state.words == f"{state.status} on {state.since}"
            if demo.log_start is not None and state.since >= demo.log_start:
                assert logged[(state.status, state.name)].ts[:10] == state.since
        else:
            assert state.decided_now
            assert logged[(state.status, state.name)].source == "review"
    for (event, name), _entry in logged.items():
        if event in ("killed", "demoted") and name in states:
            assert states[name].status == event
    assert states["meanrev-legacy"].words == "killed on 2026-10-20"
    assert ("killed", "meanrev-legacy") in logged


def test_strategies__a_registry_kill_is_not_this_reports_decision() -> None:
    workspace = load_workspace(metasup.examples.CONFIG_PATH)
    as_of = default_as_of(workspace.artifacts)
    review = supervise_workspace(workspace, as_of, None).review
    for klass in [c for c in review.strategy_classes if c.registered]:
        klass_copy = klass.model_copy(update={"status": "killed", "registry_status": "killed"})
        patched = review.model_copy(update={"strategy_classes": [klass_copy]})
        state = strategies_from_review(patched, [], as_of).classes
        assert state
        assert not state[0].decided_now
        assert state[0].words == "killed"
