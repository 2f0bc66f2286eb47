"""Maintenance from a shell: `tickwork backups ...` (the catalog, restoring a chosen backup),
`tickwork cleanup` and `tickwork restore-archive`."""

from __future__ import annotations

from pathlib import Path

import click

from services.cli.database import database_engine, in_transaction, sessions
from services.cli.output import emit, emit_one
from services.cli.settings import Failure, settings_or_exit
from services.errors import TickworkError

COLUMNS = ("id", "name", "engine", "size_bytes", "created_at", "verification", "deleted_at")


@click.group()
def backups() -> None:
    """Backups of DATABASE_URL: list, create, verify, restore."""


@backups.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_(as_json: bool) -> None:
    """The catalog, newest first (rotated-out backups show when they were deleted)."""
    from services.maintenance.backups import list_backups

    rows = in_transaction(lambda session: [b.model_dump(exclude={"row_counts"}) for b in list_backups(session=session)])
    emit(rows, COLUMNS, as_json=as_json)


@backups.command("create")
@click.option("--label", default=None)
@click.option("--no-verify", is_flag=True, help="Skip the restore test.")
@click.option("--json", "as_json", is_flag=True)
def create(label: str | None, no_verify: bool, as_json: bool) -> None:
    """Back up now, into TICKWORK_BACKUP_DIR, and verify by restoring into a scratch database."""
    from services.maintenance.backup_job import back_up
    from services.maintenance.backups import CatalogedBackups

    backups = CatalogedBackups(database_engine(), Path(settings_or_exit().tickwork_backup_dir))
    try:
        record = back_up(backups=backups, label=label, verify=not no_verify)
    except TickworkError as error:
        raise Failure(str(error)) from None
    emit_one(record.model_dump(include=set(COLUMNS) | {"path", "sha256"}), as_json=as_json)


@backups.command("verify")
@click.argument("backup_id", type=int)
def verify(backup_id: int) -> None:
    """Restore BACKUP_ID into a scratch database and compare its row counts."""
    from services.maintenance.backups import verify_backup

    try:
        record = verify_backup(backup_id, engine=database_engine())
    except TickworkError as error:
        raise Failure(str(error)) from None
    click.echo(f"backup {record.name}: {record.verification}")


@backups.command("restore")
@click.argument("backup_id", type=int)
@click.option("--to", "target", required=True, help="The database URL to restore into.")
@click.option("--replace", is_flag=True, help="Overwrite what the target holds.")
def restore(backup_id: int, target: str, replace: bool) -> None:
    """Restore BACKUP_ID into the database at --to (an empty one unless --replace)."""
    from services.maintenance.backups import restore_backup

    try:
        record = restore_backup(backup_id, engine=database_engine(), target_url=target, replace=replace)
    except TickworkError as error:
        raise Failure(str(error)) from None
    click.echo(f"restored {record.name} into {target.split('@')[-1]}")


@click.command()
@click.option("--kind", "kinds", multiple=True, help="Only these kinds (default: every policy).")
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
def cleanup(kinds: tuple[str, ...], dry_run: bool) -> None:
    """Archive and delete data past its retention, as the weekly cleanup job does."""
    from services.maintenance.cleanup import cleanup_old_data, default_policies

    settings = settings_or_exit()
    policies = default_policies(
        ledger_days=settings.tickwork_ledger_retention_days, log_days=settings.tickwork_task_log_retention_days
    )
    known = {p.kind for p in policies}
    if set(kinds) - known:
        raise Failure(f"unknown kind(s) {sorted(set(kinds) - known)}; kinds are {sorted(known)}")
    report = cleanup_old_data(
        policies,
        session_factory=sessions(),
        archive_dir=Path(settings.tickwork_archive_dir),
        kinds=kinds or None,
        dry_run=dry_run,
    )
    for line in report.summary().split("; "):
        click.echo(line)


@click.command("restore-archive")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_archive(manifest: Path) -> None:
    """Put the rows of a cleanup archive (its .manifest.json) back into DATABASE_URL."""
    from services.maintenance.cleanup import restore_archive as restore

    try:
        count = in_transaction(lambda session: restore(manifest, session=session))
    except (ValueError, KeyError) as error:
        raise Failure(f"cannot restore {manifest.name}: {error}") from None
    click.echo(f"restored {count} row(s) from {manifest.name}")
