"""Database maintenance actors (queue `maintenance`)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from services.contract.fields import Id
from services.contract.spec import ActorSpec, Payload
from services.engine.priority import Priority
from services.engine.task_classes import MAINTENANCE, REPORTS

DataKind = Literal["intraday_bars", "daily_bars", "task_ledger", "task_logs", "notifications", "snapshots"]


class CleanupOldData(Payload):
    kinds: list[DataKind] | None = Field(None, description="None applies every retention policy")
    dry_run: bool = False


class OptimizeDatabase(Payload):
    reindex: bool = True


class BackupData(Payload):
    label: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    verify: bool = True


class GenerateReports(Payload):
    period: Literal["daily", "weekly", "monthly"] = "daily"
    portfolio_id: Id | None = None
    as_of: date | None = None


MAINTENANCE_ACTORS = [
    ActorSpec(
        "cleanup_old_data",
        "maintenance",
        CleanupOldData,
        priority=Priority.LOW,
        task_class=MAINTENANCE,
        idempotency="deletes by age: a second run finds nothing more to delete",
    ),
    ActorSpec(
        "optimize_database",
        "maintenance",
        OptimizeDatabase,
        priority=Priority.LOW,
        task_class=MAINTENANCE,
        idempotency="VACUUM/ANALYZE may be repeated",
    ),
    ActorSpec(
        "backup_data",
        "maintenance",
        BackupData,
        priority=Priority.LOW,
        task_class=MAINTENANCE,
        idempotency="a backup is named by its message id; a redelivery finds it in the catalog",
    ),
    ActorSpec(
        "generate_reports",
        "maintenance",
        GenerateReports,
        priority=Priority.LOW,
        task_class=REPORTS,
        idempotency="a report is keyed by portfolio, period and date and overwritten",
    ),
]
