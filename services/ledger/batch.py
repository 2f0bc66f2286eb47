"""One flush of the ledger: updates coalesced per task and written in a handful of statements.

Every update carries the task's identity (actor, queue, ...), so a flush only ever upserts whole
rows; updates of one shape go in one executemany. A "weak" update (a message seen waiting in a delay
queue) changes the state only while the task is still waiting, so a late one never undoes progress
made meanwhile by another process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, case, literal_column, select, update
from sqlalchemy.engine import Connection

from services.ledger.states import WAITING
from services.storage.models import Task
from services.storage.upsert import dialect_insert

TASKS = Task.__table__  # type: ignore[attr-defined]
# Columns an update never overwrites: the first sighting's creation time, and the cancel request
# that only `cancel_task` sets.
KEEP_ON_CONFLICT = {"message_id", "created_at", "cancel_requested_at", "log_tail"}


@dataclass(frozen=True)
class LogLimits:
    """A task keeps its last `max_lines` log lines, and at most `max_bytes` of them."""

    max_lines: int = 200
    max_bytes: int = 16 * 1024

    def tail(self, text: str) -> str:
        lines = text.splitlines()[-self.max_lines :]
        while lines and len("\n".join(lines).encode()) > self.max_bytes:
            lines.pop(0)
        return "\n".join(lines)


@dataclass
class Pending:
    """Everything one task's updates since the last flush add up to."""

    fields: dict[str, Any] = field(default_factory=dict)
    weak: bool = True
    lines: list[str] = field(default_factory=list)


class Batch:
    """Updates gathered for one flush, coalesced per task in arrival order."""

    def __init__(self) -> None:
        self.tasks: dict[str, Pending] = {}

    def __len__(self) -> int:
        return len(self.tasks)

    def add(self, message_id: str, fields: dict[str, Any], *, weak: bool = False) -> None:
        pending = self.tasks.setdefault(message_id, Pending())
        if weak and not pending.weak and "state" in fields:
            # A strong state already seen in this batch wins over a later "still waiting".
            fields = {k: v for k, v in fields.items() if k != "state"}
        pending.fields.update(fields)
        pending.weak = pending.weak and weak

    def split(self) -> list[Batch]:
        """One batch per task, to find the one a failing write chokes on."""
        parts = []
        for message_id, pending in self.tasks.items():
            part = Batch()
            part.tasks[message_id] = pending
            parts.append(part)
        return parts

    def add_line(self, message_id: str, line: str) -> None:
        self.tasks.setdefault(message_id, Pending()).lines.append(line)

    def write(self, connection: Connection, limits: LogLimits) -> None:
        now = datetime.now(UTC)
        shapes: dict[tuple[tuple[str, ...], bool], list[dict[str, Any]]] = {}
        for message_id, pending in self.tasks.items():
            if "actor" not in pending.fields:
                continue  # only log lines for this task in this batch
            row = {**pending.fields, "message_id": message_id, "updated_at": now}
            shapes.setdefault((tuple(sorted(row)), pending.weak), []).append(row)
        for (columns, weak), rows in shapes.items():
            connection.execute(_upsert(connection, columns, weak=weak), rows)
        self._append_logs(connection, limits)

    def _append_logs(self, connection: Connection, limits: LogLimits) -> None:
        with_lines = {mid: p.lines for mid, p in self.tasks.items() if p.lines}
        if not with_lines:
            return
        current: dict[str, str] = dict(
            connection.execute(
                select(TASKS.c.message_id, TASKS.c.log_tail).where(TASKS.c.message_id.in_(list(with_lines)))
            ).all()
        )
        rows = [
            {"mid": mid, "tail": limits.tail("\n".join(filter(None, [current[mid], *lines])))}
            for mid, lines in with_lines.items()
            if mid in current
        ]
        if rows:
            statement = update(TASKS).where(TASKS.c.message_id == bindparam("mid")).values(log_tail=bindparam("tail"))
            connection.execute(statement, rows)


def _upsert(connection: Connection, columns: tuple[str, ...], *, weak: bool) -> Any:
    statement = dialect_insert(connection.dialect.name, TASKS)
    changes: dict[str, Any] = {c: statement.excluded[c] for c in columns if c not in KEEP_ON_CONFLICT}
    if weak:
        # Literal values: an expanding IN parameter cannot be used with executemany.
        still_waiting = TASKS.c.state.in_([literal_column(f"'{s.value}'") for s in sorted(WAITING)])
        for column in ("state", "scheduled_for", "attempts"):
            if column in changes:
                changes[column] = case((still_waiting, changes[column]), else_=TASKS.c[column])
    return statement.on_conflict_do_update(index_elements=["message_id"], set_=changes)
