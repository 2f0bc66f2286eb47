"""Backups: consistent, online, compressed, checksummed, cataloged, rotated, and verified by restoring.

PostgreSQL: `pg_dump --format=custom` (compressed) inside an exported snapshot, so the row counts
recorded with the backup are those of the very instant the dump holds. SQLite: the online backup API
copies a consistent database while others write; the copy is gzipped.

Verification restores the file into a scratch database (a new PostgreSQL database, or a temporary
SQLite file), checks the checksum first and the row counts of every table after; any difference
raises BackupVerificationFailed.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL, Engine, make_url
from sqlmodel import Session, col, select

from services.errors import NonRetryableError, NotFound, TickworkError
from services.maintenance.databases import (
    backend_of,
    engine_of,
    pg_command_target,
    row_counts,
    sqlite_path,
    with_database,
)
from services.storage.db import as_utc, one_off_engine, sessions_of
from services.storage.models import Backup

PG_TIMEOUT_S = 3600  # pg_dump/pg_restore of a large database; the actor's time limit is the same


class BackupVerificationFailed(NonRetryableError):
    """Raised when a backup does not restore to what it recorded: retrying would not mend the file."""


class BackupNotFound(NotFound):
    """Raised when the catalog has no such backup (or its file was rotated out)."""


@dataclass(frozen=True)
class Rotation:
    kept: list[str]
    deleted: list[str]


def create_backup(
    *, engine: Engine, folder: Path, label: str | None = None, key: str | None = None, now: datetime | None = None
) -> Backup:
    """Back up `engine`'s database into `folder` and record it in the catalog (of that same database).

    `key` (the task's message id) makes it idempotent: a redelivered task finds its backup made."""
    now, sessions = now or datetime.now(UTC), sessions_of(engine)
    if key:
        with sessions() as session:
            done = session.exec(select(Backup).where(col(Backup.name).endswith(f"-{key}"))).first()
        if done is not None:
            return done
    folder.mkdir(parents=True, exist_ok=True)
    backend = engine_of(engine)
    name = f"tickwork-{now:%Y%m%dT%H%M%S}Z" + (f"-{label}" if label else "") + (f"-{key}" if key else "")
    path = folder / (f"{name}.dump" if backend == "postgresql" else f"{name}.sqlite.gz")
    partial = path.with_name(f".{path.name}.partial")  # renamed once complete; never cataloged half-written
    try:
        counts = (_dump_postgresql if backend == "postgresql" else _dump_sqlite)(engine, partial)
    except (OSError, subprocess.SubprocessError, sqlite3.DatabaseError) as error:
        partial.unlink(missing_ok=True)
        raise TickworkError(f"backup {name} failed: {_describe(error)}") from None
    partial.rename(path)
    record = Backup(
        name=name,
        path=str(path.resolve()),
        engine=backend,
        size_bytes=path.stat().st_size,
        sha256=_sha256(path),
        row_counts=counts,
        created_at=now,
    )
    with sessions() as session:
        session.add(record)
    return record


def verify_backup(backup_id: int, *, engine: Engine) -> Backup:
    """Restore the backup into a scratch database beside `engine`'s and compare; records and returns
    the outcome, raising BackupVerificationFailed when it does not match."""
    sessions = sessions_of(engine)
    with sessions() as session:
        record = _get(session, backup_id)
    outcome = "verification did not finish"
    try:
        path = Path(record.path)
        if _sha256(path) != record.sha256:
            raise BackupVerificationFailed(f"backup {record.name}: checksum mismatch, the file has changed")
        restored, expected = _restored_counts(engine, record), record.row_counts
        if restored != expected:
            differences = {
                t: (expected.get(t), restored.get(t))
                for t in set(expected) | set(restored)
                if expected.get(t) != restored.get(t)
            }
            raise BackupVerificationFailed(
                f"backup {record.name}: row counts differ (expected, restored): {differences}"
            )
        outcome = "ok"
    except BackupVerificationFailed as error:
        outcome = str(error)
        raise
    except (OSError, subprocess.SubprocessError, sqlite3.DatabaseError) as error:
        outcome = f"backup {record.name} does not restore: {_describe(error)}"
        raise BackupVerificationFailed(outcome) from None
    finally:
        with sessions() as session:
            row = _get(session, backup_id)
            row.verified_at, row.verification = datetime.now(UTC), outcome[:1000]
            session.add(row)
    return row


def restore_backup(backup_id: int, *, engine: Engine, target_url: str, replace: bool = False) -> Backup:
    """Restore a backup of `engine`'s catalog into `target_url` (an empty database unless `replace`);
    the target is the operator's choice, named by its URL."""
    with sessions_of(engine)() as session:  # not held open: the target may be this very database
        record = _get(session, backup_id)
    target = make_url(target_url)
    if _sha256(Path(record.path)) != record.sha256:
        raise BackupVerificationFailed(f"backup {record.name}: checksum mismatch, refusing to restore it")
    if backend_of(target) != record.engine:
        raise TickworkError(f"backup {record.name} is a {record.engine} backup; the target is {backend_of(target)}")
    try:
        _restore(record, target, replace=replace)
    except (OSError, subprocess.SubprocessError) as error:
        raise TickworkError(f"restoring backup {record.name} failed: {_describe(error)}") from None
    return record


def _restore(record: Backup, target: URL, *, replace: bool) -> None:
    if record.engine == "postgresql":
        options = ["--clean", "--if-exists"] if replace else []
        # One transaction: a restore that fails half-way leaves the target as it was.
        _run_pg(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", *options, record.path], target)
    else:
        path = sqlite_path(target)
        if path.exists() and not replace:
            raise TickworkError(f"{path} exists; pass replace to overwrite it")
        staged = path.with_name(f".{path.name}.restoring")
        with gzip.open(record.path, "rb") as source, staged.open("wb") as out:
            shutil.copyfileobj(source, out)
        # The old database's WAL must not be replayed onto the restored file.
        for leftover in (path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
            leftover.unlink(missing_ok=True)
        os.replace(staged, path)  # atomic: readers see the old file or the new one


def rotate_backups(*, session: Session, keep_daily: int, keep_weekly: int, now: datetime | None = None) -> Rotation:
    """Keep the newest backup of each of the last `keep_daily` days and of each of the last
    `keep_weekly` ISO weeks; delete the other files (their catalog rows stay, marked deleted)."""
    now = now or datetime.now(UTC)
    live = list(
        session.exec(select(Backup).where(col(Backup.deleted_at).is_(None)).order_by(col(Backup.created_at).desc()))
    )
    # Within each day and week a verified backup is kept before a newer one that failed.
    live.sort(key=lambda b: b.verification == "ok", reverse=True)
    live.sort(key=lambda b: as_utc(b.created_at).date(), reverse=True)
    keep: set[int] = set()
    days: set[object] = set()
    weeks: set[object] = set()
    for record in live:  # newest first: the first seen of a day or week is its newest
        created = as_utc(record.created_at)
        day, week = created.date(), created.isocalendar()[:2]
        if day not in days and now.date() - day < timedelta(days=keep_daily):
            keep.add(record.id or 0)
        if week not in weeks and len(weeks) < keep_weekly:
            keep.add(record.id or 0)
        days.add(day)
        weeks.add(week)
    deleted = []
    for record in live:
        if record.id not in keep:
            Path(record.path).unlink(missing_ok=True)
            record.deleted_at = now
            session.add(record)
            deleted.append(record.name)
    return Rotation(kept=[r.name for r in live if r.id in keep], deleted=deleted)


def list_backups(*, session: Session) -> list[Backup]:
    return list(session.exec(select(Backup).order_by(col(Backup.created_at).desc())))


@dataclass(frozen=True)
class CatalogedBackups:
    """The backups of `engine`'s database, written into `folder` and cataloged in that database:
    what `services.maintenance.backup_job` runs (services.maintenance.backup_job.Backups)."""

    engine: Engine
    folder: Path

    def create(self, *, label: str | None, key: str | None) -> Backup:
        return create_backup(engine=self.engine, folder=self.folder, label=label, key=key)

    def verify(self, backup_id: int) -> Backup:
        return verify_backup(backup_id, engine=self.engine)

    def rotate(self, *, keep_daily: int, keep_weekly: int) -> Rotation:
        with sessions_of(self.engine)() as session:
            return rotate_backups(session=session, keep_daily=keep_daily, keep_weekly=keep_weekly)


# -- PostgreSQL --------------------------------------------------------------------------------------
def _dump_postgresql(engine: Engine, path: Path) -> dict[str, Any]:
    with engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True) as connection:
        snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        counts = row_counts(connection)
        # The snapshot stays valid while this transaction is open: pg_dump sees exactly what we counted.
        _run_pg(
            [
                "pg_dump",
                "--format=custom",
                "--compress=6",
                f"--snapshot={snapshot}",
                "--no-owner",
                f"--file={path}",
            ],
            engine.url,
        )
        connection.rollback()
    return counts


def _restored_counts(engine: Engine, record: Backup) -> dict[str, Any]:
    if record.engine == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / "verify.sqlite"
            with gzip.open(record.path, "rb") as source, copy.open("wb") as out:
                shutil.copyfileobj(source, out)
            database = sqlite3.connect(copy)
            try:
                if database.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                    raise BackupVerificationFailed(f"backup {record.name}: the restored database fails integrity_check")
            finally:
                database.close()
            return _counts(f"sqlite:///{copy}")
    scratch = f"tickwork_verify_{uuid.uuid4().hex[:10]}"
    # CREATE and DROP DATABASE refuse a transaction block.
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{scratch}"'))
    try:
        scratch_url = with_database(engine.url, scratch)
        _run_pg(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", record.path], scratch_url)
        return _counts(scratch_url)
    finally:
        with autocommit.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))


# -- SQLite ------------------------------------------------------------------------------------------
def _dump_sqlite(engine: Engine, path: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=path.parent) as folder:
        copy = Path(folder) / "copy.sqlite"
        source, target = sqlite3.connect(sqlite_path(engine.url)), sqlite3.connect(copy)
        try:
            source.backup(target)  # online and consistent, page by page, while others write
        finally:
            source.close()
            target.close()
        counts = _counts(f"sqlite:///{copy}")
        with copy.open("rb") as raw, gzip.open(path, "wb", compresslevel=6) as out:
            shutil.copyfileobj(raw, out)
    return counts


# -- helpers -------------------------------------------------------------------------------------------
def _counts(url: str | URL) -> dict[str, Any]:
    target = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    with one_off_engine(target) as engine, engine.connect() as connection:
        return row_counts(connection)


def _get(session: Session, backup_id: int) -> Backup:
    record = session.get(Backup, backup_id)
    if record is None or record.deleted_at is not None:
        raise BackupNotFound(f"no backup {backup_id} in the catalog (see `tickwork backups list`)")
    return record


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run_pg(command: list[str], target: URL) -> None:
    """Run pg_dump/pg_restore against `target`, its password in the environment only."""
    url, secret = pg_command_target(target)
    subprocess.run(
        [*command, f"--dbname={url}"],
        check=True,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=PG_TIMEOUT_S,
        env={**os.environ, **secret},
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, subprocess.CalledProcessError):
        return f"{error.cmd[0]} exited with {error.returncode}: {(error.stderr or '').strip()[-500:]}"
    return str(error)
