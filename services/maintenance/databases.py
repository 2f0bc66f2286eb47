"""The database-specific pieces maintenance needs: which engine, libpq URLs, table row counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Connection, Engine


def engine_of(engine: Engine) -> str:
    return backend_of(engine.url)


def backend_of(url: URL) -> str:
    backend = url.get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise ValueError(f"maintenance supports PostgreSQL and SQLite, not {backend}")
    return backend


def pg_command_target(url: URL) -> tuple[str, dict[str, str]]:
    """(URL without the password, environment with PGPASSWORD) for pg_dump and pg_restore: a
    password on the command line would show in `ps` and in error messages."""
    url = url.set(drivername="postgresql")
    env = {"PGPASSWORD": url.password} if url.password else {}
    return url.set(password=None).render_as_string(hide_password=False), env


def with_database(url: URL, name: str) -> URL:
    """The same server, another database."""
    return url.set(database=name)


def sqlite_path(url: URL) -> Path:
    database = url.database
    if not database or database == ":memory:":
        raise ValueError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def row_counts(connection: Connection) -> dict[str, Any]:
    """Rows per table, in the connection's current transaction (so a snapshot sees one instant)."""
    tables = sorted(inspect(connection).get_table_names())
    quote = connection.dialect.identifier_preparer.quote
    return {table: connection.execute(text(f"SELECT count(*) FROM {quote(table)}")).scalar_one() for table in tables}
