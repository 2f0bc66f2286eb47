"""The ledger's database for the Tickwork workers: a throw-away PostgreSQL database (as in
docker-compose.yml) or a SQLite file, migrated to head before any worker starts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# A server role allowed to CREATE DATABASE; the benchmark's database is dropped at the end.
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def throwaway_database(kind: str, folder: Path) -> Iterator[str]:
    from services.storage.migrate import upgrade

    if kind == "sqlite":
        url = f"sqlite:///{folder / 'tickwork.db'}"
        upgrade(url)
        yield url
        return

    import sqlalchemy

    from services.storage.db import make_engine

    name = f"tickwork_bench_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(
        ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        make_engine(url).dispose()
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def server_version(url: str) -> str:
    if url.startswith("sqlite"):
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    import sqlalchemy

    from services.storage.db import make_engine

    with make_engine(url).connect() as connection:
        return "PostgreSQL " + str(connection.execute(sqlalchemy.text("SHOW server_version")).scalar())
