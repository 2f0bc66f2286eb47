"""Runtime control of scheduled jobs, for the CLI and the API: pause, resume, toggle, trigger by hand.

Pause and resume are flags in the database, read by every scheduler before each send. A manual
trigger does not wait for a scheduler: it sends the job's message at once through the client (so it
works while the scheduler is down) and records the run, which then counts as the job's last run.

The job rows are reached through `JobStore` (the `store` module by default), so that a unit test
can pass a fake and watch the claim, send and release order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Protocol

from sqlmodel import Session

from services.contract.envelope import ScheduleStamp
from services.engine.client import Send, SentMessage
from services.scheduling import store
from services.scheduling.store import JobNotFound, JobStatus
from services.storage.db import SessionFactory
from services.storage.models import ScheduledJob


class JobStore(Protocol):
    """The data access the control needs (services/scheduling/store.py)."""

    def get_job(self, *, session: Session, name: str) -> ScheduledJob: ...

    def set_paused(self, *, session: Session, name: str, paused: bool, by: str, now: datetime) -> ScheduledJob: ...

    def list_jobs(self, *, session: Session) -> list[JobStatus]: ...

    def claim_run(
        self, *, session: Session, job: str, due_at: datetime, kind: str, scheduler: str, now: datetime
    ) -> str | None: ...

    def mark_sent(self, *, session: Session, job: str, due_at: datetime, scheduler: str, now: datetime) -> None: ...

    def release_claim(self, *, session: Session, job: str, due_at: datetime, scheduler: str) -> None: ...


class Sender(Protocol):
    """What sends a job's run: the TickworkClient."""

    def send_many(self, requests: Iterable[Send]) -> list[SentMessage]: ...


def _now() -> datetime:
    return datetime.now(UTC)


def pause_job(name: str, *, session: Session, by: str, jobs: JobStore = store) -> ScheduledJob:
    """Stop sending the job's runs, from its next tick, on every scheduler."""
    return jobs.set_paused(session=session, name=name, paused=True, by=by, now=_now())


def resume_job(name: str, *, session: Session, by: str, jobs: JobStore = store) -> ScheduledJob:
    """Send the job's runs again, from its next tick."""
    return jobs.set_paused(session=session, name=name, paused=False, by=by, now=_now())


def toggle_job(
    name: str, *, session_factory: SessionFactory, by: str, paused: bool | None, jobs: JobStore = store
) -> JobStatus:
    """Pause (`paused=True`) or resume the job, or flip it when `paused` is None; its status once the
    change is committed (so that every scheduler reads it from its next tick)."""
    with session_factory() as session:
        current = jobs.get_job(session=session, name=name).paused
        wanted = not current if paused is None else paused
        jobs.set_paused(session=session, name=name, paused=wanted, by=by, now=_now())
    with session_factory() as session:
        return job_status(name, session=session, jobs=jobs)


def list_job_statuses(*, session_factory: SessionFactory, jobs: JobStore = store) -> list[JobStatus]:
    """Every job with its schedule, state, next run, last run and last success."""
    with session_factory() as session:
        return jobs.list_jobs(session=session)


def job_status(name: str, *, session: Session, jobs: JobStore = store) -> JobStatus:
    """One job's status, as `list_jobs` gives it; raises JobNotFound."""
    for status in jobs.list_jobs(session=session):
        if status.name == name:
            return status
    raise JobNotFound(f"no scheduled job named {name!r} (see `tickwork jobs list`)")


def trigger_job(
    name: str,
    *,
    session_factory: SessionFactory,
    client: Sender,
    by: str,
    jobs: JobStore = store,
    clock: Callable[[], datetime] = _now,
) -> SentMessage:
    """Send one run of the job now (paused or not: a person asked for it). The run is claimed in one
    transaction, sent with no transaction open, then marked sent; a failed send drops the claim."""
    now = clock()
    with session_factory() as session:
        job = jobs.get_job(session=session, name=name)
        actor, args = job.actor, dict(job.args)
        message_id = jobs.claim_run(session=session, job=name, due_at=now, kind="manual", scheduler=by, now=now)
    assert message_id is not None  # a fresh timestamp: nobody else holds this claim
    try:
        [sent] = client.send_many([Send(actor, args, message_id=message_id, schedule=ScheduleStamp(name, now))])
    except BaseException:
        with session_factory() as session:
            jobs.release_claim(session=session, job=name, due_at=now, scheduler=by)
        raise
    with session_factory() as session:
        jobs.mark_sent(session=session, job=name, due_at=now, scheduler=by, now=clock())
    return sent
