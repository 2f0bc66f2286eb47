"""Registers this worker process, keeps its heartbeat fresh, and does the ledger's housekeeping:
tasks of dead workers are reconciled, expired rows deleted. Every worker does it; all of it is
idempotent, so no leader is needed. The heartbeat goes on until the worker has finished its tasks
(a long graceful stop is not a death), and a worker judges its peers only once its own view of
the database is fresh (see ReconcileGate)."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from dramatiq.middleware import Middleware

from services.engine.workers import (
    ReconcileGate,
    heartbeat,
    mark_stopped,
    reconcile_dead_workers,
    register,
    this_worker_id,
)
from services.storage.db import session_scope

log = logging.getLogger("tickwork.workers")


class WorkerHeartbeat(Middleware):
    """One row per worker process in `workers`, updated every few seconds."""

    def __init__(self, *, database_url: str, heartbeat_s: float) -> None:
        self.database_url = database_url
        self.heartbeat_s = heartbeat_s
        self.worker_id = ""
        self.in_flight = self.processed = self.failed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat_thread: threading.Thread | None = None
        self._gate = ReconcileGate(heartbeat_s=heartbeat_s)

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        self.worker_id = this_worker_id()
        queues = sorted(worker.consumer_whitelist or broker.get_declared_queues())
        try:
            with session_scope(self.database_url) as session:
                register(
                    session=session, worker_id=self.worker_id, host=socket.gethostname(), pid=os.getpid(), queues=queues
                )
        except Exception:
            log.exception("worker_register_failed worker=%s", self.worker_id)
        self._beat_thread = threading.Thread(target=self._beat, name="worker-heartbeat", daemon=True)
        self._beat_thread.start()

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        # Its tasks are done: the last heartbeat, then the stop (a heartbeat after it would undo it).
        self._stop.set()
        if self._beat_thread is not None:
            self._beat_thread.join(timeout=10)
        try:
            with session_scope(self.database_url) as session:
                mark_stopped(session=session, worker_id=self.worker_id)
        except Exception:
            log.exception("worker_stop_record_failed worker=%s", self.worker_id)

    def before_process_message(self, broker: Any, message: Any) -> None:
        with self._lock:
            self.in_flight += 1

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        with self._lock:
            self.in_flight -= 1
            self.processed += 1
            self.failed += 1 if exception is not None else 0

    def after_skip_message(self, broker: Any, message: Any) -> None:
        with self._lock:
            self.in_flight -= 1

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                with session_scope(self.database_url) as session:
                    heartbeat(
                        session=session,
                        worker_id=self.worker_id,
                        in_flight=self.in_flight,
                        processed=self.processed,
                        failed=self.failed,
                    )
            except Exception:
                self._gate.heartbeat_failed()
                log.exception("heartbeat_failed worker=%s", self.worker_id)
                continue
            try:
                if self._gate.heartbeat_written():
                    with session_scope(self.database_url) as session:
                        reconciled = reconcile_dead_workers(session=session, heartbeat_s=self.heartbeat_s)
                    if reconciled:
                        log.warning("reconciled_orphans count=%d", reconciled)
            except Exception:
                log.exception("reconcile_failed worker=%s", self.worker_id)
