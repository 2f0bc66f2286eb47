"""`tickwork tasks ...` and `tickwork workers`: the ledger from a shell."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from services.cli.database import in_transaction, sessions
from services.cli.output import emit, emit_one
from services.cli.settings import Failure, settings_or_exit
from services.engine.ledger import tasks as ledger
from services.engine.ledger.states import TaskState
from services.errors import TickworkError

TASK_COLUMNS = ("message_id", "actor", "queue", "state", "attempts", "progress", "created_at", "finished_at")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


@click.group()
def tasks() -> None:
    """The task ledger: list, inspect, follow, cancel and expire tasks."""


@tasks.command("list")
@click.option("--state", "states", multiple=True, type=click.Choice([s.value for s in TaskState]))
@click.option("--actor")
@click.option("--queue")
@click.option("--since-minutes", type=int, help="Only tasks created in the last N minutes.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@json_option
def list_tasks(
    states: tuple[str, ...], actor: str | None, queue: str | None, since_minutes: int | None, limit: int, as_json: bool
) -> None:
    """Tasks, newest first."""
    since = datetime.now(UTC) - timedelta(minutes=since_minutes) if since_minutes else None
    where = ledger.TaskFilter(states=states, actor=actor, queue=queue, since=since)
    found = in_transaction(lambda session: ledger.list_tasks(session=session, where=where, limit=limit))
    emit([t.model_dump() for t in found], TASK_COLUMNS, as_json=as_json)


@tasks.command("active")
@json_option
def active(as_json: bool) -> None:
    """Tasks pending, running or retrying."""
    where = ledger.TaskFilter(states=("pending", "running", "retrying"))
    found = in_transaction(lambda session: ledger.list_tasks(session=session, where=where, limit=1000))
    emit([t.model_dump() for t in found], (*TASK_COLUMNS[:6], "current_step", "worker"), as_json=as_json)


@tasks.command("show")
@click.argument("task_id")
@json_option
def show(task_id: str, as_json: bool) -> None:
    """Everything the ledger knows about one task (log lines: `tasks logs`)."""
    try:
        task = in_transaction(lambda session: ledger.get_task(session=session, message_id=task_id))
    except TickworkError as error:
        raise Failure(str(error)) from None
    emit_one(task.model_dump(exclude={"log_tail"}), as_json=as_json)


@tasks.command("logs")
@click.argument("task_id")
def logs(task_id: str) -> None:
    """The task's kept log lines."""
    try:
        lines = in_transaction(lambda session: ledger.task_log(session=session, message_id=task_id))
    except TickworkError as error:
        raise Failure(str(error)) from None
    for line in lines:
        click.echo(line)


@tasks.command("cancel")
@click.argument("task_id")
def cancel(task_id: str) -> None:
    """Cancel a pending task (skipped when delivered) or a running one (interrupted)."""
    from services.engine.cancellation import RabbitBroadcast, cancel_task

    settings = settings_or_exit()
    broadcast = RabbitBroadcast(rabbitmq_url=settings.rabbitmq_url)
    try:
        task = cancel_task(task_id, session_factory=sessions(), broadcast=broadcast)
    except TickworkError as error:
        raise Failure(str(error)) from None
    stops = "its worker interrupts it" if task.state == "running" else "its message is skipped when delivered"
    click.echo(f"cancelled {task_id} ({task.actor}, was {task.state}): {stops}")


@tasks.command("purge")
@click.option("--older-than-days", type=float, default=None, help="Default: TICKWORK_LEDGER_RETENTION_DAYS.")
def purge(older_than_days: float | None) -> None:
    """Delete finished tasks (and their logs) older than the retention period."""
    settings = settings_or_exit()
    days = older_than_days if older_than_days is not None else settings.tickwork_ledger_retention_days
    older_than = datetime.now(UTC) - timedelta(days=days)
    deleted = in_transaction(lambda session: ledger.purge_finished(session=session, older_than=older_than))
    click.echo(f"deleted {deleted} finished task(s) older than {days:g} day(s)")


@click.command()
@json_option
def workers(as_json: bool) -> None:
    """Worker processes: alive, dead (silent too long) or stopped in the last hour."""
    from services.engine.workers import list_workers, worker_status

    settings = settings_or_exit()
    now = datetime.now(UTC)
    rows = [
        {**worker.model_dump(), "status": worker_status(worker, now, settings.tickwork_heartbeat_seconds)}
        for worker in in_transaction(lambda session: list_workers(session=session))
    ]
    emit(
        rows,
        ("id", "status", "queues", "started_at", "heartbeat_at", "in_flight", "processed", "failed"),
        as_json=as_json,
    )
