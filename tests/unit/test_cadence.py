"""Cron specs read in a timezone, across DST in both directions, Sundays, and fixed intervals."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from periodiq import cron

from services.scheduling.cadence import Cron, Every

NY = ZoneInfo("America/New_York")


def fires(spec: str, start: datetime, end: datetime, tz: ZoneInfo = NY) -> list[str]:
    return [at.astimezone(tz).isoformat() for at in Cron(spec, cron(spec), tz).fire_times(start, end)]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_time_in_the_spring_forward_gap_fires_once_right_after_it():
    # 2026-03-08 02:00 EST jumps to 03:00 EDT: 02:30 does not exist that day
    assert fires("30 2 * * *", utc(2026, 3, 7), utc(2026, 3, 10)) == [
        "2026-03-07T02:30:00-05:00",
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:30:00-04:00",
    ]


def test_several_times_in_the_gap_fire_once():
    assert fires("*/20 2 * * *", utc(2026, 3, 8), utc(2026, 3, 9)) == ["2026-03-08T03:00:00-04:00"]


def test_a_time_in_the_fall_back_overlap_fires_once_at_its_first_occurrence():
    # 2026-11-01 02:00 EDT goes back to 01:00 EST: 01:30 happens twice
    assert fires("30 1 * * *", utc(2026, 10, 31), utc(2026, 11, 3)) == [
        "2026-10-31T01:30:00-04:00",
        "2026-11-01T01:30:00-04:00",
        "2026-11-02T01:30:00-05:00",
    ]


def test_an_hourly_spec_keeps_its_interval_through_the_overlap():
    assert fires("30 * * * *", utc(2026, 11, 1, 4), utc(2026, 11, 1, 8)) == [
        "2026-11-01T00:30:00-04:00",
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:30:00-05:00",
        "2026-11-01T02:30:00-05:00",
    ]


def test_a_daily_time_keeps_its_wall_clock_across_both_changes():
    march = fires("30 16 * * *", utc(2026, 3, 7), utc(2026, 3, 9, 23))
    assert [t[11:] for t in march] == ["16:30:00-05:00", "16:30:00-04:00", "16:30:00-04:00"]
    november = fires("30 16 * * *", utc(2026, 10, 31), utc(2026, 11, 2, 23))
    assert [t[11:] for t in november] == ["16:30:00-04:00", "16:30:00-05:00", "16:30:00-05:00"]


@pytest.mark.parametrize("spec", ["0 3 * * sun", "0 3 * * 0", "0 3 * * 7"])
def test_sunday_jobs_fire_on_sundays(spec):
    # periodiq's own `validate` never accepts a Sunday (ISO weekday 7 against cron's 0)
    times = fires(spec, utc(2026, 1, 1), utc(2027, 1, 1))
    assert len(times) == 52
    assert {datetime.fromisoformat(t).isoweekday() for t in times} == {7}
    assert all(t[11:16] == "03:00" for t in times)


def test_day_of_month_or_day_of_week_when_both_are_restricted():
    # cron's rule: the 1st of the month OR a Monday
    times = fires("0 12 1 * mon", utc(2026, 6, 1), utc(2026, 6, 30), tz=ZoneInfo("UTC"))
    assert [t[:10] for t in times] == ["2026-06-01", "2026-06-08", "2026-06-15", "2026-06-22", "2026-06-29"]


def test_fire_times_exclude_the_start_and_include_the_end():
    assert fires("0 12 * * *", utc(2026, 6, 1, 12), utc(2026, 6, 2, 12), tz=ZoneInfo("UTC")) == [
        "2026-06-02T12:00:00+00:00"
    ]


def test_next_after():
    spec = Cron("0 0 1 1 *", cron("0 0 1 1 *"), ZoneInfo("UTC"))
    assert spec.next_after(utc(2026, 6, 1)) == utc(2027, 1, 1)


def test_every_is_aligned_to_the_epoch_so_schedulers_agree():
    ticks = list(Every(5).fire_times(utc(2026, 1, 1, 0, 0, 3), utc(2026, 1, 1, 0, 0, 20)))
    assert [t.second for t in ticks] == [5, 10, 15, 20]
    assert Every(5).next_after(utc(2026, 1, 1, 0, 0, 5)) == utc(2026, 1, 1, 0, 0, 10)


def test_every_refuses_a_bad_interval():
    with pytest.raises(ValueError):
        Every(0)
