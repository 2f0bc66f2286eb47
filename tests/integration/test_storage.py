"""Engines, sessions and migrations work on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy
from alembic.script import ScriptDirectory

from services.storage.db import make_engine, session_scope
from services.storage.migrate import alembic_config, current, downgrade, is_current, upgrade
from services.storage.models import metadata

pytestmark = pytest.mark.both_databases


def test_migrated_database_has_every_table_of_the_models(database_url):
    assert is_current(database_url)
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert current(database_url) == head
    assert set(metadata.tables) <= set(sqlalchemy.inspect(make_engine(database_url)).get_table_names())


def test_migrations_go_down_and_up_again(database_url):
    downgrade(database_url, "base")
    assert current(database_url) is None
    assert "tasks" not in sqlalchemy.inspect(make_engine(database_url)).get_table_names()
    upgrade(database_url)
    assert is_current(database_url)


def test_session_commits_on_success_and_rolls_back_on_error(database_url):
    with session_scope(database_url) as session:
        session.execute(sqlalchemy.text("CREATE TABLE t (x INTEGER)"))
    with pytest.raises(RuntimeError), session_scope(database_url) as session:
        session.execute(sqlalchemy.text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("boom")
    with session_scope(database_url) as session:
        assert session.execute(sqlalchemy.text("SELECT count(*) FROM t")).scalar() == 0
