"""Engines, sessions and migrations work on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy

from services.storage.db import make_engine, session_scope
from services.storage.migrate import current, upgrade
from tests.conftest import TEST_DATABASE_URL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path, services_up):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tickwork.db'}"
        return
    # A throw-away schema-free database per test keeps PostgreSQL runs independent.
    name = f"tickwork_test_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://"),
                                     isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    url = TEST_DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    make_engine(url).dispose()
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_session_commits_on_success_and_rolls_back_on_error(database_url):
    with session_scope(database_url) as session:
        session.execute(sqlalchemy.text("CREATE TABLE t (x INTEGER)"))
    with pytest.raises(RuntimeError), session_scope(database_url) as session:
        session.execute(sqlalchemy.text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("boom")
    with session_scope(database_url) as session:
        assert session.execute(sqlalchemy.text("SELECT count(*) FROM t")).scalar() == 0


def test_migrations_upgrade_to_head(database_url):
    upgrade(database_url)
    heads = __import__("alembic.script", fromlist=["ScriptDirectory"]).ScriptDirectory.from_config(
        __import__("services.storage.migrate", fromlist=["alembic_config"]).alembic_config(database_url)).get_heads()
    assert current(database_url) == (heads[0] if heads else None)
