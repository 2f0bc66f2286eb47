"""The `provider_state` row that every worker process shares for one provider (rate budget, circuit).

Both SQLite and PostgreSQL run the statements here; times are epoch seconds so they compare in SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from services.storage.models import ProviderState
from services.storage.upsert import dialect_insert

TABLE: Any = ProviderState.__table__  # type: ignore[attr-defined]
COLUMNS: Any = TABLE.c


class ProviderRows:
    """Creates each provider's row once per process (INSERT ... ON CONFLICT DO NOTHING, so two
    processes racing to create it both succeed), before the atomic UPDATEs that use it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._created: set[str] = set()

    def ensure(self, provider: str) -> None:
        if provider in self._created:
            return
        statement = dialect_insert(self.engine.dialect.name, TABLE).values(provider=provider)
        with self.engine.begin() as connection:
            connection.execute(statement.on_conflict_do_nothing(index_elements=["provider"]))
        self._created.add(provider)


@contextmanager
def quick_write(engine: Engine) -> Iterator[Connection]:
    """A transaction for the per-request counters. On PostgreSQL its commit does not wait for the WAL
    flush (milliseconds a call): a count lost in a crash costs nothing, the window ends within a minute."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL synchronous_commit TO OFF"))
        yield connection
