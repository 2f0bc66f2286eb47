"""This worker process's view of cancellations: which tasks were cancelled, which it is running,
and the interruption of a running one."""

from __future__ import annotations

import logging
import threading

from actors.internals import raise_thread_exception
from services.errors import TaskCancelled

log = logging.getLogger("tickwork.cancellation")


class CancelRegistry:
    """Cancelled task ids and the threads running tasks, behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled: set[str] = set()
        self._running: dict[str, int] = {}

    def is_cancelled(self, message_id: str) -> bool:
        return message_id in self._cancelled

    def load(self, message_ids: set[str]) -> None:
        """Add cancellations read from the database (at boot and after a reconnect)."""
        for message_id in message_ids:
            self.cancel(message_id)

    def cancel(self, message_id: str) -> None:
        """Remember the cancellation and interrupt the task if this process is running it."""
        with self._lock:
            self._cancelled.add(message_id)
            thread_id = self._running.pop(message_id, None)
        if thread_id is not None:
            # Forcible: raised in the task's thread at its next Python instruction. A blocking call
            # in C is interrupted only when it returns, which is why blocking I/O has timeouts.
            log.info("interrupting task_id=%s", message_id)
            raise_thread_exception(thread_id, TaskCancelled)

    def started(self, message_id: str) -> None:
        with self._lock:
            self._running[message_id] = threading.get_ident()

    def finished(self, message_id: str) -> None:
        with self._lock:
            self._running.pop(message_id, None)
