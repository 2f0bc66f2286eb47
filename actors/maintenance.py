"""Maintenance actors (queue `maintenance`): cleanup, backups, optimize and performance reports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from dramatiq.middleware import CurrentMessage

from actors.broker import settings
from actors.declare import contract_actor
from actors.task_context import reporter
from services.maintenance.backup_job import backup_and_rotate
from services.maintenance.backups import CatalogedBackups
from services.maintenance.cleanup import cleanup_old_data as cleanup
from services.maintenance.cleanup import default_policies
from services.maintenance.optimize import optimize_database as optimize
from services.reports.figures import Kind
from services.reports.generate import generate_reports as write_reports
from services.storage.db import make_engine, session_factory


@contract_actor
def backup_data(label: str | None = None, verify: bool = True) -> str:
    """Back up, verify by restoring into a scratch database, then rotate old backups. Idempotent: the
    backup is keyed by the message id, so a redelivery finds it in the catalog."""
    message = CurrentMessage.get_current_message()
    run = backup_and_rotate(
        backups=CatalogedBackups(make_engine(settings.database_url), Path(settings.tickwork_backup_dir)),
        keep_daily=settings.tickwork_backup_keep_daily,
        keep_weekly=settings.tickwork_backup_keep_weekly,
        label=label,
        key=message.message_id if message else None,
        verify=verify,
        reporter=reporter(),
    )
    return run.summary()


@contract_actor
def optimize_database(reindex: bool = True) -> str:
    """VACUUM/ANALYZE (and concurrent reindexing of bloated tables' indexes); safe to repeat."""
    reporter().progress(0.1, "optimizing")
    return optimize(engine=make_engine(settings.database_url), reindex=reindex).summary()


@contract_actor
def cleanup_old_data(kinds: list[str] | None = None, dry_run: bool = False) -> str:
    """Archive (where the policy says so) and delete data past its retention, in short batches.
    Idempotent: it deletes by age, so a second run finds nothing more."""
    policies = default_policies(
        ledger_days=settings.tickwork_ledger_retention_days, log_days=settings.tickwork_task_log_retention_days
    )
    report = cleanup(
        policies,
        session_factory=session_factory(settings.database_url),
        archive_dir=Path(settings.tickwork_archive_dir),
        kinds=kinds,
        dry_run=dry_run,
        reporter=reporter(),
    )
    return report.summary()


@contract_actor
def generate_reports(period: Kind = "daily", portfolio_id: int | None = None, as_of: date | None = None) -> str:
    """Daily, weekly or monthly performance reports (HTML and CSV) per portfolio, into
    TICKWORK_REPORTS_DIR, with their catalog rows. Failure policy: the reports class (time limit
    1800 s; 3 retries, exponential from 60 s); an unknown portfolio is not retried. Idempotent: a report
    is keyed by portfolio, period kind and period start, and a re-run overwrites its files and row."""
    run = write_reports(
        session_factory=session_factory(settings.database_url),
        kind=period,
        as_of=as_of,
        portfolio_ids=None if portfolio_id is None else [portfolio_id],
        reports_dir=Path(settings.tickwork_reports_dir),
        reporter=reporter(),
    )
    return run.summary()
