"""INSERT ... ON CONFLICT for the database in use (SQLite and PostgreSQL spell it alike)."""

from __future__ import annotations

from typing import Any


def dialect_insert(dialect_name: str, table: Any) -> Any:
    """An insert statement that has `on_conflict_do_update` / `on_conflict_do_nothing`."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)
