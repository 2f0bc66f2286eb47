"""Worker processes: registration, heartbeats, and what happens to tasks of a worker that died."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.engine.ledger.states import TaskState
from services.storage.db import as_utc
from services.storage.models import Task, WorkerProcess


def this_worker_id() -> str:
    """How this process is known in the registry and in the ledger's `worker` column."""
    return f"{socket.gethostname()}:{os.getpid()}"


# A worker silent for this many heartbeats is dead (a GC pause or a busy CPU is not death).
MISSED_HEARTBEATS = 6


def register(*, session: Session, worker_id: str, host: str, pid: int, queues: list[str]) -> None:
    now = datetime.now(UTC)
    session.merge(
        WorkerProcess(
            id=worker_id, host=host, pid=pid, queues=",".join(sorted(queues)), started_at=now, heartbeat_at=now
        )
    )


def heartbeat(*, session: Session, worker_id: str, in_flight: int, processed: int, failed: int) -> None:
    session.execute(
        update(WorkerProcess)
        .where(col(WorkerProcess.id) == worker_id)
        .values(heartbeat_at=datetime.now(UTC), in_flight=in_flight, processed=processed, failed=failed)
    )


def mark_stopped(*, session: Session, worker_id: str) -> None:
    session.execute(
        update(WorkerProcess)
        .where(col(WorkerProcess.id) == worker_id)
        .values(stopped_at=datetime.now(UTC), in_flight=0)
    )


def is_dead(worker: WorkerProcess, now: datetime, heartbeat_s: float) -> bool:
    """Whether a worker that has not stopped missed too many heartbeats."""
    heartbeat_at = as_utc(worker.heartbeat_at)
    return worker.stopped_at is None and now - heartbeat_at > timedelta(seconds=MISSED_HEARTBEATS * heartbeat_s)


def worker_status(worker: WorkerProcess, now: datetime, heartbeat_s: float) -> str:
    """`alive`, `dead` (silent too long) or `stopped`, as the CLI and the API show it."""
    if worker.stopped_at:
        return "stopped"
    return "dead" if is_dead(worker, now, heartbeat_s) else "alive"


def list_workers(*, session: Session, include_stopped_for: timedelta = timedelta(hours=1)) -> list[WorkerProcess]:
    """Workers running, dead, or stopped within `include_stopped_for`, newest first."""
    cutoff = datetime.now(UTC) - include_stopped_for
    query = (
        select(WorkerProcess)
        .where((col(WorkerProcess.stopped_at).is_(None)) | (col(WorkerProcess.stopped_at) >= cutoff))
        .order_by(col(WorkerProcess.started_at).desc())
    )
    return list(session.exec(query))


def reconcile_dead_workers(*, session: Session, heartbeat_s: float) -> int:
    """Tasks left `running` by a dead worker become `retrying` (RabbitMQ redelivers their message);
    returns how many rows changed. Idempotent: every worker runs it on its heartbeat."""
    now = datetime.now(UTC)
    dead = [
        w.id
        for w in session.exec(select(WorkerProcess).where(col(WorkerProcess.stopped_at).is_(None)))
        if is_dead(w, now, heartbeat_s)
    ]
    if not dead:
        return 0
    result = session.execute(
        update(Task)
        .where(col(Task.state) == TaskState.RUNNING.value, col(Task.worker).in_(dead))
        .values(
            state=TaskState.RETRYING.value,
            error_type="WorkerLost",
            error_message="the worker running this task stopped heartbeating; RabbitMQ redelivers the message",
            updated_at=now,
        )
    )
    session.execute(update(WorkerProcess).where(col(WorkerProcess.id).in_(dead)).values(stopped_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
