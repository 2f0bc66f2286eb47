"""The CLI's one way to the database (its composition root, as `services.api.deps` is the API's): the
engine and the session factory of DATABASE_URL, and a command's work run in one transaction.
Storage is imported when a command first needs it, so `tickwork --help` stays quick."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from services.cli.settings import Failure, settings_or_exit
from services.errors import TickworkError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from services.settings import Settings
    from services.storage.db import SessionFactory

T = TypeVar("T")


def database_engine() -> Engine:
    """DATABASE_URL's engine, for what needs the database itself (backups, optimize)."""
    from services.storage.db import make_engine

    return make_engine(settings_or_exit().database_url)


def sessions(settings: Settings | None = None) -> SessionFactory:
    """DATABASE_URL's session factory: where a command turns the URL into what use cases take."""
    from services.storage.db import session_factory

    return session_factory((settings or settings_or_exit()).database_url)


def in_transaction(work: Callable[[Session], T]) -> T:
    """`work(session)` in one committed transaction; a refused change (a TickworkError) is one line on
    stderr and exit status 2, and nothing of it is kept."""
    try:
        with sessions()() as session:
            return work(session)
    except TickworkError as error:
        raise Failure(str(error)) from None
