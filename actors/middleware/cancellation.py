"""Cancellation on every worker: a cancelled message is skipped when delivered, a running one is
interrupted. Requests come from the database at boot (they survive restarts) and from the
`tickwork.cancellations` fanout exchange while running (they reach every process at once).

Placed last in the middleware list, so that it marks a task running just before the actor is
called and finished just after it returns: an interruption never lands in Dramatiq's own code.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from dramatiq.middleware import Middleware, SkipMessage

from actors.cancel_registry import CancelRegistry
from services.engine.cancellation import CancellationListener
from services.engine.ledger.tasks import cancel_requests
from services.storage.db import session_scope

log = logging.getLogger("tickwork.cancellation")

CANCELLED = "tickwork_cancelled"
# Requests older than this are not reloaded: their tasks have long been delivered or expired.
REMEMBER = timedelta(days=7)


class Cancellation(Middleware):
    """Skips or interrupts cancelled tasks (see module docstring)."""

    def __init__(self, *, registry: CancelRegistry, rabbitmq_url: str, database_url: str) -> None:
        self.registry = registry
        self.rabbitmq_url = rabbitmq_url
        self.database_url = database_url
        self.listener: CancellationListener | None = None

    def before_worker_boot(self, broker: Any, worker: Any) -> None:
        # Before any consumer starts: a message cancelled while no worker ran must be known
        # before it can be delivered.
        self._reload()

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        # Listening starts after consumers do, so the listener reloads once bound (see CancellationListener).
        self.listener = CancellationListener(self.rabbitmq_url, on_cancel=self.registry.cancel, on_connect=self._reload)
        self.listener.start()
        if not self.listener.ready.wait(10):
            log.warning("cancellation_listener_not_ready: cancellations reach this worker once it connects")

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        if self.listener is not None:
            self.listener.stop()

    def _reload(self) -> None:
        try:
            with session_scope(self.database_url) as session:
                self.registry.load(cancel_requests(session=session, since=datetime.now(UTC) - REMEMBER))
        except Exception:
            log.exception("cancellation_reload_failed")

    def before_process_message(self, broker: Any, message: Any) -> None:
        if self.registry.is_cancelled(message.message_id):
            message.options[CANCELLED] = True
            raise SkipMessage("cancelled")
        self.registry.started(message.message_id)

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        self.registry.finished(message.message_id)

    def after_skip_message(self, broker: Any, message: Any) -> None:
        self.registry.finished(message.message_id)
