"""Runtime control of scheduled jobs, for the CLI and the API: pause, resume, trigger by hand.

Pause and resume are flags in the database, read by every scheduler before each send. A manual
trigger does not wait for a scheduler: it sends the job's message at once through the client (so it
works while the scheduler is down) and records the run, which then counts as the job's last run.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.contract.envelope import ScheduleStamp
from services.engine.client import Send, SentMessage, TickworkClient
from services.scheduling import store
from services.storage.db import session_scope
from services.storage.models import ScheduledJob


def pause_job(database_url: str, name: str, *, by: str) -> ScheduledJob:
    with session_scope(database_url) as session:
        return store.set_paused(session=session, name=name, paused=True, by=by, now=datetime.now(UTC))


def resume_job(database_url: str, name: str, *, by: str) -> ScheduledJob:
    with session_scope(database_url) as session:
        return store.set_paused(session=session, name=name, paused=False, by=by, now=datetime.now(UTC))


def trigger_job(database_url: str, client: TickworkClient, name: str, *, by: str) -> SentMessage:
    """Send one run of the job now (paused or not: a person asked for it)."""
    now = datetime.now(UTC)
    with session_scope(database_url) as session:
        job = store.get_job(session=session, name=name)
        message_id = store.claim_run(session=session, job=name, due_at=now, kind="manual", scheduler=by, now=now)
    assert message_id is not None  # a fresh timestamp: nobody else holds this claim
    try:
        [sent] = client.send_many(
            [Send(job.actor, dict(job.args), message_id=message_id, schedule=ScheduleStamp(name, now))]
        )
    except BaseException:
        with session_scope(database_url) as session:
            store.release_claim(session=session, job=name, due_at=now, scheduler=by)
        raise
    with session_scope(database_url) as session:
        store.mark_sent(session=session, job=name, due_at=now, scheduler=by, now=datetime.now(UTC))
    return sent
