"""The engine dashboard: processes, tasks, latency, dead letters and queues, notifications, the API."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import CustomVariable, Dashboard
from grafana_foundation_sdk.models.dashboard import Threshold, VariableOption

from .panels import (
    PanelBuilder,
    bars,
    big_number,
    graph,
    increase,
    quantile,
    rate,
    tickwork_dashboard,
    total,
    up_or_down,
)

QUEUES = ["orders", "refresh", "bots", "maintenance", "notifications"]  # services/engine/topology.py
QUEUE = 'queue=~"$queue"'
FINISHED = 'queue=~"$queue", state=~"completed|failed"'
FAILED = 'queue=~"$queue", state="failed"'
TASKS = "tickwork_tasks_total"
DURATION = "tickwork_task_duration_seconds"


def queue_variable() -> CustomVariable:
    options = [VariableOption(selected=True, text="All", value="$__all")]
    options += [VariableOption(selected=False, text=queue, value=queue) for queue in QUEUES]
    return (
        CustomVariable("queue")
        .label("Queue")
        .description("Tickwork's work queues (services/engine/topology.py).")
        .values(",".join(QUEUES))
        .multi(True)
        .include_all(True)
        .current(VariableOption(selected=True, text=["All"], value=["$__all"]))
        .options(options)
    )


def overview() -> list[PanelBuilder]:
    return [
        up_or_down(
            "Processes up",
            "1 when Prometheus scrapes the process: each worker group on :9191, the schedulers on :9192, the API,"
            " RabbitMQ's plugin on :15692.",
            ('up{job=~"workers.*|scheduler|api|rabbitmq.*"}', "{{job}} {{instance}}"),
            width=10,
        ),
        big_number(
            "Tasks finished / s",
            "Completed and failed tasks per second on the selected queues.",
            (rate(TASKS, where=FINISHED), "finished"),
            width=5,
            unit="reqps",
            steps=[Threshold(None, "blue")],
        ),
        big_number(
            "Failure ratio",
            "Failed over finished (completed + failed) on the selected queues; alert TickworkTaskFailureRatioHigh"
            " fires above 5%.",
            (f"{rate(TASKS, where=FAILED)} / {rate(TASKS, where=FINISHED)}", "failed"),
            width=4,
            unit="percentunit",
            steps=[Threshold(None, "green"), Threshold(0.01, "orange"), Threshold(0.05, "red")],
        ),
        big_number(
            "Dead letters in queues",
            "Messages now in the selected queues' dead-letter queues (.XQ), as RabbitMQ counts them; they stay until"
            " replayed or purged.",
            (total("rabbitmq_detailed_queue_messages", where='queue=~"($queue)[.]XQ"'), "dead letters"),
            width=5,
            steps=[Threshold(None, "green"), Threshold(1, "orange")],
        ),
    ]


def tasks() -> list[PanelBuilder]:
    failed = rate(TASKS, by="queue", where=FAILED)
    finished = rate(TASKS, by="queue", where=FINISHED)
    return [
        graph(
            "Tasks by state",
            "Tasks reaching each state per second (completed, failed, retrying, skipped), selected queues.",
            (rate(TASKS, by="state", where=QUEUE), "{{state}}"),
            unit="reqps",
        ),
        graph(
            "Tasks finished by queue",
            "Completed and failed tasks per second, per queue.",
            (finished, "{{queue}}"),
            unit="reqps",
        ),
        graph(
            "Failure ratio by queue",
            "Failed over finished per queue; 0 where a queue finished tasks without failures.",
            # "or 0 * finished": a queue that finished tasks without failing any has a ratio of 0, not no line.
            (f"({failed} or 0 * {finished}) / {finished}", "{{queue}}"),
            unit="percentunit",
        )
        .min(0)
        .max(1),
        graph(
            "Retries by actor",
            "Retries scheduled per second, per queue and actor.",
            (rate("tickwork_task_retries_total", by="queue, actor", where=QUEUE), "{{queue}} / {{actor}}"),
            unit="reqps",
        ),
    ]


def latency() -> list[PanelBuilder]:
    return [
        graph(
            "Task duration p50 / p95 / p99",
            "How long actors ran, over the selected queues (histogram tickwork_task_duration_seconds).",
            (quantile(0.5, DURATION, where=QUEUE), "p50"),
            (quantile(0.95, DURATION, where=QUEUE), "p95"),
            (quantile(0.99, DURATION, where=QUEUE), "p99"),
            unit="s",
            no_value=None,
        ),
        graph(
            "Queue wait p95 by queue",
            "Time from enqueue (or due time) to start, 95th percentile, per queue. Orders should stay near zero.",
            (quantile(0.95, "tickwork_task_queue_wait_seconds", by="queue", where=QUEUE), "{{queue}}"),
            unit="s",
            no_value=None,
        ),
        graph(
            "Task duration p95 by actor",
            "95th percentile run time per actor, to find the slow one.",
            (quantile(0.95, DURATION, by="queue, actor", where=QUEUE), "{{queue}} / {{actor}}"),
            unit="s",
            no_value=None,
        ),
        graph(
            "Tasks in flight by queue",
            "Tasks running now, per queue (all worker processes of every group).",
            (total("tickwork_tasks_in_flight", by="queue", where=QUEUE), "{{queue}}"),
        ),
    ]


def dead_letters_and_queues() -> list[PanelBuilder]:
    # Dramatiq counts a delayed message under both queue and queue.DQ: label_replace folds the two into one queue.
    held = (
        'sum by (queue) (label_replace(dramatiq_delayed_messages_inprogress{queue_name=~"($queue)([.]DQ)?"},'
        ' "queue", "$1", "queue_name", "([^.]+).*"))'
    )
    return [
        bars(
            "Dead letters by reason",
            "Messages dead-lettered per interval, by queue and reason (as workers report them).",
            (increase("tickwork_dead_letters_total", by="queue, reason", where=QUEUE), "{{queue}} / {{reason}}"),
        ),
        graph(
            "Queue depth (RabbitMQ)",
            "Messages ready (waiting for a worker) and unacked (prefetched or running) on each work queue.",
            (total("rabbitmq_detailed_queue_messages_ready", by="queue", where=QUEUE), "{{queue}} ready"),
            (total("rabbitmq_detailed_queue_messages_unacked", by="queue", where=QUEUE), "{{queue}} unacked"),
        ),
        graph(
            "Delay and dead-letter queues (RabbitMQ)",
            "Messages in each .DQ (waiting for their time) and .XQ (dead letters) queue.",
            (total("rabbitmq_detailed_queue_messages", by="queue", where='queue=~"($queue)[.](DQ|XQ)"'), "{{queue}}"),
        ),
        graph(
            "Consumers per queue (RabbitMQ)",
            "Consumers RabbitMQ sees on each work queue; 0 with messages ready means nobody works it.",
            (total("rabbitmq_detailed_queue_consumers", by="queue", where=QUEUE), "{{queue}}"),
        ),
        graph(
            "Delayed messages held by workers (Dramatiq)",
            "Delayed messages (retries, ETAs) workers hold until due, per queue; Tickwork re-parks them every"
            " TICKWORK_DELAY_HOLD_SECONDS. Dramatiq counts them under both queue and queue.DQ, so the two are summed.",
            (held, "{{queue}}"),
        ),
        graph(
            "Message errors by actor (Dramatiq)",
            "Exceptions raised by actors per second, retried or not (Dramatiq's own counter).",
            (
                rate(
                    "dramatiq_message_errors_total", by="queue_name, actor_name", where='queue_name=~"($queue)([.]DQ)?"'
                ),
                "{{queue_name}} / {{actor_name}}",
            ),
            unit="reqps",
        ),
    ]


def notifications() -> list[PanelBuilder]:
    return [
        graph(
            "Notifications by channel and outcome",
            "Outbox rows handled per second by the workers, by channel and status: sent, failed (tried again later),"
            " refused (given up: a 4xx, an SMTP 5xx, the SSRF guard, a certificate), skipped_duplicate (a redelivered"
            " message). `tickwork notify outbox --status failed` shows why.",
            (rate("tickwork_notifications_total", by="channel, status", window="5m"), "{{channel}} {{status}}"),
            unit="ops",
        ),
        graph(
            "Notification send time p95",
            "95th percentile of one send's time (SMTP, or HTTP with the retries inside one attempt), by channel.",
            (quantile(0.95, "tickwork_notification_seconds", by="channel", window="5m"), "{{channel}}"),
            unit="s",
        ),
    ]


def api() -> list[PanelBuilder]:
    return [
        graph(
            "API requests by route and status",
            "Requests the REST API answered per second, by route and status code.",
            (rate("tickwork_api_requests_total", by="route, status"), "{{route}} {{status}}"),
            unit="reqps",
        ),
        graph(
            "API latency p95 by route",
            "95th percentile of the time the API took to answer a request, by route.",
            (quantile(0.95, "tickwork_api_request_seconds", by="route"), "{{route}}"),
            unit="s",
            no_value=None,
        ),
    ]


def dashboard() -> Dashboard:
    rows = {
        "Overview": overview(),
        "Tasks": tasks(),
        "Latency": latency(),
        "Dead letters and queues": dead_letters_and_queues(),
        "Notifications": notifications(),
        "API": api(),
    }
    description = "Tasks, latency, dead letters and queues of the Tickwork worker groups, notifications and the API."
    return tickwork_dashboard("tickwork-engine", "Tickwork engine", description, rows, variables=[queue_variable()])
