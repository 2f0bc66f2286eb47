"""The scheduler process: the timetable's jobs whose actors this deployment implements, run by
`services.scheduling.Scheduler`. `tickwork scheduler` and `periodiq actors` both start it.

periodiq is kept for what it is good at (cron specs, the `periodic` actor option, its command) and
its scheduler loop is replaced, because that loop cannot meet the contract: it reads specs in the
process's local timezone only, never fires `sun` jobs (weekday numbering mismatch), sends once per
process (two schedulers send twice), cannot pause a job, and sends without publisher confirms.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Sequence
from typing import Any

import periodiq

from actors.broker import broker
from actors.timetable import TIMETABLE
from services.engine.client import TickworkClient
from services.errors import SettingsError
from services.scheduling.jobs import Job
from services.scheduling.scheduler import Scheduler
from services.settings import Settings, get_settings
from services.storage.migrate import is_current

log = logging.getLogger("tickwork.scheduler")


class PeriodicJobs(tuple[Job, ...]):
    """An actor's `periodic` option: its timetable jobs (periodiq prints it with `str`)."""

    def __str__(self) -> str:
        return "; ".join(f"{job.name}: {job.schedule}" for job in self)


def split_timetable(jobs: Sequence[Job] = TIMETABLE) -> tuple[list[Job], list[Job]]:
    """(jobs whose actor is implemented here, jobs still waiting for their actor)."""
    active = [job for job in jobs if job.actor in broker.actors]
    return active, [job for job in jobs if job.actor not in broker.actors]


def mark_periodic_actors(jobs: Sequence[Job] = TIMETABLE) -> None:
    """Put each implemented actor's jobs in its `periodic` option, where periodiq looks for them."""
    for name, actor in broker.actors.items():
        own = PeriodicJobs(job for job in jobs if job.actor == name)
        if own:
            actor.options["periodic"] = own


def run_scheduler(settings: Settings | None = None, stop: threading.Event | None = None) -> None:
    """Run the scheduler until SIGTERM/SIGINT (or `stop`)."""
    settings = settings or get_settings()
    if not is_current(settings.database_url):
        raise SettingsError("the database is not migrated: run `tickwork db upgrade` first")
    active, waiting = split_timetable()
    for job in waiting:
        log.info("job %s is inactive: actor %s is not implemented yet", job.name, job.actor)
    # Imported here, not at the top: `import actors` must not load prometheus_client before a
    # worker has set its multiprocess folder (the client picks its storage at import time).
    from prometheus_client import start_http_server

    from services.market_data.freshness_metrics import PriceFreshnessCollector
    from services.scheduling.metrics import SchedulerMetrics
    from services.trading.book_metrics import OrderBookCollector

    metrics = SchedulerMetrics()
    metrics.registry.register(
        PriceFreshnessCollector(database_url=settings.database_url, max_age_s=settings.tickwork_price_max_age_seconds)
    )
    metrics.registry.register(OrderBookCollector(database_url=settings.database_url))
    if settings.tickwork_scheduler_metrics_port:
        start_http_server(settings.tickwork_scheduler_metrics_port, registry=metrics.registry)
    stop = stop or threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with TickworkClient(settings=settings, ledger_url=settings.database_url) as client:
        scheduler = Scheduler(
            active,
            database_url=settings.database_url,
            send=client.send_many,
            scheduler_id=f"{socket.gethostname()}:{os.getpid()}",
            metrics=metrics,
            inactive=waiting,
        )
        scheduler.run(stop)
    log.info("scheduler stopped")


class PeriodiqScheduler(periodiq.Scheduler):
    """What `periodiq actors` runs (see the module docstring): the same loop as `tickwork scheduler`."""

    def __init__(self, actors: Any) -> None:
        super().__init__(actors)

    def schedule(self) -> None:
        """periodiq calls this once before `loop`; the first tick happens in the loop."""

    def loop(self) -> None:
        run_scheduler()


# periodiq has no hook for its scheduler class; its `main` looks the name up at call time.
periodiq.Scheduler = PeriodiqScheduler
