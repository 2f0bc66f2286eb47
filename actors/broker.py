"""Builds the broker and its middleware from the settings and makes it Dramatiq's global broker.

Middleware order matters: `before_*` hooks run top to bottom, `after_*` hooks bottom to top, so the
retry policy decides before the metrics record a task's state. Dramatiq's Callbacks, Pipelines and
ShutdownNotifications are left out: the contract offers none of them, and each costs every message.
"""

from __future__ import annotations

import logging
import sys

import dramatiq
from dramatiq.middleware import CurrentMessage, Middleware, TimeLimit

from actors.cancel_registry import CancelRegistry
from actors.encoder import GuardedJSONEncoder
from actors.middleware.age_limit import AgeLimit
from actors.middleware.cancellation import Cancellation
from actors.middleware.heartbeat import WorkerHeartbeat
from actors.middleware.ledger import TaskLedger
from actors.middleware.long_delays import LongDelays
from actors.middleware.metrics import TickworkMetrics
from actors.middleware.prefetch import Prefetch
from actors.middleware.priority import DefaultPriority
from actors.middleware.retries import RetryPolicyMiddleware
from actors.middleware.scheduled_runs import ScheduledRuns
from actors.middleware.validation import PayloadValidation
from actors.rabbitmq import TickworkBroker
from services.engine.ledger.batch import LogLimits
from services.engine.topology import QUEUES
from services.errors import SettingsError
from services.settings import Settings, get_settings


def build_broker(settings: Settings) -> TickworkBroker:
    """A broker wired with Tickwork's middleware stack."""
    dramatiq.set_encoder(GuardedJSONEncoder(max_bytes=settings.tickwork_max_message_bytes))
    registry = CancelRegistry()
    metrics = TickworkMetrics(metrics_dir=settings.tickwork_metrics_dir)
    ledger: list[Middleware] = []
    if settings.tickwork_ledger_enabled:
        ledger = [
            TaskLedger(
                database_url=settings.database_url,
                registry=registry,
                flush_interval_s=settings.tickwork_ledger_flush_seconds,
                log_limits=LogLimits(settings.tickwork_task_log_max_lines, settings.tickwork_task_log_max_bytes),
                # Counts first, then rows: whoever sees a task final in the ledger sees it counted.
                before_write=metrics.flusher.flush,
            ),
            WorkerHeartbeat(
                database_url=settings.database_url,
                heartbeat_s=settings.tickwork_heartbeat_seconds,
            ),
        ]
    middleware = [
        Prefetch(per_thread=settings.tickwork_prefetch_per_thread),
        LongDelays(hold_ms=int(settings.tickwork_delay_hold_seconds * 1000)),
        metrics,
        PayloadValidation(),
        AgeLimit(),
        ScheduledRuns(),
        *ledger,
        DefaultPriority(),
        TimeLimit(),
        CurrentMessage(),
        RetryPolicyMiddleware(),
        Cancellation(registry=registry, rabbitmq_url=settings.rabbitmq_url, database_url=settings.database_url),
    ]
    broker = TickworkBroker(
        url=settings.rabbitmq_url,
        delay_hold_ms=int(settings.tickwork_delay_hold_seconds * 1000),
        middleware=middleware,
    )
    # Every queue of the topology is consumed even before an actor uses it, so that a message for an
    # actor this worker lacks is dead-lettered with its reason instead of waiting unseen.
    for queue in QUEUES:
        broker.declare_queue(queue)
    return broker


def _settings_or_exit() -> Settings:
    try:
        return get_settings()
    except SettingsError as error:
        print(f"tickwork: {error}", file=sys.stderr)
        raise SystemExit(2) from None


settings = _settings_or_exit()
logging.getLogger("tickwork").setLevel(settings.tickwork_log_level)
broker = build_broker(settings)
dramatiq.set_broker(broker)
