"""Prometheus metrics: Dramatiq's `dramatiq_*` series plus Tickwork's `tickwork_*` series.

All worker processes of a group write to one multiprocess folder (see `actors.metrics_dir`), and a
forked exposition server (`actors.metrics_server`) serves them together on METRICS_PORT.
Labels are bounded: an actor or queue outside the contract is counted as "unknown".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import dramatiq.middleware.prometheus as dramatiq_prometheus
from dramatiq.common import current_millis, q_name

from actors.encoder import REJECTION
from actors.metrics_dir import prepare_run_dir
from actors.middleware.cancellation import CANCELLED
from actors.middleware.scheduled_runs import OUTDATED
from actors.timetable import JOB_NAMES
from services.contract import CONTRACT
from services.errors import TaskCancelled
from services.topology import QUEUES

SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600)
ENQUEUED_AT = "enqueued_at_ms"
STATES = ("completed", "failed", "retrying", "skipped", "cancelled")


def _labels(message: Any) -> tuple[str, str]:
    queue = q_name(message.queue_name)
    actor = message.actor_name
    return (queue if queue in QUEUES else "unknown", actor if actor in CONTRACT else "unknown")


@dataclass
class _Series:
    """The children of every Tickwork metric for one (queue, actor): label lookups cost more than
    the updates themselves, so they are done once."""

    queue_wait: Any
    duration: Any
    in_flight: Any
    retries: Any
    tasks: dict[str, Any]


class TickworkMetrics(dramatiq_prometheus.Prometheus):
    """Dramatiq's Prometheus middleware, writing to the group's folder, plus Tickwork's series."""

    def __init__(self, *, metrics_dir: str) -> None:
        super().__init__()
        self.metrics_dir = metrics_dir
        self.start_ms: dict[str, int] = {}
        self._series_by_labels: dict[tuple[str, str], _Series] = {}

    def _series(self, message: Any) -> _Series:
        labels = _labels(message)
        series = self._series_by_labels.get(labels)
        if series is None:
            series = self._series_by_labels[labels] = _Series(
                queue_wait=self.queue_wait.labels(*labels),
                duration=self.duration.labels(*labels),
                in_flight=self.in_flight.labels(*labels),
                retries=self.retries.labels(*labels),
                tasks={state: self.tasks.labels(*labels, state) for state in STATES},
            )
        return series

    @property
    def forks(self) -> list[Any]:
        from actors.metrics_server import serve_metrics

        return [serve_metrics]

    def after_process_boot(self, broker: Any) -> None:
        folder = str(prepare_run_dir(self.metrics_dir))
        # Dramatiq reads its folder from this module global (its env knob is read at import time).
        dramatiq_prometheus.DB_PATH = folder
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        super().after_process_boot(broker)

        import prometheus_client as prom

        registry = prom.CollectorRegistry()
        labels = ["queue", "actor"]
        self.tasks = prom.Counter(
            "tickwork_tasks_total", "Tasks that reached a state.", [*labels, "state"], registry=registry
        )
        self.duration = prom.Histogram(
            "tickwork_task_duration_seconds", "Time an actor ran.", labels, buckets=SECONDS_BUCKETS, registry=registry
        )
        self.queue_wait = prom.Histogram(
            "tickwork_task_queue_wait_seconds",
            "Time from enqueue (or due time) to start.",
            labels,
            buckets=SECONDS_BUCKETS,
            registry=registry,
        )
        self.retries = prom.Counter("tickwork_task_retries_total", "Retries scheduled.", labels, registry=registry)
        self.dead_letters = prom.Counter(
            "tickwork_dead_letters_total", "Messages dead-lettered, by reason.", [*labels, "reason"], registry=registry
        )
        self.schedule_skipped = prom.Counter(
            "tickwork_schedule_skipped_total",
            "Scheduled runs too late to matter, by reason (outdated: delivered after the job's grace).",
            ["job_name", "reason"],  # not `job`, which is Prometheus's scrape-job label
            registry=registry,
        )
        self.in_flight = prom.Gauge(
            "tickwork_tasks_in_flight", "Tasks running now.", labels, registry=registry, multiprocess_mode="livesum"
        )
        from services.market_data.metrics import declare_provider_series
        from services.settings import get_settings

        declare_provider_series(get_settings())  # the market-data clients' series, before any refresh

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        # Every series exists from the start at 0, so that rate() and increase() see the first event.
        for actor in broker.actors.values():
            self._series(actor)

    def before_enqueue(self, broker: Any, message: Any, delay: int | None) -> None:
        if delay is None:
            message.options[ENQUEUED_AT] = current_millis()

    def before_process_message(self, broker: Any, message: Any) -> None:
        super().before_process_message(broker, message)
        now = current_millis()
        self.start_ms[message.message_id] = now
        since = message.options.get(ENQUEUED_AT) or message.message_timestamp
        series = self._series(message)
        series.queue_wait.observe(max(now - since, 0) / 1000)
        series.in_flight.inc()

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        super().after_process_message(broker, message, result=result, exception=exception)
        series = self._series(message)
        started = self.start_ms.pop(message.message_id, current_millis())
        series.duration.observe((current_millis() - started) / 1000)
        series.in_flight.dec()
        if exception is None:
            state = "failed" if message.failed else "completed"
        elif isinstance(exception, TaskCancelled):
            state = "cancelled"
        else:
            # The retry middleware has already run (after_* hooks go in reverse order).
            state = "failed" if message.failed else "retrying"
        series.tasks[state].inc()
        if state == "retrying":
            series.retries.inc()

    def after_skip_message(self, broker: Any, message: Any) -> None:
        super().after_skip_message(broker, message)
        series = self._series(message)
        self.start_ms.pop(message.message_id, None)
        series.in_flight.dec()
        if message.options.get(CANCELLED):
            state = "cancelled"
        else:
            state = "failed" if message.failed else "skipped"
        series.tasks[state].inc()
        if message.options.get(OUTDATED):
            job = message.options.get("job")
            self.schedule_skipped.labels(job if job in JOB_NAMES else "unknown", "outdated").inc()

    def after_nack(self, broker: Any, message: Any) -> None:
        if message.actor_name in CONTRACT:
            # Dramatiq labels with the raw actor name; a name from the wire must not add series.
            super().after_nack(broker, message)
        record = message.options.get("dead_letter") or message.options.get(REJECTION) or {}
        self.dead_letters.labels(*_labels(message), record.get("reason", "failed")).inc()
