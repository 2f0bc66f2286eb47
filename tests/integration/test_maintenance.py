"""Backups (consistent, verified by restore, rotated) and optimize, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from services.engine.ledger.tasks import record_submitted
from services.errors import TickworkError
from services.maintenance.backups import (
    BackupVerificationFailed,
    create_backup,
    restore_backup,
    rotate_backups,
    verify_backup,
)
from services.maintenance.optimize import optimize_database
from services.storage.db import make_engine, session_scope
from services.storage.models import Backup
from tests.support.databases import throwaway_database

pytestmark = pytest.mark.both_databases


def seed(database_url: str, tasks: int) -> None:
    with session_scope(database_url) as session:
        for n in range(tasks):
            record_submitted(
                session=session,
                message_id=str(uuid.uuid4()),
                actor="probe_record",
                queue="refresh",
                priority="low",
                args={"tag": f"t{n}", "note": "x" * 200},
            )


def counts(url: str) -> dict[str, int]:
    """Rows per table, counted here without the code under test."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return {
                t: connection.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                for t in inspect(connection).get_table_names()
            }
    finally:
        engine.dispose()


def test_a_backup_restores_to_the_same_row_counts(database_url, tmp_path):
    seed(database_url, 500)
    before = counts(database_url)
    record = create_backup(engine=make_engine(database_url), folder=tmp_path / "backups", label="test")
    assert Path(record.path).exists() and record.size_bytes > 0 and len(record.sha256) == 64
    assert record.row_counts["tasks"] == 500 == before["tasks"]
    assert verify_backup(record.id, engine=make_engine(database_url)).verification == "ok"
    with restore_target(database_url, tmp_path) as target:
        restore_backup(record.id, engine=make_engine(database_url), target_url=target)
        assert counts(target) == before


@contextmanager
def restore_target(database_url: str, folder: Path):
    """An empty database of the same kind as `database_url`."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{folder / 'restored.db'}"
        return
    with throwaway_database("postgresql", folder) as url:
        yield url


def test_a_backup_taken_while_others_write_is_consistent(database_url, tmp_path):
    seed(database_url, 200)
    stop, written = threading.Event(), []

    def writer():
        while not stop.is_set():
            seed(database_url, 5)
            written.append(5)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.2)
        record = create_backup(engine=make_engine(database_url), folder=tmp_path / "backups")
    finally:
        stop.set()
        thread.join()
    assert written and 200 <= record.row_counts["tasks"] <= 200 + sum(written)
    assert (
        verify_backup(record.id, engine=make_engine(database_url)).verification == "ok"
    )  # what was counted is what restores


def test_a_corrupted_backup_fails_verification_loudly(database_url, tmp_path):
    seed(database_url, 50)
    record = create_backup(engine=make_engine(database_url), folder=tmp_path / "backups")
    data = bytearray(Path(record.path).read_bytes())
    data[len(data) // 2] ^= 0xFF
    Path(record.path).write_bytes(bytes(data))
    with pytest.raises(BackupVerificationFailed, match="checksum mismatch"):
        verify_backup(record.id, engine=make_engine(database_url))
    # a damaged file whose checksum was taken after the damage still fails: it does not restore
    with session_scope(database_url) as session:
        from services.maintenance.backups import _sha256

        row = session.get(Backup, record.id)
        row.sha256 = _sha256(Path(record.path))
    with pytest.raises(BackupVerificationFailed, match=r"does not restore|row counts differ|integrity"):
        verify_backup(record.id, engine=make_engine(database_url))
    with session_scope(database_url) as session:
        assert session.get(Backup, record.id).verification != "ok"
    with pytest.raises(TickworkError):
        restore_backup(
            record.id, engine=make_engine(database_url), target_url=database_url.replace("tickwork", "never")
        )


def test_a_redelivered_backup_task_finds_its_backup(database_url, tmp_path):
    first = create_backup(engine=make_engine(database_url), folder=tmp_path / "backups", key="message-1")
    again = create_backup(engine=make_engine(database_url), folder=tmp_path / "backups", key="message-1")
    assert again.id == first.id and len(list((tmp_path / "backups").iterdir())) == 1


def test_rotation_keeps_n_daily_and_m_weekly(database_url, tmp_path):
    now = datetime(2026, 11, 24, 3, tzinfo=UTC)
    with session_scope(database_url) as session:
        for days_ago in range(0, 60):  # two backups a day for 60 days
            for hour in (1, 2):
                at = now - timedelta(days=days_ago, hours=hour)
                path = tmp_path / f"b-{days_ago}-{hour}"
                path.write_text("x")
                session.add(
                    Backup(
                        name=path.name,
                        path=str(path),
                        engine="sqlite",
                        size_bytes=1,
                        sha256="0" * 64,
                        row_counts={},
                        created_at=at,
                    )
                )
    with session_scope(database_url) as session:
        rotation = rotate_backups(session=session, keep_daily=7, keep_weekly=4, now=now)
    kept = sorted(rotation.kept)
    # the newest of each of the last 7 days, plus the newest of each of the 4 newest weeks
    assert len([k for k in kept if int(k.split("-")[1]) < 7]) == 7
    assert all(k.endswith("-1") for k in kept)  # hour 1 is the newer one of each day
    assert len(kept) == len(set(kept)) and 7 <= len(kept) <= 11
    assert len(rotation.deleted) == 120 - len(kept)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("b-")) == kept


def test_optimize_runs_while_another_connection_writes(database_url):
    seed(database_url, 300)
    with session_scope(database_url) as session:  # dead rows to give back
        session.execute(text("DELETE FROM tasks WHERE message_id IN (SELECT message_id FROM tasks LIMIT 250)"))
        if database_url.startswith("postgresql"):  # make the dead rows visible in pg_stat at once
            session.execute(text("SELECT pg_stat_force_next_flush()"))
    stop, written, errors = threading.Event(), [], []

    def writer():
        while not stop.is_set():
            try:
                seed(database_url, 1)
                written.append(time.monotonic())
            except Exception as error:
                errors.append(error)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.2)
        started = time.monotonic()
        report = optimize_database(engine=make_engine(database_url))
        finished = time.monotonic()
        time.sleep(0.2)
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert any(a.startswith(("VACUUM", "VACUUM (ANALYZE) tasks")) for a in report.actions)
    assert any(started <= t for t in written) and written[-1] > finished  # writes went on
    if report.engine == "postgresql":
        assert "REINDEX INDEX CONCURRENTLY tasks_pkey (table tasks was bloated)" in report.actions
