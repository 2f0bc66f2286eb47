"""Reading and changing ledger rows: what the CLI (and later the API) call. Each function takes the
session as a keyword argument and does one thing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from services.engine.ledger.redaction import redact
from services.engine.ledger.states import CANCELLABLE, FINAL, WAITING, TaskState
from services.errors import NotFound, TickworkError
from services.storage.models import Task
from services.storage.upsert import dialect_insert


class TaskNotFound(NotFound):
    """Raised when no ledger row has the given task id."""


class TaskNotCancellable(TickworkError):
    """Raised when a task is already in a final state and cannot be cancelled."""


@dataclass(frozen=True)
class TaskFilter:
    """Which tasks to list; every field is optional."""

    states: tuple[str, ...] = ()
    actor: str | None = None
    queue: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def record_submitted(
    *,
    session: Session,
    message_id: str,
    actor: str,
    queue: str,
    priority: str,
    args: dict[str, Any],
    scheduled_for: datetime | None = None,
) -> None:
    """A `pending` row for a task a client is about to send; never overwrites a row a worker wrote."""
    record_submitted_many(
        session=session, tasks=[SubmittedTask(message_id, actor, queue, priority, args, scheduled_for)]
    )


@dataclass(frozen=True)
class SubmittedTask:
    """A task a client sent, as its `pending` row records it."""

    message_id: str
    actor: str
    queue: str
    priority: str
    args: dict[str, Any]
    scheduled_for: datetime | None = None


def record_submitted_many(*, session: Session, tasks: Sequence[SubmittedTask]) -> None:
    """`pending` rows for tasks a client sent, in one statement (a batch of 1,000 is one round trip
    of rows, not 1,000); never overwrites a row a worker wrote."""
    if not tasks:
        return
    rows = [
        _new_row(t.message_id, t.actor, t.queue, t.priority, t.args, t.scheduled_for, TaskState.PENDING) for t in tasks
    ]
    statement = dialect_insert(session.get_bind().dialect.name, Task.__table__)  # type: ignore[attr-defined]
    session.execute(statement.on_conflict_do_nothing(index_elements=["message_id"]), rows)


def record_skipped(
    *,
    session: Session,
    message_id: str,
    actor: str,
    queue: str,
    priority: str,
    args: dict[str, Any],
    scheduled_for: datetime,
    reason: str,
) -> None:
    """A `skipped` row for a scheduled run that was never sent because it was too late to matter."""
    row = _new_row(message_id, actor, queue, priority, args, scheduled_for, TaskState.SKIPPED)
    row.update(finished_at=row["created_at"], error_type="Missed", error_message=reason[:4000])
    _insert_new(session, row)


def _new_row(
    message_id: str,
    actor: str,
    queue: str,
    priority: str,
    args: dict[str, Any],
    scheduled_for: datetime | None,
    state: TaskState,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "message_id": message_id,
        "actor": actor,
        "queue": queue,
        "priority": priority,
        "args": redact(args),
        "state": state.value,
        "attempts": 0,
        "progress": 0.0,
        "created_at": now,
        "updated_at": now,
        "scheduled_for": scheduled_for,
        "log_tail": "",
    }


def _insert_new(session: Session, row: dict[str, Any]) -> None:
    statement = dialect_insert(session.get_bind().dialect.name, Task)
    session.execute(statement.values(row).on_conflict_do_nothing(index_elements=["message_id"]))


def get_task(*, session: Session, message_id: str) -> Task:
    """The row of one task; raises TaskNotFound."""
    task = session.get(Task, message_id)
    if task is None:
        raise TaskNotFound(f"no task {message_id!r}")
    return task


def list_tasks(*, session: Session, where: TaskFilter = TaskFilter(), limit: int = 50, offset: int = 0) -> list[Task]:
    """Tasks matching `where`, newest first."""
    query = select(Task).order_by(col(Task.created_at).desc(), col(Task.message_id)).limit(limit).offset(offset)
    return list(session.scalars(_filtered(query, where)))


def count_tasks(*, session: Session, where: TaskFilter = TaskFilter()) -> dict[str, int]:
    """How many tasks match `where`, by state."""
    query = _filtered(select(col(Task.state), func.count()).group_by(Task.state), where)
    return {state: count for state, count in session.execute(query).all()}


def task_log(*, session: Session, message_id: str) -> list[str]:
    """The task's kept log lines, oldest first."""
    task = get_task(session=session, message_id=message_id)
    return task.log_tail.splitlines() if task.log_tail else []


def request_cancel(*, session: Session, message_id: str) -> Task:
    """Mark a task cancelled-on-request. A waiting task is `cancelled` at once (its message is skipped
    when delivered); a running one stays `running` until its worker stops it."""
    task = get_task(session=session, message_id=message_id)
    if task.state not in CANCELLABLE:
        raise TaskNotCancellable(f"task {message_id} is already {task.state}")
    now = datetime.now(UTC)
    task.cancel_requested_at = task.cancel_requested_at or now
    if task.state in WAITING:
        task.state = TaskState.CANCELLED.value
        task.finished_at = now
    task.updated_at = now
    session.add(task)
    session.flush()
    return task


def cancel_requests(*, session: Session, since: datetime) -> set[str]:
    """Ids of tasks whose cancellation was requested after `since` (what a booting worker loads)."""
    query = select(col(Task.message_id)).where(col(Task.cancel_requested_at) >= since)
    return set(session.scalars(query))


def purge_finished(*, session: Session, older_than: datetime, batch_size: int = 5000) -> int:
    """Delete final rows (and their logs) finished before `older_than`, in short batches."""
    total = 0
    while True:
        ids = list(
            session.scalars(
                select(col(Task.message_id))
                .where(col(Task.state).in_([s.value for s in FINAL]), col(Task.finished_at) < older_than)
                .limit(batch_size)
            )
        )
        if not ids:
            return total
        session.execute(delete(Task).where(col(Task.message_id).in_(ids)))
        session.commit()
        total += len(ids)


def _filtered(query: Any, where: TaskFilter) -> Any:
    if where.states:
        query = query.where(col(Task.state).in_(where.states))
    if where.actor:
        query = query.where(Task.actor == where.actor)
    if where.queue:
        query = query.where(Task.queue == where.queue)
    if where.since:
        query = query.where(col(Task.created_at) >= where.since)
    if where.until:
        query = query.where(col(Task.created_at) < where.until)
    return query
