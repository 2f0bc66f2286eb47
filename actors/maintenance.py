"""Maintenance actors (queue `maintenance`): backups and optimize. Cleanup and reports join with the
data they work on."""

from __future__ import annotations

from pathlib import Path

from dramatiq.middleware import CurrentMessage

from actors.broker import settings
from actors.declare import contract_actor
from actors.task_context import reporter
from services.maintenance.backups import create_backup, rotate_backups, verify_backup
from services.maintenance.optimize import optimize_database as optimize


@contract_actor
def backup_data(label: str | None = None, verify: bool = True) -> str:
    """Back up, verify by restoring into a scratch database, then rotate old backups. Idempotent: the
    backup is keyed by the message id, so a redelivery finds it in the catalog."""
    progress = reporter()
    message = CurrentMessage.get_current_message()
    progress.progress(0.05, "dumping")
    record = create_backup(
        settings.database_url,
        Path(settings.tickwork_backup_dir),
        label=label,
        key=message.message_id if message else None,
    )
    if verify and record.verification != "ok":
        progress.progress(0.5, "verifying by restore")
        record = verify_backup(settings.database_url, record.id or 0)
    progress.progress(0.9, "rotating")
    rotation = rotate_backups(
        settings.database_url,
        keep_daily=settings.tickwork_backup_keep_daily,
        keep_weekly=settings.tickwork_backup_keep_weekly,
    )
    progress.progress(1.0, "done")
    verified = record.verification or "not verified"
    return f"{record.name}: {record.size_bytes} bytes, {verified}; rotated out {len(rotation.deleted)}"


@contract_actor
def optimize_database(reindex: bool = True) -> str:
    """VACUUM/ANALYZE (and concurrent reindexing of bloated tables' indexes); safe to repeat."""
    reporter().progress(0.1, "optimizing")
    return optimize(settings.database_url, reindex=reindex).summary()
