"""Overview: one tile per thing an operator checks first, each linking to its page."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pika.exceptions
from fastapi import APIRouter, Request, Response

from services.console import operations, timetable
from services.console.pages import render
from services.console.routes.common import Seen, settings_of
from services.engine.ledger import browse
from services.engine.ledger.states import TaskState
from services.engine.queue_stats import QueueStats
from services.engine.topology import QUEUES
from services.engine.workers import list_workers, worker_status
from services.market_data.catalog import list_prices
from services.notifications.alert_records import open_alerts
from services.scheduling.overdue import find_overdue

router = APIRouter()
log = logging.getLogger("tickwork.console")


@router.get("/")
def overview(request: Request, who: Seen) -> Response:
    settings = settings_of(request)
    now = datetime.now(UTC)
    try:
        queues: list[QueueStats] | None = operations.queues(settings)
    except (pika.exceptions.AMQPError, OSError) as error:  # the page still shows what the database knows
        log.warning("queue stats unavailable: %s", error)
        queues = None
    with operations.reading(settings) as db:
        finished = browse.finished_since(session=db, since=now - timedelta(hours=1))
        waiting_since = {queue: browse.oldest_waiting(session=db, queue=queue) for queue in QUEUES}
        statuses = [worker_status(w, now, settings.tickwork_heartbeat_seconds) for w in list_workers(session=db)]
        jobs = [entry.job for entry in timetable.timetable(session=db) if entry.job is not None]
        overdue = find_overdue(jobs, session=db, now=now)
        stale = [
            p for p in list_prices(session=db, now=now, max_age_s=settings.tickwork_price_max_age_seconds) if p.stale
        ]
        alerts = [alert for alert in open_alerts(session=db) if alert.account is None]
    by_queue: dict[str, dict[str, QueueStats]] = {}
    for item in queues or []:
        base = item.queue.removesuffix(".DQ").removesuffix(".XQ")
        by_queue.setdefault(base, {})[item.kind] = item
    return render(
        request,
        "overview.html",
        who,
        finished=finished,
        completed=finished.get(TaskState.COMPLETED.value, 0),
        failed=finished.get(TaskState.FAILED.value, 0),
        queues=queues,
        by_queue=by_queue,
        queue_names=QUEUES,
        waiting_since=waiting_since,
        alive=statuses.count("alive"),
        dead=statuses.count("dead"),
        consumers=sum(item.consumers for item in queues or [] if item.kind == "work"),
        overdue=overdue,
        stale=stale,
        alerts=alerts,
    )
