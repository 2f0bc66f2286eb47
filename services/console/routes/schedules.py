"""Schedules: every timetable job, its cadence in words, next runs on the NYSE calendar and the days
it will not run, its last runs; pause, resume and run now (admin)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from services.api.tokens import Scope
from services.console import operations, timetable
from services.console.app import client_of, done, metrics_of
from services.console.pages import render
from services.console.routes.common import Seen, settings_of
from services.console.session import action
from services.scheduling import store
from services.scheduling.market_hours import NEW_YORK

router = APIRouter()


@router.get("/schedules")
def schedules_page(request: Request, who: Seen) -> Response:
    now = datetime.now(UTC)
    today = now.astimezone(NEW_YORK).date()
    with operations.reading(settings_of(request)) as db:
        statuses = {status.name: status for status in store.list_jobs(session=db)}
        jobs = timetable.timetable(session=db)
        rows = [
            {
                "entry": entry,
                "status": statuses.get(entry.row.name),
                "next": timetable.next_runs(entry.job, now) if entry.job and entry.row.active else [],
                "off": timetable.days_off(entry.job, today) if entry.job else [],
                "runs": timetable.recent_runs(session=db, job=entry.row.name),
            }
            for entry in jobs
        ]
    return render(request, "schedules.html", who, rows=rows, zone=NEW_YORK)


@router.post("/schedules/{job}/{verb}")
async def control(request: Request, job: str, verb: str) -> Response:
    who, _ = await action(request, Scope.ADMIN)
    settings = settings_of(request)
    with operations.reading(settings) as db:
        store.get_job(session=db, name=job)  # 404 for a job that does not exist
    if verb == "pause":
        operations.pause(settings, job, who.caller)
        notice = f"{job} paused: the scheduler skips its ticks until it is resumed"
    elif verb == "resume":
        operations.resume(settings, job, who.caller)
        notice = f"{job} resumed"
    elif verb == "run":
        sent = operations.trigger(settings, client_of(request), job, who.caller)
        metrics_of(request).triggered(job)  # counted with the API's manual runs
        request.state.audit_detail = {"task_id": sent.message_id}
        notice = f"{job} sent now as task {sent.message_id}"
    else:
        raise store.JobNotFound(f"no schedule action {verb!r}")
    return done(request, notice, "/console/schedules")
