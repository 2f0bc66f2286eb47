"""The scheduler's state in the database: job definitions and pause flags, and the runs it sent.

A run's row is also its claim: `(job, due_at)` is the primary key, so when two schedulers reach the
same tick only one insert lands, and only that scheduler sends. A claim whose sender died before the
broker confirmed the message is taken over after STALE_CLAIM, with the same message id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from services.engine.ledger.states import TaskState
from services.errors import NotFound
from services.scheduling.jobs import Job
from services.storage.db import as_utc
from services.storage.models import ScheduledJob, ScheduledRun, Task
from services.storage.upsert import dialect_insert

# Longer than the client's worst case for one confirmed publish (6 attempts x 10 s, plus back-off),
# so a slow but living sender is never taken over.
STALE_CLAIM = timedelta(seconds=90)
RUN_IDS = uuid.UUID("6f7d0a52-4b7e-4f53-9a59-3c1d2f1b8e10")


class JobNotFound(NotFound):
    """Raised when no scheduled job has the given name."""


class Outcome:
    CLAIMED = "claimed"
    SENT = "sent"
    SKIPPED = "skipped"


def run_message_id(job: str, due_at: datetime) -> str:
    """The message id of a job's run at a tick: the same in every scheduler, so a taken-over claim
    re-sends the same message rather than a second one."""
    return str(uuid.uuid5(RUN_IDS, f"{job}@{due_at.astimezone(UTC).isoformat()}"))


# -- definitions and runtime state ---------------------------------------------------------------
def sync_jobs(*, session: Session, jobs: Iterable[Job], active: set[str], now: datetime) -> None:
    """Write the timetable's definitions, keeping each job's pause state; a job that left the
    timetable, or whose actor is not implemented here, is kept but marked inactive."""
    jobs = list(jobs)
    # Two schedulers may start together on a fresh database: create missing rows without conflict.
    insert = dialect_insert(session.get_bind().dialect.name, ScheduledJob)
    for job in jobs:
        fresh = {
            "name": job.name,
            "actor": job.actor,
            "schedule": job.schedule,
            "args": dict(job.kwargs),
            "grace_s": 0.0,
            "overdue_after_s": 0.0,
            "description": "",
            "active": False,
            "paused": False,
            "created_at": now,
            "updated_at": now,
        }
        session.execute(insert.values(fresh).on_conflict_do_nothing(index_elements=["name"]))
    session.flush()
    existing = {row.name: row for row in session.exec(select(ScheduledJob))}
    for job in jobs:
        row = existing[job.name]
        row.actor, row.schedule, row.args = job.actor, job.schedule, dict(job.kwargs)
        row.grace_s, row.overdue_after_s = job.grace.total_seconds(), job.overdue_after.total_seconds()
        row.description, row.active, row.updated_at = job.description, job.name in active, now
        session.add(row)
    for name, row in existing.items():
        if name not in {job.name for job in jobs}:
            row.active, row.updated_at = False, now
            session.add(row)


def get_job(*, session: Session, name: str) -> ScheduledJob:
    row = session.get(ScheduledJob, name)
    if row is None:
        raise JobNotFound(f"no scheduled job named {name!r} (see `tickwork jobs list`)")
    return row


def set_paused(*, session: Session, name: str, paused: bool, by: str, now: datetime) -> ScheduledJob:
    """Pause or resume a job; the scheduler reads the flag before every send."""
    row = get_job(session=session, name=name)
    if paused and not row.paused:
        row.paused, row.paused_by, row.paused_at = True, by, now
    elif not paused and row.paused:
        row.paused, row.resumed_at = False, now
    row.updated_at = now
    session.add(row)
    return row


def job_names(*, session: Session) -> list[str]:
    return list(session.exec(select(ScheduledJob.name).order_by(col(ScheduledJob.name))))


def paused_jobs(*, session: Session) -> set[str]:
    return set(session.exec(select(ScheduledJob.name).where(col(ScheduledJob.paused).is_(True))))


def set_next_runs(*, session: Session, next_runs: dict[str, datetime | None]) -> None:
    for name, at in next_runs.items():
        session.execute(update(ScheduledJob).where(col(ScheduledJob.name) == name).values(next_run_at=at))


# -- runs ------------------------------------------------------------------------------------------
def last_due(*, session: Session, job: str) -> datetime | None:
    """The tick of the job's newest recorded run (sent, claimed or skipped)."""
    at = session.exec(select(func.max(ScheduledRun.due_at)).where(ScheduledRun.job == job)).one()
    return as_utc(at) if at else None


def claim_run(
    *,
    session: Session,
    job: str,
    due_at: datetime,
    kind: str,
    scheduler: str,
    now: datetime,
    outcome: str = Outcome.CLAIMED,
    detail: str | None = None,
) -> str | None:
    """Claim one tick of a job; returns the run's message id when this caller won the claim."""
    message_id = run_message_id(job, due_at)
    row = {
        "job": job,
        "due_at": due_at,
        "kind": kind,
        "outcome": outcome,
        "message_id": message_id,
        "scheduler": scheduler,
        "claimed_at": now,
        "detail": detail,
    }
    insert = dialect_insert(session.get_bind().dialect.name, ScheduledRun).values(row)
    # RETURNING says whether a row was written (psycopg reports no rowcount for ON CONFLICT DO NOTHING).
    claimed = insert.on_conflict_do_nothing(index_elements=["job", "due_at"]).returning(col(ScheduledRun.job))
    if session.execute(claimed).first() is not None:
        return message_id
    takeover = (
        update(ScheduledRun)
        .where(
            col(ScheduledRun.job) == job,
            col(ScheduledRun.due_at) == due_at,
            col(ScheduledRun.outcome) == Outcome.CLAIMED,
            col(ScheduledRun.claimed_at) < now - STALE_CLAIM,
        )
        .values(scheduler=scheduler, claimed_at=now, outcome=outcome, detail=detail)
        .returning(col(ScheduledRun.job))
    )
    return message_id if session.execute(takeover).first() is not None else None


def claim_pending(*, session: Session, job: str, due_at: datetime) -> bool:
    """Whether the tick is claimed but its send not yet confirmed."""
    run = session.get(ScheduledRun, (job, due_at))
    return run is not None and run.outcome == Outcome.CLAIMED


def mark_sent(*, session: Session, job: str, due_at: datetime, scheduler: str, now: datetime) -> None:
    session.execute(
        update(ScheduledRun)
        .where(
            col(ScheduledRun.job) == job, col(ScheduledRun.due_at) == due_at, col(ScheduledRun.scheduler) == scheduler
        )
        .values(outcome=Outcome.SENT, sent_at=now)
    )


def release_claim(*, session: Session, job: str, due_at: datetime, scheduler: str) -> None:
    """Drop this scheduler's claim whose send failed, so the tick can be tried again while in time
    (a claim another scheduler took over meanwhile is not this one's to drop)."""
    session.execute(
        delete(ScheduledRun).where(
            col(ScheduledRun.job) == job,
            col(ScheduledRun.due_at) == due_at,
            col(ScheduledRun.outcome) == Outcome.CLAIMED,
            col(ScheduledRun.scheduler) == scheduler,
        )
    )


# -- what operators see ---------------------------------------------------------------------------
@dataclass(frozen=True)
class JobStatus:
    name: str
    actor: str
    schedule: str
    state: str  # active | paused | inactive
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_run_state: str | None  # the ledger state of the newest run
    last_success_at: datetime | None
    description: str


def last_successes(*, session: Session) -> dict[str, datetime]:
    """For each job, the tick of its newest run that completed (a manual trigger counts)."""
    query = (
        select(ScheduledRun.job, func.max(ScheduledRun.due_at))
        .join(Task, col(Task.message_id) == col(ScheduledRun.message_id))
        .where(Task.state == TaskState.COMPLETED.value)
        .group_by(col(ScheduledRun.job))
    )
    return {job: as_utc(at) for job, at in session.exec(query)}


def list_jobs(*, session: Session) -> list[JobStatus]:
    successes = last_successes(session=session)
    statuses = []
    for row in session.exec(select(ScheduledJob).order_by(col(ScheduledJob.name))):
        last = session.exec(
            select(ScheduledRun).where(ScheduledRun.job == row.name).order_by(col(ScheduledRun.due_at).desc()).limit(1)
        ).first()
        last_state = None
        if last is not None:
            task = session.get(Task, last.message_id)
            last_state = task.state if task is not None else last.outcome
        state = "inactive" if not row.active else "paused" if row.paused else "active"
        statuses.append(
            JobStatus(
                name=row.name,
                actor=row.actor,
                schedule=row.schedule,
                state=state,
                next_run_at=as_utc(row.next_run_at) if row.next_run_at and row.active else None,
                last_run_at=as_utc(last.due_at) if last else None,
                last_run_state=last_state,
                last_success_at=successes.get(row.name),
                description=row.description,
            )
        )
    return statuses
