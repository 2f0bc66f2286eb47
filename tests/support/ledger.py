"""Reading the ledger from tests."""

from __future__ import annotations

from services.engine.ledger.tasks import TaskFilter, count_tasks, list_tasks
from services.storage.db import session_scope
from services.storage.models import Task
from tests.support.workers import wait_for


def row(database_url: str, message_id: str) -> Task | None:
    with session_scope(database_url) as session:
        return session.get(Task, message_id)


def wait_state(database_url: str, message_id: str, *states: str, timeout: float = 15) -> Task:
    def reached() -> Task | None:
        task = row(database_url, message_id)
        return task if task is not None and task.state in states else None

    return wait_for(reached, timeout, f"task {message_id} to be {'/'.join(states)}", interval=0.05)


def states_seen(database_url: str, message_id: str, until: set[str], timeout: float = 15) -> list[str]:
    """Every distinct state the row goes through until one of `until` (polled every 20 ms)."""
    seen: list[str] = []

    def done() -> bool:
        task = row(database_url, message_id)
        if task is not None and (not seen or seen[-1] != task.state):
            seen.append(task.state)
        return bool(seen) and seen[-1] in until

    wait_for(done, timeout, f"task {message_id} to reach {until}", interval=0.02)
    return seen


def all_tasks(database_url: str) -> list[Task]:
    with session_scope(database_url) as session:
        return list_tasks(session=session, limit=1_000_000)


def counts(database_url: str) -> dict[str, int]:
    with session_scope(database_url) as session:
        return count_tasks(session=session, where=TaskFilter())
