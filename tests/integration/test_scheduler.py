"""The scheduler loop against SQLite and PostgreSQL, with a recording sender and a controllable clock."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlmodel import select

from actors.timetable import TIMETABLE
from services.engine.ledger.states import TaskState
from services.engine.ledger.tasks import get_task, record_submitted
from services.scheduling import store
from services.scheduling.cadence import Cron
from services.scheduling.control import pause_job, resume_job
from services.scheduling.metrics import SchedulerMetrics
from services.scheduling.overdue import check_overdue, find_overdue
from services.scheduling.scheduler import Scheduler
from services.storage.db import session_factory, session_scope
from services.storage.models import Alert, ScheduledRun, Task
from tests.support.nyse_2026 import NY, utc
from tests.support.scheduling import RecordingSender, SimulatedClock, job

T0 = utc(2026, 11, 23, 12)  # a Monday
EVERY_MINUTE = job("every-minute", "* * * * *")


def scheduler(database_url, jobs, send, **options):
    return Scheduler(
        jobs,
        session_factory=session_factory(database_url),
        send=send,
        scheduler_id=options.pop("name", "s1"),
        **options,
    )


def runs(database_url, job_name):
    with session_scope(database_url) as session:
        query = select(ScheduledRun).where(ScheduledRun.job == job_name).order_by(ScheduledRun.due_at)
        return list(session.exec(query))


def complete(database_url, message_id, state=TaskState.COMPLETED):
    with session_scope(database_url) as session:
        row = session.get(Task, message_id)
        if row is None:
            record_submitted(
                session=session,
                message_id=message_id,
                actor="monitor_jobs",
                queue="notifications",
                priority="normal",
                args={},
            )
            session.flush()
            row = session.get(Task, message_id)
        row.state = state.value
        session.add(row)


@pytest.mark.slow
def test_the_real_loop_sends_every_daily_and_weekly_job_exactly_on_time_through_2026(database_url):
    # Given the timetable's jobs that run at most hourly, and a clock that the loop's sleeps advance
    jobs = [
        j
        for j in TIMETABLE
        if isinstance(j.cadence, Cron) and len(j.cadence.fields.minute) == 1 and len(j.cadence.fields.hour) < 24
    ]
    stop = threading.Event()
    clock = SimulatedClock(utc(2026, 1, 1), utc(2027, 1, 1), stop)
    sender = RecordingSender(clock)
    loop = scheduler(database_url, jobs, sender, clock=clock.now, idle_wake=timedelta(days=1))
    # When the real loop runs through the year
    loop.run(stop, sleep=clock.sleep)
    # Then each job sent exactly its ticks (proven against NYSE's calendar in test_timetable), each
    # at the very moment it was due
    for each in jobs:
        expected = list(each.fire_times(utc(2026, 1, 1), clock.end))
        assert sender.ticks(each.name) == expected, each.name
    assert all(send.schedule.scheduled_at == at for send, at in sender.sent)
    assert {send.message_id for send, _ in sender.sent} == {
        r.message_id for j in jobs for r in runs(database_url, j.name)
    }
    assert len(sender.sent) > 2000  # about 250 trading days x 6 jobs, 365 days x 2, 52 weeks x 3, 12 months


@pytest.mark.slow
def test_the_real_loop_runs_minute_and_5_second_jobs_through_thanksgiving_and_the_early_close(database_url):
    jobs = [j for j in TIMETABLE if j.name in ("prices-extended-hours", "orders-regular-hours")]
    stop = threading.Event()
    # Wednesday 2026-11-25 20:00 ET to Saturday: Thursday is a holiday, Friday closes at 13:00
    clock = SimulatedClock(utc(2026, 11, 26, 1), utc(2026, 11, 28, 12), stop)
    sender = RecordingSender(clock)
    scheduler(database_url, jobs, sender, clock=clock.now).run(stop, sleep=clock.sleep)

    def new_york(ticks):
        return [at.astimezone(NY) for at in ticks]

    prices, orders = new_york(sender.ticks("prices-extended-hours")), new_york(sender.ticks("orders-regular-hours"))
    assert {at.date() for at in prices} == {date(2026, 11, 27)} == {at.date() for at in orders}
    assert (prices[0].strftime("%H:%M"), prices[-1].strftime("%H:%M"), len(prices)) == ("04:00", "16:59", 13 * 60)
    assert (orders[0].strftime("%H:%M:%S"), orders[-1].strftime("%H:%M:%S")) == ("09:30:00", "12:59:55")
    assert len(orders) == 210 * 12
    assert all(send.schedule.scheduled_at == at for send, at in sender.sent)  # each sent at its tick


@pytest.mark.both_databases
def test_two_schedulers_send_one_message_per_tick(database_url):
    sender_a, sender_b = RecordingSender(), RecordingSender()
    a = scheduler(database_url, [EVERY_MINUTE], sender_a, name="a")
    b = scheduler(database_url, [EVERY_MINUTE], sender_b, name="b")
    a.start(T0)
    b.start(T0)
    ticks = [T0 + timedelta(minutes=n, seconds=1) for n in range(1, 61)]

    def tick_together(loop, barrier, now):
        barrier.wait()
        loop.tick(now)

    for now in ticks:  # both reach every tick at the same moment
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=tick_together, args=(s, barrier, now)) for s in (a, b)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    sent = sender_a.ticks("every-minute") + sender_b.ticks("every-minute")
    assert sorted(sent) == [T0 + timedelta(minutes=n) for n in range(1, 61)]


@pytest.mark.both_databases
def test_a_paused_job_sends_nothing_until_resumed(database_url):
    sender = RecordingSender()
    loop = scheduler(database_url, [EVERY_MINUTE], sender)
    loop.start(T0)
    loop.tick(T0 + timedelta(minutes=1))
    with session_scope(database_url) as session:
        pause_job("every-minute", session=session, by="test")
    for n in range(2, 6):
        loop.tick(T0 + timedelta(minutes=n))
    with session_scope(database_url) as session:
        resume_job("every-minute", session=session, by="test")
    loop.tick(T0 + timedelta(minutes=6))
    assert sender.ticks("every-minute") == [T0 + timedelta(minutes=1), T0 + timedelta(minutes=6)]
    assert [r.due_at.minute for r in runs(database_url, "every-minute")] == [1, 6]


@pytest.mark.both_databases
def test_runs_missed_while_no_scheduler_ran_are_recorded_as_one_skipped_run(database_url):
    sender = RecordingSender()
    first = scheduler(database_url, [EVERY_MINUTE], sender)
    first.start(T0)
    first.tick(T0 + timedelta(minutes=1))
    # the scheduler is down for an hour; a new one starts 10 s after a tick
    metrics = SchedulerMetrics()
    second = scheduler(database_url, [EVERY_MINUTE], sender, metrics=metrics)
    back = T0 + timedelta(minutes=61, seconds=10)
    second.start(back)
    records = second.tick(back)
    # the tick within grace is sent; the 59 before it are one skipped run, in the ledger too
    assert [(r.outcome, r.due_at.minute) for r in records] == [("skipped", 0), ("sent", 1)]
    assert sender.ticks("every-minute") == [T0 + timedelta(minutes=1), T0 + timedelta(minutes=61)]
    skipped = [r for r in runs(database_url, "every-minute") if r.outcome == "skipped"]
    assert len(skipped) == 1 and skipped[0].detail.startswith("59 run(s) due from 2026-11-23T12:02:00")
    with session_scope(database_url) as session:
        task = get_task(session=session, message_id=skipped[0].message_id)
    assert task.state == "skipped" and task.error_type == "Missed"
    assert (
        metrics.registry.get_sample_value(
            "tickwork_schedule_skipped_total", {"job_name": "every-minute", "reason": "missed"}
        )
        == 59
    )


@pytest.mark.both_databases
def test_a_failed_send_is_retried_while_its_tick_is_in_grace(database_url):
    sender = RecordingSender(failures=2)
    loop = scheduler(database_url, [EVERY_MINUTE], sender)
    loop.start(T0)
    due = T0 + timedelta(minutes=1)
    assert loop.tick(due) == [] and loop.tick(due + timedelta(seconds=5)) == []
    assert runs(database_url, "every-minute") == []  # the claim was released each time
    [record] = loop.tick(due + timedelta(seconds=10))
    assert record.outcome == "sent" and sender.ticks("every-minute") == [due]


@pytest.mark.both_databases
def test_a_claim_whose_scheduler_died_is_taken_over_with_the_same_message_id(database_url):
    due = T0 + timedelta(hours=1)
    with session_scope(database_url) as session:
        dead = store.claim_run(session=session, job="hourly", due_at=due, kind="scheduled", scheduler="dead", now=due)
    sender = RecordingSender()
    hourly = job("hourly", "0 * * * *", grace=timedelta(minutes=5), overdue_after=timedelta(minutes=10))
    loop = scheduler(database_url, [hourly], sender)
    loop.start(T0)
    assert loop.tick(due + timedelta(seconds=60)) == []  # still fresh: its owner may be sending
    [record] = loop.tick(due + timedelta(seconds=100))
    assert record.message_id == dead and sender.sent[0][0].message_id == dead
    assert [(run.outcome, run.scheduler) for run in runs(database_url, "hourly")] == [("sent", "s1")]
    with session_scope(database_url) as session:  # the dead owner, back, cannot drop or mark it
        store.release_claim(session=session, job="hourly", due_at=due, scheduler="dead")
    assert len(runs(database_url, "hourly")) == 1


@pytest.mark.both_databases
def test_a_job_that_stops_succeeding_is_reported_overdue_then_resolved(database_url):
    monitored = job("every-minute", "* * * * *", overdue_after=timedelta(minutes=5))
    sender = RecordingSender()
    loop = scheduler(database_url, [monitored], sender)
    loop.start(T0)
    for n in range(1, 11):
        [record] = loop.tick(T0 + timedelta(minutes=n))
        complete(database_url, record.message_id, TaskState.COMPLETED if n <= 3 else TaskState.FAILED)
    now = T0 + timedelta(minutes=10, seconds=5)
    with session_scope(database_url) as session:
        overdue, raised = check_overdue([monitored], session=session, now=now)
    assert [(o.job, o.missed_due_at, o.last_success_at) for o in overdue] == [
        ("every-minute", T0 + timedelta(minutes=4), T0 + timedelta(minutes=3))
    ]
    assert raised == ["every-minute"]
    with session_scope(database_url) as session:  # a second check refreshes, does not repeat
        assert check_overdue([monitored], session=session, now=now)[1] == []
    [record] = loop.tick(T0 + timedelta(minutes=11))
    complete(database_url, record.message_id)
    with session_scope(database_url) as session:
        assert check_overdue([monitored], session=session, now=T0 + timedelta(minutes=11, seconds=30))[0] == []
        [alert] = session.exec(select(Alert)).all()
    assert alert.key == "job_overdue:every-minute" and alert.resolved_at is not None


@pytest.mark.both_databases
def test_a_market_hours_job_is_not_overdue_over_a_weekend(database_url):
    [prices] = [j for j in TIMETABLE if j.name == "prices-extended-hours"]
    friday_last = utc(2026, 11, 21, 0, 59)  # Friday 2026-11-20 19:59 ET
    loop = scheduler(database_url, [prices], RecordingSender())
    loop.start(friday_last - timedelta(seconds=30))
    [record] = loop.tick(friday_last)
    complete(database_url, record.message_id)
    with session_scope(database_url) as session:
        assert find_overdue([prices], session=session, now=utc(2026, 11, 22, 18)) == []  # Sunday afternoon
        late = find_overdue([prices], session=session, now=utc(2026, 11, 23, 9, 30))  # Monday 04:30 ET
    assert [o.missed_due_at for o in late] == [utc(2026, 11, 23, 9, 0)]  # Monday's first tick, 04:00 ET


@pytest.mark.both_databases
def test_jobs_list_shows_state_next_run_last_run_and_last_success(database_url):
    sender = RecordingSender()
    inactive = job("waiting", "0 * * * *", actor="refresh_all_prices")
    loop = scheduler(database_url, [EVERY_MINUTE], sender, inactive=[inactive])
    loop.start(T0)
    [record] = loop.tick(T0 + timedelta(minutes=1))
    complete(database_url, record.message_id)
    loop.tick(T0 + timedelta(minutes=2))
    with session_scope(database_url) as session:
        statuses = {s.name: s for s in store.list_jobs(session=session)}
    minute = statuses["every-minute"]
    assert minute.state == "active" and minute.schedule == "* * * * * (UTC)"
    assert minute.next_run_at == T0 + timedelta(minutes=3)
    assert minute.last_run_at == T0 + timedelta(minutes=2) and minute.last_run_state == "sent"
    assert minute.last_success_at == T0 + timedelta(minutes=1)
    assert statuses["waiting"].state == "inactive" and statuses["waiting"].next_run_at is None
