"""The scheduler process's Prometheus series (served on TICKWORK_SCHEDULER_METRICS_PORT).

Labels are job names from the timetable, so their number is bounded. The label is `job_name`, not
`job`: Prometheus's own `job` label (the scrape job) would overwrite it.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.scheduling.overdue import find_overdue
from services.scheduling.store import last_successes, paused_jobs

if TYPE_CHECKING:
    from services.scheduling.scheduler import Scheduler

REFRESH_SECONDS = 15.0
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)


class SchedulerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r, by_job = self.registry, ["job_name"]
        self.runs = Counter("tickwork_schedule_runs", "Runs sent by the scheduler", by_job, registry=r)
        self.skipped_runs = Counter(
            "tickwork_schedule_skipped",
            "Runs too late to matter, by reason (missed: no scheduler was up)",
            ["job_name", "reason"],
            registry=r,
        )
        self.lag = Histogram(
            "tickwork_schedule_lag_seconds",
            "From a run's tick to its confirmed send",
            ["job_name"],
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.last_success = Gauge(
            "tickwork_schedule_last_success_timestamp",
            "Tick of the newest run that completed",
            ["job_name"],
            registry=r,
        )
        self.since_success = Gauge(
            "tickwork_schedule_seconds_since_success", "Now minus the newest successful tick", by_job, registry=r
        )
        self.next_run = Gauge("tickwork_schedule_next_run_timestamp", "When the job runs next", by_job, registry=r)
        self.paused = Gauge("tickwork_schedule_paused", "1 while the job is paused", by_job, registry=r)
        self.overdue = Gauge("tickwork_schedule_overdue", "1 while the job is overdue", by_job, registry=r)
        self._refreshed = 0.0

    def sent(self, job: str, *, lag_s: float) -> None:
        self.runs.labels(job).inc()
        self.lag.labels(job).observe(lag_s)

    def skipped(self, job: str, reason: str, count: int = 1) -> None:
        self.skipped_runs.labels(job, reason).inc(count)

    def maybe_refresh(self, scheduler: Scheduler, now: datetime) -> None:
        if time.monotonic() - self._refreshed >= REFRESH_SECONDS:
            self.refresh(scheduler, now)

    def refresh(self, scheduler: Scheduler, now: datetime) -> None:
        """Read what the database knows (successes come from the workers' ledger rows)."""
        self._refreshed = time.monotonic()
        with scheduler.session_factory() as session:
            successes = last_successes(session=session)
            paused = paused_jobs(session=session)
            late = find_overdue(scheduler.jobs, session=session, now=now, successes=successes)
            overdue = {item.job for item in late}
        for job in scheduler.jobs:
            name = job.name
            # Every job's series exist from the start (at zero), so dashboards and alerts see them.
            self.runs.labels(name)
            self.skipped_runs.labels(name, "missed")
            self.lag.labels(name)
            if name in successes:
                self.last_success.labels(name).set(successes[name].timestamp())
                self.since_success.labels(name).set((now - successes[name]).total_seconds())
            next_run = scheduler.next_runs().get(name)
            self.next_run.labels(name).set(next_run.timestamp() if next_run else 0)
            self.paused.labels(name).set(1 if name in paused else 0)
            self.overdue.labels(name).set(1 if name in overdue else 0)
