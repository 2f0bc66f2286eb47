"""The timetable over a simulated year: every cron job fires exactly when an independent oracle
(minute by minute, NYSE's published 2026 calendar) says it should: Sundays, DST switches in March
and November, holidays and early closes included."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, timedelta

import pytest

from actors.timetable import TIMETABLE
from services.scheduling.cadence import Cron, Every
from services.scheduling.market_hours import NYSE
from tests.support.nyse_2026 import EARLY_CLOSES_2026, HOLIDAYS_2026, NY, cron_matches, gate_allows, minutes, utc

# The oracle checks 525,600 minutes: one process builds it for the whole module.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("timetable-oracle")]

JOBS = {job.name: job for job in TIMETABLE}
YEAR = (utc(2026, 1, 1), utc(2027, 1, 1))


@pytest.fixture(scope="module")
def oracle() -> dict[str, set]:
    """Every cron job's fire instants in 2026, found by checking each minute (the wall-clock match
    first, the gate only for a minute that matches: the same answer, a fraction of the work)."""
    crons = [(job.name, job.cadence, job.gate.value) for job in TIMETABLE if isinstance(job.cadence, Cron)]
    expected: dict[str, set] = {name: set() for name, _, _ in crons}
    zones = {cadence.tz for _, cadence, _ in crons}
    for at in minutes(*YEAR):
        local = {zone: at.astimezone(zone) for zone in zones}
        allowed: dict[str, bool] = {}
        for name, cadence, gate in crons:
            if cron_matches(cadence.fields, local[cadence.tz]):
                if gate not in allowed:
                    allowed[gate] = gate_allows(gate, at)
                if allowed[gate]:
                    expected[name].add(at)
    return expected


def test_the_calendar_library_agrees_with_nyse_for_2026():
    sessions = NYSE.sessions(2026)
    assert {s.day for s in sessions} == {
        date(2026, 1, 1) + timedelta(days=n)
        for n in range(365)
        if (date(2026, 1, 1) + timedelta(days=n)).weekday() < 5
        and date(2026, 1, 1) + timedelta(days=n) not in HOLIDAYS_2026
    }
    assert {s.day for s in sessions if s.early_close} == EARLY_CLOSES_2026
    early = NYSE.session(date(2026, 11, 27))
    assert early.closes.astimezone(NY).strftime("%H:%M") == "13:00"


@pytest.mark.parametrize("name", [job.name for job in TIMETABLE if isinstance(job.cadence, Cron)])
def test_each_cron_job_fires_exactly_at_its_times_through_2026(name, oracle):
    job = JOBS[name]
    actual = list(job.fire_times(*YEAR))
    assert len(actual) == len(set(actual)), "a tick fired twice"
    missing, extra = oracle[name] - set(actual), set(actual) - oracle[name]
    assert not missing and not extra, f"missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}"


def test_the_expected_counts(oracle):
    per_day = Counter(at.astimezone(NY).date() for at in oracle["prices-extended-hours"])
    assert per_day[date(2026, 11, 25)] == 16 * 60  # 04:00-19:59
    assert per_day[date(2026, 11, 26)] == 0  # Thanksgiving
    assert per_day[date(2026, 11, 27)] == 13 * 60  # early close: after-hours end at 17:00
    assert per_day[date(2026, 11, 28)] == 0  # Saturday
    assert len(oracle["portfolio-snapshots"]) == 251  # one per session
    assert len(oracle["weekly-cleanup"]) == 52  # every Sunday of 2026
    assert len(oracle["bot-counters-reset"]) == 365
    assert all(at.hour == 0 and at.minute == 0 for at in oracle["bot-counters-reset"])


def test_market_jobs_keep_new_york_wall_time_across_dst():
    snapshots = list(JOBS["portfolio-snapshots"].fire_times(utc(2026, 3, 5), utc(2026, 3, 11)))
    assert [at.astimezone(NY).strftime("%a %H:%M") for at in snapshots] == [
        "Thu 16:30",
        "Fri 16:30",
        "Mon 16:30",
        "Tue 16:30",
    ]
    assert [at.hour for at in snapshots] == [21, 21, 20, 20]  # UTC moves by an hour on 2026-03-08
    november = list(JOBS["portfolio-snapshots"].fire_times(utc(2026, 10, 29), utc(2026, 11, 4)))
    assert [at.hour for at in november] == [20, 20, 21, 21]  # and back on 2026-11-01


def test_crypto_job_fills_exactly_the_hours_outside_extended_hours(oracle):
    minute_job = oracle["prices-extended-hours"]
    for at in oracle["prices-crypto-overnight"]:
        assert at not in minute_job
    # every UTC hour of the year has a price refresh from one job or the other
    covered = {at.replace(minute=0) for at in minute_job} | oracle["prices-crypto-overnight"]
    every_hour = {YEAR[0] + timedelta(hours=n) for n in range(1, 365 * 24 + 1)}
    assert every_hour <= covered


def test_sub_minute_orders_job_runs_every_5_seconds_in_regular_hours_only():
    job = JOBS["orders-regular-hours"]
    assert isinstance(job.cadence, Every)

    def day_ticks(day: int) -> list:
        return list(job.fire_times(utc(2026, 11, day, 5), utc(2026, 11, day + 1, 5)))

    full, holiday, early = day_ticks(25), day_ticks(26), day_ticks(27)
    assert len(full) == 390 * 12 and holiday == [] and len(early) == 210 * 12
    assert full[0].astimezone(NY).strftime("%H:%M:%S") == "09:30:00"
    assert early[-1].astimezone(NY).strftime("%H:%M:%S") == "12:59:55"
    assert all((b - a).total_seconds() == 5 for a, b in itertools.pairwise(full))


def test_next_run_skips_weekends_and_holidays():
    job = JOBS["prices-extended-hours"]
    # Wednesday 2026-11-25 after 20:00 ET: Thursday is Thanksgiving, so Friday 04:00
    assert job.next_run(utc(2026, 11, 26, 1)).astimezone(NY).isoformat() == "2026-11-27T04:00:00-05:00"
