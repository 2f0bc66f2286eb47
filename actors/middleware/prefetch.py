"""Keeps prefetch small so that priorities hold.

Dramatiq prefetches twice as many messages as threads per queue; a prefetched message has left
RabbitMQ's priority queue, so a critical message arriving later waits behind all of them.
"""

from __future__ import annotations

from typing import Any

from dramatiq.middleware import Middleware


class Prefetch(Middleware):
    """Sets each work-queue consumer's prefetch to `per_thread` x worker threads."""

    def __init__(self, *, per_thread: int) -> None:
        self.per_thread = per_thread

    def before_worker_boot(self, broker: Any, worker: Any) -> None:
        # Consumers are created after this hook, with worker.queue_prefetch.
        worker.queue_prefetch = max(1, worker.worker_threads * self.per_thread)
