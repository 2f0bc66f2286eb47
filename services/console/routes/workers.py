"""Workers: processes by host, with their queues, in-flight and processed counts, and heartbeats."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import groupby

from fastapi import APIRouter, Request, Response

from services.console import operations
from services.console.pages import render
from services.console.routes.common import Seen, settings_of
from services.engine.workers import MISSED_HEARTBEATS, list_workers, worker_status

router = APIRouter()


@router.get("/workers")
def workers_page(request: Request, who: Seen) -> Response:
    settings = settings_of(request)
    now = datetime.now(UTC)
    with operations.reading(settings) as db:
        found = list_workers(session=db)
    rows = [(w, worker_status(w, now, settings.tickwork_heartbeat_seconds)) for w in found]
    rows.sort(key=lambda item: (item[0].host, item[0].queues, item[0].pid))
    hosts = [(host, list(items)) for host, items in groupby(rows, key=lambda item: item[0].host)]
    return render(
        request, "workers.html", who, hosts=hosts, dead_after_s=MISSED_HEARTBEATS * settings.tickwork_heartbeat_seconds
    )
