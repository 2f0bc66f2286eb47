"""/api/v1/jobs: the scheduler's jobs, their state, and manual control."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request

from services.api.deps import Admin, Client, Db, Reader, Sessions
from services.api.lookups import text_id
from services.api.schemas import JobStatus, JobToggle, JobTriggered
from services.scheduling import store
from services.scheduling.control import toggle_job, trigger_job

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


@router.get("/status", response_model=list[JobStatus])
def jobs_status(db: Db, _: Reader) -> list[JobStatus]:
    """Every job: schedule, state (active, paused, inactive), next run, last run and last success."""
    return [JobStatus(**asdict(status)) for status in store.list_jobs(session=db)]


@router.post("/{job_name}/trigger", response_model=JobTriggered, status_code=202)
def trigger(job_name: str, request: Request, client: Client, sessions: Sessions, caller: Admin) -> JobTriggered:
    """Send one run of the job now, whatever its schedule, paused or not."""
    sent = trigger_job(
        text_id("scheduled job named", job_name), session_factory=sessions, client=client, by=str(caller)
    )
    request.app.state.metrics.triggered(job_name)
    return JobTriggered(job=job_name, task_id=sent.message_id, actor=sent.actor, queue=sent.queue)


@router.put("/{job_name}/toggle", response_model=JobStatus)
def toggle(job_name: str, sessions: Sessions, caller: Admin, body: JobToggle | None = None) -> JobStatus:
    """Pause or resume the job (`{"paused": true}`), or flip it with no body; effective at its next tick."""
    paused = body.paused if body is not None else None
    return JobStatus(
        **asdict(
            toggle_job(
                text_id("scheduled job named", job_name), session_factory=sessions, by=str(caller), paused=paused
            )
        )
    )
