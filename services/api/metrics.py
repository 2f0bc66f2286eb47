"""The API process's own Prometheus series, served at `/metrics` (scrape job `api`).

Requests are labelled by route template (`/api/v1/tasks/{task_id}`, never the path itself), method
and status, so their number is bounded by the routes; a path no route has is `unmatched`. Manual runs
of scheduled jobs (`POST /api/v1/jobs/{name}/trigger`, the console's "run now") are counted here as
`tickwork_schedule_runs_total`, the scheduler's own name for the runs it sends: `sum by (job_name)`
over both counts every run, and `{job="api"}` picks the manual ones. Every series a dashboard or
rule reads exists at 0 from start-up, so that `rate()` sees the first request and the first trigger.

With several server processes (TICKWORK_API_PROCESSES), each writes its samples to the folder
`serve` gives them (prometheus_client's multiprocess mode, chosen when the process first imports
it), and whichever process answers a scrape serves the sum over all of them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.methods import RouteTable, route_template

__all__ = ["CONTENT_TYPE_LATEST", "ApiMetrics", "RequestMetrics"]

UNMATCHED = "unmatched"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "tickwork_api_requests",
            "API requests answered, by route, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "tickwork_api_request_seconds",
            "From a request's arrival to its answer's first byte",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.manual_runs = Counter(
            "tickwork_schedule_runs", "Runs of scheduled jobs sent by hand (API or console)", ["job_name"], registry=r
        )

    def declare_routes(self, table: RouteTable) -> None:
        """Each route's latency series at 0 (its statuses are known only once answered)."""
        for route, methods in table.routes():
            for method in methods:
                self.latency.labels(route, method)

    def declare_jobs(self, jobs: Iterable[str]) -> None:
        """Each job's manual-run series at 0 (jobs are recorded by the scheduler, maybe after start-up)."""
        for job in jobs:
            self.manual_runs.labels(job)

    def triggered(self, job: str) -> None:
        self.manual_runs.labels(job).inc()

    def exposition(self) -> tuple[bytes, str]:
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if folder is None:  # one process: its own series
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        every_process = CollectorRegistry()
        MultiProcessCollector(every_process, path=folder)
        return generate_latest(every_process), CONTENT_TYPE_LATEST


class RequestMetrics:
    """Counts and times every HTTP request, whatever answered it (a route, a refusal, an error)."""

    def __init__(self, app: ASGIApp, *, metrics: ApiMetrics, table: RouteTable) -> None:
        self.app, self.metrics, self.table = app, metrics, table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        observed = False

        async def timing(message: Message) -> None:
            nonlocal observed
            if message["type"] == "http.response.start" and not observed:
                observed = True
                self._observe(scope, message["status"], time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, timing)
        finally:
            if not observed:  # an error escaped before any answer: ServerErrorMiddleware answers 500
                self._observe(scope, 500, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"]
        route = route_template(scope, self.table) or UNMATCHED
        self.metrics.requests.labels(route, method, str(status)).inc()
        self.metrics.latency.labels(route, method).observe(seconds)
