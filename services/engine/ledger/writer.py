"""Writes ledger updates from one background thread per process, in batches.

Workers must not wait on the database: `record()` and `log()` only put the update on an in-memory
queue. A thread flushes every `flush_interval_s` (or sooner when `max_batch` updates wait), in one
transaction. If the database is down, the batch is kept and retried; nothing is dropped.

Invariant for acknowledgements: a message is acknowledged only once the row of its final state is
committed (`when_written`), so a worker killed at any moment leaves either a final row or an
unacknowledged message that RabbitMQ delivers again, never an acked message with a `running` row.
A waiting acknowledgement makes the thread commit at once instead of at the end of its interval
(group commit: every update queued meanwhile goes in the same transaction).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from services.engine.ledger.batch import Batch, LogLimits

log = logging.getLogger("tickwork.ledger")

_FLUSH = object()
_WRITTEN = object()


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
        # The writer's own connection, kept between batches: checking one out of the pool for each
        # (with its pre-ping round trip) cost about a tenth of a worker's CPU. Dropped on any error.
        self._connection: Connection | None = None
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._flush_interval_s = flush_interval_s
        self._max_batch = max_batch
        self._log_limits = log_limits or LogLimits()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        # Set when a `when_written` callback waits: the thread commits without finishing its interval.
        self._urgent = threading.Event()

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

    def when_written(self, callback: Callable[[], None]) -> None:
        """Call `callback` on the writer's thread once everything queued before this call is committed
        (never, if the writer gives up on a batch while stopping). Cheap: it queues, it never waits."""
        self._queue.put((_WRITTEN, callback))
        if not self._urgent.is_set():
            self._urgent.set()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Block until everything queued before this call is written (or `timeout_s` passes)."""
        if self._thread is None:
            return False
        done = threading.Event()
        self._queue.put((_FLUSH, done))
        return done.wait(timeout_s)

    def _run(self) -> None:
        while True:
            batch, waiters, written = self._collect()
            committed = True
            if batch:
                if self._before_write is not None:
                    try:
                        self._before_write()
                    except Exception:  # never a reason to hold back the ledger
                        log.exception("ledger_before_write_failed")
                committed = self._write(batch)
            if committed:
                for callback in written:
                    try:
                        callback()
                    except Exception:
                        log.exception("ledger_written_callback_failed")
            for waiter in waiters:
                waiter.set()
            if self._stopping.is_set() and self._queue.empty():
                self._drop_connection()
                return

    def _collect(self) -> tuple[Batch, list[threading.Event], list[Callable[[], None]]]:
        batch = Batch()
        waiters: list[threading.Event] = []
        written: list[Callable[[], None]] = []
        try:
            first = self._queue.get(timeout=0.5)  # wakes now and then to notice stop()
        except queue.Empty:
            return batch, waiters, written
        self._take(first, batch, waiters, written)
        if not waiters and not written:
            # Let the interval fill the batch (unless an acknowledgement waits for it), then take it
            # all without a timed wait per update.
            self._urgent.wait(self._flush_interval_s)
        self._urgent.clear()
        while len(batch) < self._max_batch and not waiters:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            self._take(item, batch, waiters, written)
        if len(batch) >= self._max_batch:
            self._urgent.set()  # more is queued: no interval before the next batch
        return batch, waiters, written

    @staticmethod
    def _take(item: Any, batch: Batch, waiters: list[threading.Event], written: list[Callable[[], None]]) -> None:
        if item[0] is _FLUSH:
            waiters.append(item[1])
        elif item[0] is _WRITTEN:
            written.append(item[1])
        elif len(item) == 2:
            batch.add_line(item[0], item[1])
        else:
            batch.add(item[0], item[1], weak=item[2])

    def _write(self, batch: Batch) -> bool:
        """Write the batch; False only if it was given up (the database away while stopping)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                self._write_in_transaction(batch)
                return True
            except DBAPIError as error:
                self._drop_connection()
                if error.connection_invalidated or isinstance(error, OperationalError | InterfaceError):
                    # The database is away: keep the batch and wait for it, nothing is dropped.
                    log.error("ledger_write_failed rows=%d attempt=%d error=%s", len(batch), attempt, error)
                    if self._stopping.is_set() and attempt >= 3:
                        log.error("ledger_write_abandoned rows=%d (stopping)", len(batch))
                        return False
                    time.sleep(min(0.5 * attempt, 5.0))
                    continue
                self._write_one_by_one(batch, error)
                return True
            except Exception as error:
                self._drop_connection()
                self._write_one_by_one(batch, error)
                return True

    def _write_in_transaction(self, batch: Batch) -> None:
        if self._connection is None:
            self._connection = self._engine.connect()
        with self._connection.begin():
            batch.write(self._connection, self._log_limits)

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # already broken: the pool discards it
                log.debug("ledger_connection_close_failed", exc_info=True)

    def _write_one_by_one(self, batch: Batch, error: Exception) -> None:
        # A row the database refuses must not hold back every later update: write the batch task by
        # task, and of a refused task at least its state; drop only what is still refused, loudly.
        log.error("ledger_batch_refused rows=%d error=%s; writing task by task", len(batch), error)
        for part in batch.split():
            try:
                with self._engine.begin() as connection:
                    part.write(connection, self._log_limits)
            except Exception as refused:
                log.exception("ledger_update_refused task_id=%s; writing its state only", next(iter(part.tasks)))
                try:
                    with self._engine.begin() as connection:
                        part.essentials(type(refused).__name__).write(connection, self._log_limits)
                except Exception:
                    log.exception("ledger_update_dropped task_id=%s", next(iter(part.tasks)))
