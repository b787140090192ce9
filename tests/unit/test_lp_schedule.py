"""Which LP e-mail periods are due (``lp.statistics.due_periods``): the schedule, then every period
a holiday or a missed run skipped, oldest first — checked by hand on a few dates and by a year of
six-hourly runs on an exchange calendar with holidays."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from metasup.lp.statistics import (
    CATCH_UP_PERIODS,
    Cadence,
    due_periods,
    period_containing,
    period_start_of,
    scheduled_period,
)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def keys(as_of: str, cadence: Cadence, sent: list[str], weekday: str = "mon") -> list[str]:
    periods, _ = due_periods(ts(as_of), cadence, weekday, sent)
    return [p.key for p in periods]


@pytest.mark.parametrize(
    ("as_of", "cadence", "weekday", "key"),
    [
        ("2026-10-27T10:00", "daily", "mon", "daily:2026-10-26"),  # Tuesday → Monday
        ("2026-10-26T10:00", "daily", "mon", "daily:2026-10-23"),  # Monday → Friday
        ("2026-10-24T10:00", "daily", "mon", "daily:2026-10-22"),  # Saturday: Friday's, Thursday
        ("2026-10-25T23:00", "daily", "mon", "daily:2026-10-22"),  # Sunday: the same
        ("2026-10-26T00:00", "weekly", "mon", "weekly:2026-W43"),  # Monday → the week that ended
        ("2026-10-27T10:00", "weekly", "mon", "weekly:2026-W43"),  # Tuesday → Monday's
        ("2026-10-25T10:00", "weekly", "mon", "weekly:2026-W42"),  # Sunday → last Monday's
        ("2026-10-29T10:00", "weekly", "fri", "weekly:2026-W42"),  # Thursday → last Friday's
        ("2026-10-25T10:00", "weekly", "sun", "weekly:2026-W42"),  # Sunday → the week before
    ],
)
def test_scheduled_period__the_latest_one_whose_day_has_come(
    as_of: str, cadence: Cadence, weekday: str, key: str
) -> None:
    assert scheduled_period(ts(as_of), cadence, weekday).key == key


def test_due_periods__before_any_e_mail_only_the_schedule() -> None:
    assert keys("2026-10-27T10:00", "weekly", []) == []  # a Tuesday: weekly is due on Mondays
    assert keys("2026-10-26T10:00", "weekly", []) == ["weekly:2026-W43"]
    assert keys("2026-10-24T10:00", "daily", []) == []  # a Saturday


def test_due_periods__after_a_holiday_the_skipped_period_first() -> None:
    # Thursday's report went out on Friday; Monday is a holiday; Tuesday's as_of
    assert keys("2026-10-27T15:00", "daily", ["daily:2026-10-22"]) == ["daily:2026-10-23", "daily:2026-10-26"]
    assert keys("2026-10-27T15:00", "weekly", ["weekly:2026-W42"]) == ["weekly:2026-W43"]
    assert keys("2026-10-27T15:00", "weekly", ["weekly:2026-W43"]) == []  # sent on Monday: nothing


def test_due_periods__other_cadences_keys_and_junk_are_not_periods_sent() -> None:
    assert period_start_of("weekly:2026-W43", "weekly") == dt.date(2026, 10, 19)
    assert period_start_of("daily:2026-10-23", "weekly") is None
    assert period_start_of("daily:nonsense", "daily") is None
    assert keys("2026-10-26T10:00", "weekly", ["daily:2026-10-23", "None"]) == ["weekly:2026-W43"]


def test_due_periods__a_long_outage_sends_the_newest_and_counts_the_rest() -> None:
    periods, missed = due_periods(ts("2026-10-30T12:00"), "daily", "mon", ["daily:2026-09-30"])
    assert len(periods) == CATCH_UP_PERIODS
    assert periods[-1].key == "daily:2026-10-29"
    assert periods[0].key == "daily:2026-10-16"
    assert missed == 11  # Oct 1–15: eleven weekdays
    assert [p.start for p in periods] == sorted(p.start for p in periods)


# NYSE closures of 2027/28 (Labor Day, Thanksgiving, Christmas observed, New Year, MLK, Presidents,
# Good Friday, Memorial Day); bars 14:30–21:00 UTC on other weekdays.
HOLIDAYS = {
    dt.date(2027, 9, 6),
    dt.date(2027, 11, 25),
    dt.date(2027, 12, 24),
    dt.date(2027, 12, 31),
    dt.date(2028, 1, 17),
    dt.date(2028, 2, 21),
    dt.date(2028, 4, 14),
    dt.date(2028, 5, 29),
}


def latest_bar(now: dt.datetime) -> dt.datetime:
    """The latest hourly bar at ``now`` (a rolling run's default ``as_of``)."""
    day = now.date()
    while True:
        opens = dt.datetime.combine(day, dt.time(14, 30), dt.UTC)
        if day.weekday() < 5 and day not in HOLIDAYS and now >= opens:
            return min(now.replace(minute=0, second=0), dt.datetime.combine(day, dt.time(21), dt.UTC))
        day -= dt.timedelta(days=1)
        now = dt.datetime.combine(day, dt.time(23, 59), dt.UTC)


@pytest.mark.parametrize(("cadence", "weekday"), [("daily", "mon"), ("weekly", "mon"), ("weekly", "fri")])
def test_a_year_of_six_hourly_runs_sends_every_period_once_in_order(cadence: Cadence, weekday: str) -> None:
    """Each run sends the oldest due period (as ``rolling/lp_email`` does); some runs are missed
    (the runner was down) — nothing is skipped or sent twice, and nothing is sent early."""
    sent: list[str] = []
    now = dt.datetime(2027, 8, 2, tzinfo=dt.UTC)
    step = 0
    while now < dt.datetime(2028, 6, 5, tzinfo=dt.UTC):
        step += 1
        if step % 37 not in (0, 1, 2):  # about one day in twelve without runs
            as_of = latest_bar(now)
            periods, missed = due_periods(pd.Timestamp(as_of), cadence, weekday, sent)
            assert missed == 0
            fresh = [p for p in periods if p.key not in sent]
            if fresh:
                assert fresh[0].end < as_of.date()  # a period is over before its e-mail
                sent.append(fresh[0].key)
        now += dt.timedelta(hours=6)
    first = period_start_of(sent[0], cadence)
    assert first is not None
    expected, day = [], first
    while day < dt.date(2028, 5, 29):
        period = period_containing(day, cadence)
        if day.weekday() < 5 and period.key not in expected:
            expected.append(period.key)
        day += dt.timedelta(days=1)
    assert sent[: len(expected)] == expected
