"""Throw-away databases: a SQLite file, or a fresh PostgreSQL database per test.

The one copy for tests and the benchmarks: `bench/database.py` imports it (both run from a checkout;
neither `tests` nor `bench` is installed, and the test suite is where this code is exercised most).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy

from services.storage.db import make_engine

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def throwaway_database(
    kind: str, folder: Path, *, admin_url: str = TEST_DATABASE_URL, prefix: str = "tickwork_test"
) -> Iterator[str]:
    """A SQLite file in `folder`, or a new PostgreSQL database `<prefix>_<random>` on `admin_url`'s
    server (a role allowed to CREATE DATABASE), dropped at the end. Empty: the caller migrates it."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'tickwork.db'}"
        return
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        make_engine(url).dispose()
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
