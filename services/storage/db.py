"""Engines and sessions for SQLite (the default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine


def driver_url(url: str) -> str:
    # psycopg 3 is the PostgreSQL driver we install; a bare postgresql:// would ask for psycopg2.
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@lru_cache(maxsize=8)
def make_engine(url: str) -> Engine:
    """One engine per database URL per process (engines hold the connection pool)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(driver_url(url), pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # WAL lets readers (API, CLI) work while a worker writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@contextmanager
def one_off_engine(url: str) -> Iterator[Engine]:
    """An engine for a database used once (a scratch restore, a temporary copy), disposed after."""
    engine = create_engine(driver_url(url))
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(make_engine(url), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


class SessionFactory(Protocol):
    """Opens one unit of work: a session that commits on success and rolls back on error.

    What a use case takes when it needs several transactions (one per batch, none held open across
    HTTP); a use case that needs one transaction takes the `session` itself.
    """

    def __call__(self) -> AbstractContextManager[Session]: ...


def session_factory(url: str) -> SessionFactory:
    """The factory of `url`'s database, built once by a composition root (CLI, API, worker start-up)."""
    return partial(session_scope, url)


@contextmanager
def engine_session(engine: Engine) -> Iterator[Session]:
    """A session on `engine` that commits on success and rolls back on error (see `sessions_of`)."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def sessions_of(engine: Engine) -> SessionFactory:
    """The factory of an engine a use case already holds (maintenance needs the engine itself, for
    pg_dump's connection target and for VACUUM outside a transaction)."""
    return partial(engine_session, engine)


def as_utc(value: datetime) -> datetime:
    """A timestamp read back from the database, made aware: SQLite returns them naive (in UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
