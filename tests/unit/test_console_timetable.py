"""The console rebuilds each job's cadence from the schedule text the scheduler stored."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from actors.timetable import TIMETABLE
from services.console.timetable import days_off, in_words, next_runs, parse_cron, parse_schedule
from services.scheduling.jobs import Job

JOBS = {job.name: job for job in TIMETABLE}


@pytest.mark.parametrize("job", TIMETABLE, ids=lambda job: job.name)
def test_a_stored_schedule_fires_exactly_when_the_timetables_job_does(job):
    # Given the text the scheduler writes for the job; When it is read back
    cadence, gate = parse_schedule(job.schedule)
    rebuilt = Job(job.name, job.actor, cadence, grace=job.grace, overdue_after=job.overdue_after, gate=gate)
    # Then it fires at the same instants over a week that holds a weekend (and, for daily jobs, a month)
    start = datetime(2026, 11, 20, tzinfo=UTC)
    span = timedelta(days=7 if str(job.cadence).startswith("every") else 35)
    assert list(rebuilt.fire_times(start, start + span)) == list(job.fire_times(start, start + span))


def test_cron_fields_expand_ranges_steps_lists_and_names():
    spec = parse_cron("*/15 4-19 1,15 jan-mar mon-fri")
    assert spec.minute == [0, 15, 30, 45] and spec.hour == list(range(4, 20))
    assert spec.dom == [1, 15] and spec.month == [1, 2, 3] and spec.dow == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError):
        parse_cron("61 * * * *")


def test_cadences_read_as_words():
    cadence, gate = parse_schedule(JOBS["prices-extended-hours"].schedule)
    assert in_words(cadence, gate) == (
        "every minute of hours 4-19, Monday to Friday (America/New_York), "
        "during NYSE pre-market, regular and after-hours only"
    )
    cadence, gate = parse_schedule(JOBS["benchmark-daily"].schedule)
    assert in_words(cadence, gate).startswith("at 16:45, Monday to Friday (America/New_York)")


def test_days_off_name_weekends_holidays_and_early_closes():
    # Given the extended-hours price job over Thanksgiving 2026 (Thursday 26 closed, Friday 27 closes at 13:00)
    cadence, gate = parse_schedule(JOBS["prices-extended-hours"].schedule)
    job = Job("p", "refresh_all_prices", cadence, timedelta(seconds=50), timedelta(minutes=10), gate)
    off = {d.day: d for d in days_off(job, date(2026, 11, 23), days=7)}
    # Then the holiday and the early close are listed with their reason; the weekend is not, as the
    # cron never fires on one
    assert off[date(2026, 11, 26)].reason == "holiday"
    assert off[date(2026, 11, 27)].reason == "early close"
    assert "13:00" in off[date(2026, 11, 27)].detail
    assert set(off) == {date(2026, 11, 26), date(2026, 11, 27)}
    # And the next runs skip the holiday
    runs = next_runs(job, datetime(2026, 11, 26, 3, 0, tzinfo=UTC), count=1)
    assert runs == [datetime(2026, 11, 27, 9, 0, tzinfo=UTC)]  # 04:00 ET on Friday
