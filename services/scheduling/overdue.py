"""Overdue jobs: a run that was due `overdue_after` ago (or earlier) and has not succeeded since.

Measured from the job's ticks rather than wall time, so a market-hours job is not overdue over a
weekend, and a weekly job is not overdue on Tuesday. Paused and inactive jobs are never overdue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from services.notifications.alert_records import raise_alert, resolve_alert
from services.scheduling.jobs import Job
from services.scheduling.market_hours import NYSE, NyseCalendar
from services.scheduling.store import last_successes
from services.storage.db import as_utc
from services.storage.models import ScheduledJob

ALERT_KIND = "job_overdue"


@dataclass(frozen=True)
class Overdue:
    job: str
    missed_due_at: datetime  # the oldest tick that should have succeeded by now
    last_success_at: datetime | None


def find_overdue(
    jobs: Sequence[Job],
    *,
    session: Session,
    now: datetime,
    calendar: NyseCalendar = NYSE,
    successes: dict[str, datetime] | None = None,
) -> list[Overdue]:
    """`successes`: the jobs' last successes, when the caller has read them already."""
    rows = {row.name: row for row in session.exec(select(ScheduledJob))}
    successes = last_successes(session=session) if successes is None else successes
    found = []
    for job in jobs:
        row = rows.get(job.name)
        if row is None or not row.active or row.paused:
            continue
        success = successes.get(job.name)
        since = max(at for at in (success, as_utc(row.created_at), row.resumed_at and as_utc(row.resumed_at)) if at)
        first_due = next(job.fire_times(since, now - job.overdue_after, calendar), None)
        if first_due is not None:
            found.append(Overdue(job.name, first_due, success))
    return found


def check_overdue(
    jobs: Sequence[Job], *, session: Session, now: datetime, calendar: NyseCalendar = NYSE
) -> tuple[list[Overdue], list[str]]:
    """Raise an alert for each overdue job and resolve the alerts of jobs that caught up; returns
    (overdue jobs, names of jobs whose alert was newly raised)."""
    overdue = find_overdue(jobs, session=session, now=now, calendar=calendar)
    raised = []
    for item in overdue:
        last = item.last_success_at.isoformat() if item.last_success_at else "never"
        if raise_alert(
            session=session,
            key=f"{ALERT_KIND}:{item.job}",
            kind=ALERT_KIND,
            severity="warning",
            title=f"Job {item.job} is overdue",
            detail=f"the run due {item.missed_due_at.isoformat()} has not succeeded; last success: {last}",
            now=now,
        ):
            raised.append(item.job)
    late = {item.job for item in overdue}
    for job in jobs:
        if job.name not in late:
            resolve_alert(session=session, key=f"{ALERT_KIND}:{job.name}", now=now)
    return overdue, raised
