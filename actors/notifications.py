"""Notification actors (queue `notifications`). `monitor_jobs` is here; the senders (email, alerts,
webhooks, digests) join with the notifications work."""

from __future__ import annotations

from datetime import UTC, datetime

from actors.broker import settings
from actors.declare import contract_actor
from actors.task_context import reporter
from actors.timetable import TIMETABLE
from services.scheduling.overdue import check_overdue
from services.storage.db import session_scope


@contract_actor
def monitor_jobs() -> str:
    """Raises an alert for each job that has not succeeded within its interval, resolves the rest.
    Idempotent: one open alert per job, refreshed rather than repeated."""
    with session_scope(settings.database_url) as session:
        overdue, raised = check_overdue(TIMETABLE, session=session, now=datetime.now(UTC))
    reporter().progress(1.0, "checked")
    if overdue:
        return f"{len(overdue)} overdue: {', '.join(item.job for item in overdue)} ({len(raised)} newly raised)"
    return "no job overdue"
