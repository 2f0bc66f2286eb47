"""A process's Prometheus series of one kind, created once, at first use.

prometheus_client is imported only when a factory first runs, never at import time: a worker
chooses multiprocess storage at boot (see actors/middleware/metrics.py), and an earlier import would
fix in-memory storage for good. The factory's series go to the default registry, which a
single-process server exposes and from which workers' multiprocess files are collected.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class LazySeries(Generic[T]):
    """Called, returns this process's one `factory()`, made on the first call under a lock
    (prometheus_client refuses to register the same series twice)."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._made: T | None = None
        self._lock = threading.Lock()

    def __call__(self) -> T:
        with self._lock:
            if self._made is None:
                self._made = self._factory()
            return self._made
