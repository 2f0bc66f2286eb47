"""Prometheus metrics: Dramatiq's `dramatiq_*` series plus Tickwork's `tickwork_*` series.

All worker processes of a group write to one multiprocess folder (see `services.metrics_dir`), and a
forked exposition server (`actors.metrics_server`) serves them together on METRICS_PORT.
Labels are bounded: an actor or queue outside the contract is counted as "unknown".

Per-message updates go through `actors.middleware.tally` (plain per-thread counts, written to the
Prometheus files a few times a second by one thread); rare events (retries, dead letters, delays,
skipped schedules) are written at once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dramatiq.middleware.prometheus as dramatiq_prometheus
from dramatiq.common import current_millis, q_name

from actors.encoder import REJECTION
from actors.internals import histogram_upper_bounds, histogram_values, set_dramatiq_prometheus_folder
from actors.middleware.cancellation import CANCELLED
from actors.middleware.scheduled_runs import OUTDATED
from actors.middleware.tally import Flusher, Histogram, Layout, Tally
from actors.timetable import JOB_NAMES
from services.contract import CONTRACT
from services.engine.topology import QUEUES
from services.errors import TaskCancelled
from services.metrics_dir import prepare_run_dir

# Dramatiq's own buckets for dramatiq_message_duration_milliseconds (+Inf is implied).
DRAMATIQ_MS_BUCKETS = (
    *(5, 10, 25, 50, 75, 100, 250, 500, 750, 1000),
    *(2500, 5000, 7500, 10000, 30000, 60000, 600000, 900000),
)
SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600)
ENQUEUED_AT = "enqueued_at_ms"
STATES = ("completed", "failed", "retrying", "skipped", "cancelled")
FLUSH_INTERVAL_S = 0.25
# Dramatiq's series per (queue_name, actor_name) as it labels them, and Tickwork's per bounded labels.
DRAMATIQ_LAYOUT = Layout(
    counters=("started", "finished", "errors"),
    histograms=(("duration_ms", tuple(DRAMATIQ_MS_BUCKETS)),),
)
TICKWORK_LAYOUT = Layout(
    counters=("started", "finished", *STATES, "retries"),
    histograms=(("queue_wait", SECONDS_BUCKETS), ("duration", SECONDS_BUCKETS)),
)
D_STARTED, D_FINISHED, D_ERRORS = (DRAMATIQ_LAYOUT.index(n) for n in DRAMATIQ_LAYOUT.counters)
D_DURATION = Histogram(DRAMATIQ_LAYOUT, "duration_ms")
T_STARTED, T_FINISHED, T_RETRIES = (TICKWORK_LAYOUT.index(n) for n in ("started", "finished", "retries"))
T_STATE = {state: TICKWORK_LAYOUT.index(state) for state in STATES}
T_QUEUE_WAIT = Histogram(TICKWORK_LAYOUT, "queue_wait")
T_DURATION = Histogram(TICKWORK_LAYOUT, "duration")


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

    def __init__(self, *, metrics_dir: str, flush_interval_s: float = FLUSH_INTERVAL_S) -> None:
        super().__init__()
        self.metrics_dir = metrics_dir
        self.flush_interval_s = flush_interval_s
        self.start_ms: dict[str, int] = {}
        self._series_by_labels: dict[tuple[str, str], _Series] = {}
        self._dramatiq_children: dict[tuple[str, str], tuple[Any, Any, Any, Any]] = {}
        self._bounded: dict[tuple[str, str], tuple[str, str]] = {}
        self.dramatiq_tally = Tally(DRAMATIQ_LAYOUT, self._write_dramatiq)
        self.tickwork_tally = Tally(TICKWORK_LAYOUT, self._write_tickwork)
        # Dramatiq's series first, Tickwork's task counts last: a scrape that sees a task counted
        # also sees its duration and its Dramatiq counts.
        self.flusher = Flusher([self.dramatiq_tally, self.tickwork_tally], interval_s=flush_interval_s)

    def _series(self, message: Any) -> _Series:
        return self._series_for(_labels(message))

    def _series_for(self, labels: tuple[str, str]) -> _Series:
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

    def _tickwork_row(self, message: Any) -> list[float]:
        raw = (message.queue_name, message.actor_name)
        labels = self._bounded.get(raw)
        if labels is None:
            labels = _labels(message)
            if len(self._bounded) < 1000:  # names come from the wire: remember only so many
                self._bounded[raw] = labels
        return self.tickwork_tally.row(labels)

    @property
    def forks(self) -> list[Any]:
        from actors.metrics_server import serve_metrics

        return [serve_metrics]

    def after_process_boot(self, broker: Any) -> None:
        folder = str(prepare_run_dir(self.metrics_dir))
        set_dramatiq_prometheus_folder(folder)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        super().after_process_boot(broker)
        if histogram_upper_bounds(self.message_durations)[:-1] != DRAMATIQ_MS_BUCKETS:
            raise RuntimeError("Dramatiq's duration buckets changed: update DRAMATIQ_MS_BUCKETS")

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
        from services.notifications.metrics import declare_notification_series

        declare_notification_series()  # the notification series, at 0 before any send
        from services.trading.metrics import declare_trading_series

        declare_trading_series()  # the trading series, at 0 before the first order
        from services.bots.metrics import declare_bot_series

        declare_bot_series()  # the bots' series, at 0 before any run

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        # Every series exists from the start at 0, so that rate() and increase() see the first event
        # (a counter born at 1 has no earlier sample to increase from).
        for actor in broker.actors.values():
            self._series(actor)
            self._dramatiq_series(actor.queue_name, actor.actor_name)
        for queue, actor, reason in dead_letter_series(broker.actors.values()):
            self.dead_letters.labels(queue, actor, reason)
        self.flusher.start()

    def _dramatiq_series(self, queue: str, actor: str) -> None:
        self._write_dramatiq((queue, actor), DRAMATIQ_LAYOUT.new_row())
        for counter in (self.total_retried_messages, self.total_rejected_messages):
            counter.labels(queue, actor)
        self.inprogress_delayed_messages.labels(queue, actor)

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        self.flusher.stop()  # before Dramatiq marks this process dead
        super().after_worker_shutdown(broker, worker)

    def before_enqueue(self, broker: Any, message: Any, delay: int | None) -> None:
        if delay is None:
            message.options[ENQUEUED_AT] = current_millis()

    def before_process_message(self, broker: Any, message: Any) -> None:
        if message.message_id in self.delayed_messages:
            self.delayed_messages.remove(message.message_id)
            self.inprogress_delayed_messages.labels(message.queue_name, message.actor_name).dec()
        now = current_millis()
        self.start_ms[message.message_id] = now
        self.dramatiq_tally.row((message.queue_name, message.actor_name))[D_STARTED] += 1
        row = self._tickwork_row(message)
        row[T_STARTED] += 1
        since = message.options.get(ENQUEUED_AT) or message.message_timestamp
        T_QUEUE_WAIT.observe(row, max(now - since, 0) / 1000)

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        now = current_millis()
        elapsed_ms = now - self.start_ms.pop(message.message_id, now)
        dramatiq_row = self.dramatiq_tally.row((message.queue_name, message.actor_name))
        dramatiq_row[D_FINISHED] += 1
        if exception is not None:
            dramatiq_row[D_ERRORS] += 1
        D_DURATION.observe(dramatiq_row, elapsed_ms)
        row = self._tickwork_row(message)
        row[T_FINISHED] += 1
        T_DURATION.observe(row, elapsed_ms / 1000)
        if exception is None:
            state = "failed" if message.failed else "completed"
        elif isinstance(exception, TaskCancelled):
            state = "cancelled"
        else:
            # The retry middleware has already run (after_* hooks go in reverse order).
            state = "failed" if message.failed else "retrying"
        row[T_STATE[state]] += 1
        if state == "retrying":
            row[T_RETRIES] += 1

    def after_skip_message(self, broker: Any, message: Any, *, result: Any = None, exception: Any = None) -> None:
        # Dramatiq counts a skipped message as processed (its after_skip_message is after_process_message).
        now = current_millis()
        elapsed_ms = now - self.start_ms.pop(message.message_id, now)
        dramatiq_row = self.dramatiq_tally.row((message.queue_name, message.actor_name))
        dramatiq_row[D_FINISHED] += 1
        D_DURATION.observe(dramatiq_row, elapsed_ms)
        row = self._tickwork_row(message)
        row[T_FINISHED] += 1
        if message.options.get(CANCELLED):
            state = "cancelled"
        else:
            state = "failed" if message.failed else "skipped"
        row[T_STATE[state]] += 1
        if message.options.get(OUTDATED):
            job = message.options.get("job")
            self.schedule_skipped.labels(job if job in JOB_NAMES else "unknown", "outdated").inc()

    def _write_dramatiq(self, labels: tuple[str, str], delta: Sequence[float]) -> None:
        children = self._dramatiq_children.get(labels)
        if children is None:
            children = self._dramatiq_children[labels] = (
                self.message_durations.labels(*labels),
                self.inprogress_messages.labels(*labels),
                self.total_messages.labels(*labels),
                self.total_errored_messages.labels(*labels),
            )
        durations, inprogress, total, errors = children
        _add_histogram(durations, D_DURATION, delta)
        if delta[D_STARTED] != delta[D_FINISHED]:
            inprogress.inc(delta[D_STARTED] - delta[D_FINISHED])
        if delta[D_FINISHED]:
            total.inc(delta[D_FINISHED])
        if delta[D_ERRORS]:
            errors.inc(delta[D_ERRORS])

    def _write_tickwork(self, labels: tuple[str, str], delta: Sequence[float]) -> None:
        series = self._series_for(labels)
        if delta[T_STARTED] != delta[T_FINISHED]:
            series.in_flight.inc(delta[T_STARTED] - delta[T_FINISHED])
        _add_histogram(series.queue_wait, T_QUEUE_WAIT, delta)
        _add_histogram(series.duration, T_DURATION, delta)
        if delta[T_RETRIES]:
            series.retries.inc(delta[T_RETRIES])
        for state in STATES:
            if delta[T_STATE[state]]:
                series.tasks[state].inc(delta[T_STATE[state]])

    def after_nack(self, broker: Any, message: Any) -> None:  # rare: written at once
        if message.actor_name in CONTRACT:
            # Dramatiq labels with the raw actor name; a name from the wire must not add series.
            super().after_nack(broker, message)
        record = message.options.get("dead_letter") or message.options.get(REJECTION) or {}
        self.dead_letters.labels(*_labels(message), record.get("reason", "failed")).inc()


# Why a message is dead-lettered (actors/rabbitmq.py: dead_letter_record), by who can be labelled with it.
ACTOR_REASONS = ("failed", "retries_exhausted", "invalid_payload", "rejected")
UNNAMED_REASONS = ("unknown_actor", "undecodable", "malformed_envelope", "oversized")


def dead_letter_series(actors: Any) -> list[tuple[str, str, str]]:
    """Every (queue, actor, reason) a worker of these actors can count a dead letter under: each actor
    with the reasons of a message it was given, each contract actor of those queues that this worker
    does not implement as `unknown_actor`, and each queue's unreadable or unnamed messages as actor
    `unknown`."""
    implemented = {actor.actor_name: q_name(actor.queue_name) for actor in actors}
    queues = set(implemented.values())
    series = [(queue, actor, reason) for actor, queue in implemented.items() for reason in ACTOR_REASONS]
    series += [(s.queue, s.name, "unknown_actor") for s in CONTRACT if s.queue in queues and s.name not in implemented]
    series += [(queue, "unknown", reason) for queue in sorted(queues) for reason in UNNAMED_REASONS]
    return series


def _add_histogram(child: Any, histogram: Histogram, delta: Sequence[float]) -> None:
    """Add a tally's histogram change to a Prometheus histogram child (its sum and bucket values,
    which are what `observe` writes)."""
    counts = delta[histogram.sum_at + 1 : histogram.sum_at + 2 + len(histogram.bounds)]
    if not any(counts):
        return
    total, buckets = histogram_values(child)
    total.inc(delta[histogram.sum_at])
    for bucket, count in zip(buckets, counts, strict=True):
        if count:
            bucket.inc(count)
