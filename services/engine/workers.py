"""Worker processes: registration, heartbeats, and what happens to tasks of a worker that died.

A worker is `alive` while it heartbeats, `dead` once silent for MISSED_HEARTBEATS heartbeats, and
`stopped` once it shut down cleanly (after its last heartbeat). A heartbeat always brings a worker
back to `alive`: a database outage silences live workers, it does not kill them. A dead worker's
`running` rows become `retrying`: its messages were not acknowledged (an ack waits for the row of the
task's final state, see services.engine.ledger.writer), so RabbitMQ delivers them again.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
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
    """Record a sign of life; it clears a stop recorded meanwhile, since the worker is evidently running."""
    session.execute(
        update(WorkerProcess)
        .where(col(WorkerProcess.id) == worker_id)
        .values(
            heartbeat_at=datetime.now(UTC), stopped_at=None, in_flight=in_flight, processed=processed, failed=failed
        )
    )


def mark_stopped(*, session: Session, worker_id: str) -> None:
    """Record a clean stop; call it after the worker's last heartbeat."""
    session.execute(
        update(WorkerProcess)
        .where(col(WorkerProcess.id) == worker_id)
        .values(stopped_at=datetime.now(UTC), in_flight=0)
    )


def silence_limit(heartbeat_s: float) -> timedelta:
    """How long a worker may go without a heartbeat before it counts as dead."""
    return timedelta(seconds=MISSED_HEARTBEATS * heartbeat_s)


def is_dead(worker: WorkerProcess, now: datetime, heartbeat_s: float) -> bool:
    """Whether a worker that has not stopped missed too many heartbeats."""
    return worker.stopped_at is None and now - as_utc(worker.heartbeat_at) > silence_limit(heartbeat_s)


def worker_status(worker: WorkerProcess, now: datetime, heartbeat_s: float) -> str:
    """`alive`, `dead` (silent too long) or `stopped`, as the CLI and the API show it."""
    if worker.stopped_at:
        return "stopped"
    return "dead" if is_dead(worker, now, heartbeat_s) else "alive"


def list_workers(*, session: Session, include_stopped_for: timedelta = timedelta(hours=1)) -> list[WorkerProcess]:
    """Workers running, and those dead or stopped within `include_stopped_for`, newest first."""
    cutoff = datetime.now(UTC) - include_stopped_for
    query = (
        select(WorkerProcess)
        .where(
            (col(WorkerProcess.stopped_at).is_(None) & (col(WorkerProcess.heartbeat_at) >= cutoff))
            | (col(WorkerProcess.stopped_at) >= cutoff)
        )
        .order_by(col(WorkerProcess.started_at).desc())
    )
    return list(session.exec(query))


LOST_MESSAGE = (
    "the worker running this task went silent (killed, or cut off for too long) before its final state "
    "was written; its message was not acknowledged, so RabbitMQ delivers it again"
)


def reconcile_dead_workers(*, session: Session, heartbeat_s: float) -> int:
    """Tasks left `running` by a worker silent too long (dead, or stopped since) become `retrying`;
    returns how many rows changed. Idempotent: every worker runs it on its heartbeat (see ReconcileGate).

    `retrying` is a promise that holds: an acknowledgement waits for the row of the task's final state,
    so a row still `running` means its message was never acked, and RabbitMQ redelivers an unacked
    message once the dead worker's connection is gone. The redelivered run overwrites this row."""
    now = datetime.now(UTC)
    silent = select(WorkerProcess.id).where(col(WorkerProcess.heartbeat_at) < now - silence_limit(heartbeat_s))
    result = session.execute(
        update(Task)
        .where(col(Task.state) == TaskState.RUNNING.value, col(Task.worker).in_(silent))
        .values(state=TaskState.RETRYING.value, error_type="WorkerLost", error_message=LOST_MESSAGE, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


class ReconcileGate:
    """Whether this worker may judge its peers dead: only once it has itself reached the database for
    a whole silence limit. After a database outage every heartbeat is stale at once; the first worker
    back must give its peers time to heartbeat before it takes them for dead."""

    def __init__(self, *, heartbeat_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit_s = silence_limit(heartbeat_s).total_seconds()
        self._clock = clock
        self._reachable_since: float | None = None

    def heartbeat_written(self) -> bool:
        """Call after each heartbeat that reached the database; True when reconciling is fair."""
        now = self._clock()
        if self._reachable_since is None:
            self._reachable_since = now
        return now - self._reachable_since >= self._limit_s

    def heartbeat_failed(self) -> None:
        self._reachable_since = None
