"""One flush of the ledger: updates coalesced per task and written in a handful of statements.

Every update carries the task's identity (actor, queue, ...), so a flush only ever upserts whole
rows; updates of one shape go in one executemany. A "weak" update (a message seen waiting in a delay
queue) changes the state only while the task is still waiting, so a late one never undoes progress
made meanwhile by another process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Float, Integer, bindparam, case, literal_column, select, update
from sqlalchemy.engine import Connection

from services.engine.ledger.states import WAITING
from services.storage.models import Task
from services.storage.upsert import dialect_insert

TASKS = Task.__table__  # type: ignore[attr-defined]
# Columns an update never overwrites: the first sighting's creation time, and the cancel request
# that only `cancel_task` sets.
KEEP_ON_CONFLICT = {"message_id", "created_at", "cancel_requested_at", "log_tail"}
# What a row keeps when the database refuses its full update (see `Batch.essentials`).
ESSENTIAL = (
    "actor",
    "queue",
    "priority",
    "created_at",
    "attempts",
    "state",
    "scheduled_for",
    "started_at",
    "finished_at",
    "worker",
    "progress",
)


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
        pending = self.tasks.get(message_id)
        if pending is None:  # (not setdefault: it would build a Pending for every update)
            pending = self.tasks[message_id] = Pending()
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

    def essentials(self, refused_by: str) -> Batch:
        """The same tasks with their identity and state only (no arguments, result, error text or log
        lines), for an update the database refused whole: the state must still land, since the
        message is acknowledged once the writer is past it."""
        bare = Batch()
        for message_id, pending in self.tasks.items():
            if "actor" not in pending.fields:
                continue
            fields = {k: v for k, v in pending.fields.items() if k in ESSENTIAL}
            fields.update(
                args={}, error_type="LedgerRefused", error_message=f"the full update was refused ({refused_by})"
            )
            bare.tasks[message_id] = Pending(fields=fields, weak=pending.weak)
        return bare

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
            if connection.dialect.name == "postgresql":
                _upsert_arrays(connection, columns, rows, weak=weak)
            else:
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


def _upsert_arrays(connection: Connection, columns: tuple[str, ...], rows: list[dict[str, Any]], *, weak: bool) -> None:
    """The same upsert as `_upsert`, for PostgreSQL as one statement over one binary array per column:
    the driver dumps those in C, where an executemany costs tens of microseconds of Python per row."""
    sql, kinds, defaults = _array_upsert_sql(columns, weak)
    params = []
    for column in columns:
        values = [row[column] for row in rows]
        kind = kinds.get(column)
        # A binary array holds one element type: JSON goes as text, numbers as the column's type.
        if kind is not None:
            values = [None if value is None else kind(value) for value in values]
        params.append(values)
    # Columns the update leaves out get their model defaults on insert, as SQLAlchemy's insert does.
    params.extend([value] * len(rows) for value in defaults.values())
    connection.exec_driver_sql(sql, tuple(params))


@lru_cache(maxsize=64)
def _array_upsert_sql(
    columns: tuple[str, ...], weak: bool
) -> tuple[str, dict[str, Callable[[Any], Any]], dict[str, Any]]:
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()
    kinds: dict[str, Callable[[Any], Any]] = {}
    for name in columns:
        column_type = TASKS.c[name].type
        if isinstance(column_type, JSON):
            kinds[name] = json.dumps
        elif isinstance(column_type, Float):
            kinds[name] = float
        elif isinstance(column_type, Integer):
            kinds[name] = int
    defaults = {
        c.name: c.default.arg
        for c in TASKS.c
        if c.name not in columns and c.default is not None and c.default.is_scalar
    }
    inserted = (*columns, *defaults)
    arrays = ", ".join(
        f"%b::{'TEXT' if kinds.get(c) is json.dumps else TASKS.c[c].type.compile(dialect=dialect)}[]" for c in inserted
    )
    selected = ", ".join(f"u.{c}::JSON" if kinds.get(c) is json.dumps else f"u.{c}" for c in inserted)
    still_waiting = "tasks.state IN (" + ", ".join(f"'{s.value}'" for s in sorted(WAITING)) + ")"
    changes = []
    for c in columns:
        if c in KEEP_ON_CONFLICT:
            continue
        if weak and c in ("state", "scheduled_for", "attempts"):
            changes.append(f"{c} = CASE WHEN {still_waiting} THEN excluded.{c} ELSE tasks.{c} END")
        else:
            changes.append(f"{c} = excluded.{c}")
    names = ", ".join(inserted)
    sql = (
        f"INSERT INTO tasks ({names}) SELECT {selected} FROM unnest({arrays}) AS u({names}) "
        f"ON CONFLICT (message_id) DO UPDATE SET {', '.join(changes)}"
    )
    return sql, kinds, defaults


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
