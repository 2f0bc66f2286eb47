"""Browsing a large ledger: keyset pages, lookups and short summaries for the operator console.

Every query here is meant to stay on an index with millions of rows: a page is `ORDER BY created_at
DESC, message_id DESC` continued from the last row shown (never OFFSET, never COUNT(*) over the
table), each filter has an index that starts with it (ix_tasks_state_created_id,
ix_tasks_actor_created_id, ix_tasks_queue_created_id, ix_tasks_created_id), and the summaries read
only the last hour's rows (ix_tasks_finished).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, select, tuple_, update
from sqlmodel import Session, col

from services.engine.ledger.states import TaskState
from services.engine.ledger.tasks import TaskFilter
from services.storage.db import as_utc
from services.storage.models import Task


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the (created_at, message_id) of its last row."""

    created_at: datetime
    message_id: str

    def encode(self) -> str:
        text = f"{as_utc(self.created_at).isoformat()}|{self.message_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor | None:
        """The cursor a page link carries, or None if it is not one (a stale or edited link)."""
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            at, _, message_id = text.partition("|")
            return cls(as_utc(datetime.fromisoformat(at)), message_id) if message_id else None
        except ValueError:
            return None


@dataclass(frozen=True)
class TaskSearch:
    """The console's filter: the ledger's, plus a text to find in the (redacted) arguments."""

    where: TaskFilter = field(default_factory=TaskFilter)
    text: str | None = None


@dataclass(frozen=True)
class TaskPage:
    tasks: list[Task]
    next_cursor: Cursor | None  # None on the last page


def page_of_tasks(*, session: Session, search: TaskSearch, after: Cursor | None = None, limit: int = 50) -> TaskPage:
    """Up to `limit` tasks matching `search`, newest first, after `after`."""
    query = select(Task).order_by(col(Task.created_at).desc(), col(Task.message_id).desc()).limit(limit + 1)
    query = _searched(query, search)
    if after is not None:
        query = query.where(tuple_(col(Task.created_at), col(Task.message_id)) < (after.created_at, after.message_id))
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more and rows else None
    return TaskPage(rows, Cursor(as_utc(last.created_at), last.message_id) if last else None)


def tasks_by_id(*, session: Session, message_ids: list[str]) -> list[Task]:
    """The rows of these tasks (primary-key lookups), in no particular order."""
    if not message_ids:
        return []
    return list(session.scalars(select(Task).where(col(Task.message_id).in_(message_ids))))


def matching_ids(*, session: Session, search: TaskSearch, states: tuple[str, ...], limit: int) -> list[str]:
    """Ids of up to `limit` tasks matching `search` whose state is one of `states`, newest first (what
    a bulk action by filter applies to)."""
    allowed = tuple(s for s in (search.where.states or states) if s in states)
    if not allowed:
        return []
    narrowed = replace(search, where=replace(search.where, states=allowed))
    query = _searched(select(col(Task.message_id)).order_by(col(Task.created_at).desc()).limit(limit), narrowed)
    return list(session.scalars(query))


def finished_since(*, session: Session, since: datetime) -> dict[str, int]:
    """How many tasks reached each final state since `since` (a range scan of ix_tasks_finished)."""
    query = select(col(Task.state), func.count()).where(col(Task.finished_at) >= since).group_by(col(Task.state))
    return {state: count for state, count in session.execute(query).all()}


def oldest_waiting(*, session: Session, queue: str) -> datetime | None:
    """When the oldest task still `pending` on `queue` was created (how long its queue keeps work waiting)."""
    query = (
        select(col(Task.created_at))
        .where(col(Task.state) == TaskState.PENDING.value, col(Task.queue) == queue)
        .order_by(col(Task.created_at))
        .limit(1)
    )
    at = session.scalars(query).first()
    return as_utc(at) if at else None


def link_rerun(*, session: Session, message_id: str, rerun_of: str) -> None:
    """Note that task `message_id` was sent again from task `rerun_of`'s arguments."""
    session.execute(update(Task).where(col(Task.message_id) == message_id).values(rerun_of=rerun_of))


def reruns_of(*, session: Session, message_id: str, limit: int = 20) -> list[Task]:
    """Tasks sent again from this one, newest first."""
    query = select(Task).where(col(Task.rerun_of) == message_id).order_by(col(Task.created_at).desc()).limit(limit)
    return list(session.scalars(query))


def _searched(query: Any, search: TaskSearch) -> Any:
    where = search.where
    if len(where.states) == 1:  # equality, so the planner can walk ix_tasks_state_created_id in order
        query = query.where(col(Task.state) == where.states[0])
    elif where.states:
        query = query.where(col(Task.state).in_(where.states))
    if where.actor:
        query = query.where(col(Task.actor) == where.actor)
    if where.queue:
        query = query.where(col(Task.queue) == where.queue)
    if where.since:
        query = query.where(col(Task.created_at) >= where.since)
    if where.until:
        query = query.where(col(Task.created_at) < where.until)
    if search.text:
        # No index finds a substring in JSON: this walks the newest rows first and stops at a page.
        pattern = "%" + search.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(func.lower(cast(Task.args, String)).like(pattern, escape="\\"))
    return query
