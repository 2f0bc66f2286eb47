"""Writes every task's life into the ledger: each message a worker sees gets a row keyed by its id,
whoever sent it. Writes go through the process's LedgerWriter, so the worker never waits on SQL.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dramatiq.common import q_name
from dramatiq.middleware import Middleware

from actors.cancel_registry import CancelRegistry
from actors.encoder import REJECTED_ACTOR, REJECTION
from actors.middleware.age_limit import TOO_OLD
from actors.middleware.cancellation import CANCELLED
from actors.middleware.scheduled_runs import OUTDATED
from actors.task_context import TaskContext, bind, bound_task
from services.engine.delays import DUE_AT
from services.engine.error_text import error_message, error_traceback
from services.engine.ledger.batch import LogLimits
from services.engine.ledger.redaction import redact
from services.engine.ledger.states import TaskState
from services.engine.ledger.writer import LedgerWriter
from services.engine.priority import Priority
from services.engine.workers import this_worker_id
from services.errors import TaskCancelled
from services.storage.db import make_engine
from services.storage.migrate import is_current

log = logging.getLogger("tickwork.ledger")


def _at(millis: float | None) -> datetime | None:
    return datetime.fromtimestamp(millis / 1000, UTC) if millis else None


# (actor, queue, priority) of the row per (actor name, queue name, AMQP priority) as messages carry
# them: the same few combinations over and over. Names come from the wire, so only so many are kept.
_ROUTING: dict[tuple[str, str, int | None], tuple[str, str, str]] = {}


def _routing(message: Any, queue: str | None) -> tuple[str, str, str]:
    priority = message.options.get("broker_priority")
    key = (message.actor_name, queue or message.queue_name, priority)
    routing = _ROUTING.get(key) if priority is None or type(priority) is int else None
    if routing is None:
        routing = (
            message.actor_name[:128],
            (queue or q_name(message.queue_name))[:64],
            Priority.from_amqp(priority).value,
        )
        if len(_ROUTING) < 1000 and (priority is None or type(priority) is int):
            _ROUTING[key] = routing
    return routing


def identity(message: Any, queue: str | None = None) -> dict[str, Any]:
    """The fields every update of this message's row carries."""
    actor, queue_name, priority = _routing(message, queue)
    return {
        "actor": actor,
        "queue": queue_name,
        "priority": priority,
        "args": redact(message.kwargs) if isinstance(message.kwargs, dict) else {},
        "created_at": _at(message.message_timestamp) or datetime.now(UTC),
        "attempts": int(message.options.get("retries", 0)) + 1,
    }


def summarize(result: Any) -> str | None:
    """A short, readable form of an actor's return value."""
    if result is None:
        return None
    try:
        text = json.dumps(result, default=str)
    except (TypeError, ValueError):
        text = repr(result)
    return text[:2000]


def _error_type(dead_letter: dict[str, Any]) -> str:
    """A rejection is named by its reason (invalid_payload, ...), a failure by its exception class."""
    if dead_letter.get("error_type") in (None, "MessageRejected", "ActorNotFound", "Rejected"):
        return str(dead_letter.get("reason", "failed"))
    return str(dead_letter["error_type"])


class _ResultsAreKept(logging.Filter):
    """Dramatiq warns that a returned value is discarded without its Results middleware; the
    ledger keeps a summary of it, so the warning is wrong here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned a value that is not None" not in record.getMessage()


class TaskLogHandler(logging.Handler):
    """Copies log records emitted inside a running task to that task's ledger row."""

    def emit(self, record: logging.LogRecord) -> None:
        context = bound_task()
        if context is not None and record.name != log.name:
            context.log(self.format(record))


class TaskLedger(Middleware):
    """Records state transitions, progress, logs, errors and results of every task."""

    def __init__(
        self,
        *,
        database_url: str,
        registry: CancelRegistry,
        flush_interval_s: float,
        log_limits: LogLimits,
        before_write: Callable[[], None] | None = None,
    ) -> None:
        self.before_write = before_write
        self.database_url = database_url
        self.registry = registry
        self.flush_interval_s = flush_interval_s
        self.log_limits = log_limits
        self.writer: LedgerWriter | None = None
        self.worker_id = ""
        # Identity of the messages this process is running, computed once per run (it is on every update).
        self._identities: dict[str, dict[str, Any]] = {}

    # -- process lifecycle --------------------------------------------------------------------------
    def after_process_boot(self, broker: Any) -> None:
        logging.getLogger("alembic").setLevel(logging.WARNING)  # its set-up chatter, once per process
        if not is_current(self.database_url):
            print("tickwork: the database is not migrated; run `tickwork db upgrade` first", file=sys.stderr)
            raise SystemExit(2)
        self.worker_id = this_worker_id()
        self.writer = LedgerWriter(
            make_engine(self.database_url),
            flush_interval_s=self.flush_interval_s,
            log_limits=self.log_limits,
            before_write=self.before_write,
        )
        self.writer.start()
        # Acknowledgements wait for the writer: an ack never overtakes the row it finishes.
        broker.ack_barrier = self.writer
        handler = TaskLogHandler(level=logging.INFO)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)
        logging.getLogger("dramatiq.worker.WorkerThread").addFilter(_ResultsAreKept())

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        if self.writer is not None:
            self.writer.stop()

    # -- message lifecycle --------------------------------------------------------------------------
    def before_delay_message(self, broker: Any, message: Any) -> None:
        waiting = TaskState.RETRYING if message.options.get("retries") else TaskState.PENDING
        due = message.options.get(DUE_AT) or message.options.get("eta")
        self._record(message, {"state": waiting.value, "scheduled_for": _at(due)}, weak=True)

    def before_process_message(self, broker: Any, message: Any) -> None:
        if self.registry.is_cancelled(message.message_id):
            return  # the cancellation middleware skips it; after_skip_message records it
        ident = self._identities[message.message_id] = identity(message)
        fields = {
            **ident,
            "state": TaskState.RUNNING.value,
            "started_at": datetime.now(UTC),
            "finished_at": None,
            "worker": self.worker_id,
            "progress": 0.0,
            "current_step": None,
        }
        bind(TaskContext(message.message_id, ident, self.writer, self.registry.is_cancelled))
        if self.writer is not None:
            self.writer.record(message.message_id, fields)

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        bind(None)
        now = datetime.now(UTC)
        if exception is None:
            self._record(
                message,
                {
                    "state": TaskState.COMPLETED.value,
                    "finished_at": now,
                    "progress": 1.0,
                    "result_summary": summarize(result),
                    "error_type": None,
                    "error_message": None,
                    "error_traceback": None,
                },
            )
            return
        if isinstance(exception, TaskCancelled):
            state = TaskState.CANCELLED
        else:
            state = TaskState.FAILED if message.failed else TaskState.RETRYING
        self._record(
            message,
            {
                "state": state.value,
                "finished_at": now if state is not TaskState.RETRYING else None,
                "error_type": type(exception).__name__,
                "error_message": error_message(exception),  # never SQL text (services/engine/error_text.py)
                "error_traceback": error_traceback(exception),
            },
        )

    def after_skip_message(self, broker: Any, message: Any) -> None:
        bind(None)
        now = datetime.now(UTC)
        if message.options.get(CANCELLED):
            self._record(message, {"state": TaskState.CANCELLED.value, "finished_at": now})
        elif message.options.get(TOO_OLD) or message.options.get(OUTDATED):
            self._record(
                message,
                {
                    "state": TaskState.SKIPPED.value,
                    "finished_at": now,
                    "error_type": "TooOld" if message.options.get(TOO_OLD) else "Outdated",
                    "error_message": message.options.get(TOO_OLD) or message.options[OUTDATED],
                },
            )
        elif message.options.get(REJECTION):
            rejection = message.options[REJECTION]
            self._record(
                message,
                {
                    "state": TaskState.FAILED.value,
                    "finished_at": now,
                    "error_type": rejection["reason"],
                    "error_message": rejection["detail"],
                },
            )

    def after_nack(self, broker: Any, message: Any) -> None:
        # Every dead letter, including messages no actor ever saw (unreadable, unknown actor).
        record = message.options.get("dead_letter") or {}
        actor_name = "(unreadable)" if message.actor_name == REJECTED_ACTOR else message.actor_name
        fields = {
            **identity(message, record.get("queue")),
            "actor": actor_name[:128],
            "state": TaskState.FAILED.value,
            "finished_at": datetime.now(UTC),
            "error_type": _error_type(record),
            "error_message": record.get("error"),
        }
        if record.get("traceback"):
            fields["error_traceback"] = record["traceback"]
        if self.writer is not None:
            self.writer.record(message.message_id, fields)

    def _record(self, message: Any, fields: dict[str, Any], *, weak: bool = False) -> None:
        if self.writer is not None:
            ident = self._identities.pop(message.message_id, None) or identity(message)
            self.writer.record(message.message_id, {**ident, **fields}, weak=weak)
