"""The scheduler loop: at each tick of each job, claim the run, send it with publisher confirms, and
record it; runs missed while no scheduler was up are recorded as skipped, not replayed.

Rules (docs/scheduling.md has the long form):
- one send per tick across any number of schedulers: the run's database row is the claim;
- a tick reached within the job's grace is sent; older ticks (the scheduler was down, or stalled)
  are coalesced into one `skipped` run with the count in its detail, and the job goes on with its
  next tick: an every-minute job back after a day does not send 1,440 messages;
- a paused job sends nothing and records nothing; it resumes with its next tick;
- a send that fails is retried at the next loop while its tick is still within grace.

The clock is a parameter, so tests drive the real loop through a simulated year.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from services.contract import CONTRACT
from services.contract.envelope import ScheduleStamp
from services.engine.client import Send, SentMessage
from services.engine.ledger.tasks import record_skipped
from services.errors import MessageRejected, PublishFailed
from services.scheduling import store
from services.scheduling.jobs import Job
from services.scheduling.market_hours import NYSE, NyseCalendar
from services.storage.db import SessionFactory, as_utc

if TYPE_CHECKING:
    from services.scheduling.metrics import SchedulerMetrics

log = logging.getLogger("tickwork.scheduler")

IDLE_WAKE = timedelta(seconds=5)  # the longest sleep: metrics stay fresh while no job is due
Sender = Callable[[list[Send]], list[SentMessage]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RunRecord:
    """What one tick of one job came to, in this scheduler."""

    job: str
    due_at: datetime
    outcome: str  # sent | skipped
    message_id: str
    detail: str = ""


class Scheduler:
    def __init__(
        self,
        jobs: Sequence[Job],
        *,
        session_factory: SessionFactory,
        send: Sender,
        scheduler_id: str,
        calendar: NyseCalendar = NYSE,
        metrics: SchedulerMetrics | None = None,
        inactive: Sequence[Job] = (),
        idle_wake: timedelta = IDLE_WAKE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """`inactive`: timetable jobs not run here (their actor is not implemented yet); they are
        recorded so that operators see them."""
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names must be unique: {names}")
        self.jobs = list(jobs)
        self.session_factory = session_factory
        self.send = send
        self.scheduler_id = scheduler_id
        self.calendar = calendar
        self.metrics = metrics
        self.inactive = list(inactive)
        self.idle_wake = idle_wake
        self.clock = clock
        self._cursor: dict[str, datetime] = {}
        self._next_run: dict[str, datetime | None] = {}

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self, now: datetime) -> None:
        """Record the timetable and pick up where the last run of each job left off."""
        with self.session_factory() as session:
            store.sync_jobs(
                session=session, jobs=[*self.jobs, *self.inactive], active={job.name for job in self.jobs}, now=now
            )
            paused = store.paused_jobs(session=session)
            for job in self.jobs:
                # Runs missed while no scheduler was up count from the last recorded run; a new or
                # paused job starts from now.
                last = store.last_due(session=session, job=job.name)
                resumed = store.get_job(session=session, name=job.name).resumed_at
                since = max(at for at in (last, resumed and as_utc(resumed)) if at is not None) if last else now
                self._cursor[job.name] = now if job.name in paused else min(since, now)
        for job in self.jobs:
            log.info("job %s: %s -> %s%s", job.name, job.schedule, job.actor, f" {job.kwargs}" if job.kwargs else "")
        self._refresh_next_runs(now)

    def run(self, stop: threading.Event, sleep: Callable[[float], object] | None = None) -> None:
        """Tick until `stop` is set, sleeping until the next run is due (or `idle_wake` at most).
        Tests pass a simulated clock and `sleep` to run this very loop through a year."""
        sleep, clock = sleep or stop.wait, self.clock
        while not stop.is_set():
            try:
                self.start(clock())
                break
            except Exception:  # the database is not reachable yet: keep trying, as the ticks do
                log.exception("start failed; retrying in %s s", self.idle_wake.total_seconds())
                sleep(self.idle_wake.total_seconds())
        while not stop.is_set():
            try:
                self.tick(clock())
            except Exception:  # the database is away: keep going; unsent ticks stay due while in grace
                log.exception("tick failed; retrying in %s s", self.idle_wake.total_seconds())
                sleep(self.idle_wake.total_seconds())
                continue
            upcoming = [at for at in self._next_run.values() if at is not None]
            wake = min([*upcoming, clock() + self.idle_wake])
            sleep(max(0.0, (wake - clock()).total_seconds()))

    # -- one tick -----------------------------------------------------------------------------------
    def tick(self, now: datetime) -> list[RunRecord]:
        """Send every run due since the last tick; returns what happened to each."""
        due = {job.name: list(job.fire_times(self._cursor[job.name], now, self.calendar)) for job in self.jobs}
        records: list[RunRecord] = []
        if any(due.values()):
            with self.session_factory() as session:
                paused = store.paused_jobs(session=session)
            for job in self.jobs:
                previous, self._cursor[job.name] = self._cursor[job.name], now
                if due[job.name] and job.name not in paused:
                    try:
                        records += self._run_due(job, due[job.name], now)
                    except Exception:
                        self._cursor[job.name] = previous  # look at these ticks again next time
                        raise
        else:
            for job in self.jobs:
                self._cursor[job.name] = now
        if self._next_run and any(at is not None and at <= now for at in self._next_run.values()):
            self._refresh_next_runs(now)
        if self.metrics is not None:
            self.metrics.maybe_refresh(self, now)
        return records

    def _run_due(self, job: Job, ticks: list[datetime], now: datetime) -> list[RunRecord]:
        late = [at for at in ticks if now - at > job.grace]
        records = [self._skip_missed(job, late, now)] if late else []
        for at in ticks:
            if now - at <= job.grace:
                records.append(self._send(job, at, now))
        return [record for record in records if record is not None]

    def _send(self, job: Job, due_at: datetime, now: datetime) -> RunRecord | None:
        with self.session_factory() as session:
            message_id = store.claim_run(
                session=session, job=job.name, due_at=due_at, kind="scheduled", scheduler=self.scheduler_id, now=now
            )
            unconfirmed = message_id is None and store.claim_pending(session=session, job=job.name, due_at=due_at)
        if message_id is None:
            # Another scheduler has this tick. Until it confirms the send, look again: if it died
            # holding the claim, this scheduler takes over once the claim is stale.
            if unconfirmed:
                self._retry_later(job, due_at)
            return None
        stamp = ScheduleStamp(job.name, due_at, skip_after=due_at + job.grace)
        try:
            self.send([Send(job.actor, dict(job.kwargs), message_id=message_id, schedule=stamp)])
        except (PublishFailed, MessageRejected):  # not sent: free the tick for another try in grace
            log.exception("job %s: sending the run due %s failed; it is retried while in grace", job.name, due_at)
            with self.session_factory() as session:
                store.release_claim(session=session, job=job.name, due_at=due_at, scheduler=self.scheduler_id)
            self._retry_later(job, due_at)
            return None
        except Exception:  # RabbitMQ confirmed it; only recording the pending row failed
            log.exception("job %s: run due %s sent, but its ledger row was not written", job.name, due_at)
        sent_at = self.clock()
        with self.session_factory() as session:
            store.mark_sent(session=session, job=job.name, due_at=due_at, scheduler=self.scheduler_id, now=sent_at)
        if self.metrics is not None:
            self.metrics.sent(job.name, lag_s=max(0.0, (sent_at - due_at).total_seconds()))
        log.info("job %s: sent %s due %s", job.name, job.actor, due_at.isoformat())
        return RunRecord(job.name, due_at, store.Outcome.SENT, message_id)

    def _retry_later(self, job: Job, due_at: datetime) -> None:
        """Consider `due_at` again at the next tick (it is dropped once past the job's grace)."""
        self._cursor[job.name] = min(self._cursor[job.name], due_at - timedelta(microseconds=1))

    def _skip_missed(self, job: Job, late: list[datetime], now: datetime) -> RunRecord | None:
        detail = (
            f"{len(late)} run(s) due from {late[0].isoformat()} to {late[-1].isoformat()} were not sent "
            f"within the job's grace of {job.grace.total_seconds():.0f} s (no scheduler was running)"
        )
        spec = CONTRACT.get(job.actor)
        with self.session_factory() as session:
            message_id = store.claim_run(
                session=session,
                job=job.name,
                due_at=late[-1],
                kind="scheduled",
                scheduler=self.scheduler_id,
                now=now,
                outcome=store.Outcome.SKIPPED,
                detail=detail[:500],
            )
            if message_id is None:
                return None
            record_skipped(
                session=session,
                message_id=message_id,
                actor=spec.name,
                queue=spec.queue,
                priority=spec.priority.value,
                args=dict(job.kwargs),
                scheduled_for=late[-1],
                reason=detail,
            )
        if self.metrics is not None:
            self.metrics.skipped(job.name, "missed", len(late))
        log.warning("job %s: %s", job.name, detail)
        return RunRecord(job.name, late[-1], store.Outcome.SKIPPED, message_id, detail)

    # -- next runs ----------------------------------------------------------------------------------
    def next_runs(self) -> dict[str, datetime | None]:
        return dict(self._next_run)

    def _refresh_next_runs(self, now: datetime) -> None:
        changed = {}
        for job in self.jobs:
            at = self._next_run.get(job.name)
            if job.name not in self._next_run or (at is not None and at <= now):
                changed[job.name] = self._next_run[job.name] = job.next_run(now, self.calendar)
        if changed:
            with self.session_factory() as session:
                store.set_next_runs(session=session, next_runs=changed)
