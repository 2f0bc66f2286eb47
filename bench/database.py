"""The ledger's database for the Tickwork workers: a throw-away PostgreSQL database (as in
docker-compose.yml) or a SQLite file, migrated to head before any worker starts.

Creating and dropping it is `tests/support/databases.py`'s, the one copy (the runner runs from a
checkout, where tests/ is); this module adds the benchmark's server role, migration and version line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support import databases

# A server role allowed to CREATE DATABASE; the benchmark's database is dropped at the end.
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def throwaway_database(kind: str, folder: Path) -> Iterator[str]:
    from services.storage.migrate import upgrade

    with databases.throwaway_database(kind, folder, admin_url=ADMIN_URL, prefix="tickwork_bench") as url:
        upgrade(url)
        yield url


def server_version(url: str) -> str:
    if url.startswith("sqlite"):
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    import sqlalchemy

    from services.storage.db import make_engine

    with make_engine(url).connect() as connection:
        return "PostgreSQL " + str(connection.execute(sqlalchemy.text("SHOW server_version")).scalar())
