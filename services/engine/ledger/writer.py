"""Writes ledger updates from one background thread per process, in batches.

Workers must not wait on the database: `record()` and `log()` only put the update on an in-memory
queue. A thread flushes every `flush_interval_s` (or sooner when `max_batch` updates wait), in one
transaction. If the database is down, the batch is kept and retried; nothing is dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from services.engine.ledger.batch import Batch, LogLimits

log = logging.getLogger("tickwork.ledger")

_FLUSH = object()


class LedgerWriter:
    """Batches ledger updates for one process. `start()` before use, `stop()` to flush and end."""

    def __init__(
        self,
        engine: Engine,
        *,
        flush_interval_s: float = 0.1,
        max_batch: int = 2000,
        log_limits: LogLimits | None = None,
        before_write: Callable[[], None] | None = None,
    ) -> None:
        """`engine`: the ledger database's (batches are written with Core, no ORM session).
        `before_write` runs in the writer thread before each batch is written (the worker flushes its
        metrics there, so that a task's final row is never visible before its counts)."""
        self._before_write = before_write
        self._engine = engine
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._flush_interval_s = flush_interval_s
        self._max_batch = max_batch
        self._log_limits = log_limits or LogLimits()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Write what is queued, then end the thread."""
        if self._thread is not None:
            self._stopping.set()
            self.flush(timeout_s)
            self._thread.join(timeout_s)
            self._thread = None

    def record(self, message_id: str, fields: dict[str, Any], *, weak: bool = False) -> None:
        """Queue an update of the task's row (identity fields included; see batch.py)."""
        self._queue.put((message_id, fields, weak))

    def log(self, message_id: str, line: str) -> None:
        """Queue one log line for the task."""
        self._queue.put((message_id, line))

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Block until everything queued before this call is written (or `timeout_s` passes)."""
        if self._thread is None:
            return False
        done = threading.Event()
        self._queue.put((_FLUSH, done))
        return done.wait(timeout_s)

    def _run(self) -> None:
        while True:
            batch, waiters = self._collect()
            if batch:
                if self._before_write is not None:
                    try:
                        self._before_write()
                    except Exception:  # never a reason to hold back the ledger
                        log.exception("ledger_before_write_failed")
                self._write(batch)
            for waiter in waiters:
                waiter.set()
            if self._stopping.is_set() and self._queue.empty():
                return

    def _collect(self) -> tuple[Batch, list[threading.Event]]:
        batch = Batch()
        waiters: list[threading.Event] = []
        try:
            first = self._queue.get(timeout=0.5)  # wakes now and then to notice stop()
        except queue.Empty:
            return batch, waiters
        self._take(first, batch, waiters)
        if not waiters:
            # Let the interval fill the batch, then take it all without a timed wait per update.
            time.sleep(self._flush_interval_s)
        while len(batch) < self._max_batch and not waiters:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            self._take(item, batch, waiters)
        return batch, waiters

    @staticmethod
    def _take(item: Any, batch: Batch, waiters: list[threading.Event]) -> None:
        if item[0] is _FLUSH:
            waiters.append(item[1])
        elif len(item) == 2:
            batch.add_line(item[0], item[1])
        else:
            batch.add(item[0], item[1], weak=item[2])

    def _write(self, batch: Batch) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._engine.begin() as connection:
                    batch.write(connection, self._log_limits)
                return
            except DBAPIError as error:
                if error.connection_invalidated or isinstance(error, OperationalError | InterfaceError):
                    # The database is away: keep the batch and wait for it, nothing is dropped.
                    log.error("ledger_write_failed rows=%d attempt=%d error=%s", len(batch), attempt, error)
                    if self._stopping.is_set() and attempt >= 3:
                        log.error("ledger_write_abandoned rows=%d (stopping)", len(batch))
                        return
                    time.sleep(min(0.5 * attempt, 5.0))
                    continue
                self._write_one_by_one(batch, error)
                return
            except Exception as error:
                self._write_one_by_one(batch, error)
                return

    def _write_one_by_one(self, batch: Batch, error: Exception) -> None:
        # A row the database refuses must not hold back every later update: write the batch task by
        # task and drop only what is refused, loudly.
        log.error("ledger_batch_refused rows=%d error=%s; writing task by task", len(batch), error)
        for part in batch.split():
            try:
                with self._engine.begin() as connection:
                    part.write(connection, self._log_limits)
            except Exception:
                log.exception("ledger_update_dropped task_id=%s", next(iter(part.tasks)))
