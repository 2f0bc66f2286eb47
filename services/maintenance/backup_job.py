"""The backup job as one use case: create → verify by restoring → rotate, in that order.

A backup that fails verification stops the run before rotation, so a bad file never pushes a good
one out of the catalog; a redelivered run finds its backup (keyed by the message id) and verifies it
only if it was not verified yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from services.engine.progress import NullReporter, ProgressReporter
from services.maintenance.backups import Rotation
from services.storage.models import Backup


class Backups(Protocol):
    """Makes, verifies and rotates the backups of one database (backups.CatalogedBackups)."""

    def create(self, *, label: str | None, key: str | None) -> Backup: ...

    def verify(self, backup_id: int) -> Backup: ...

    def rotate(self, *, keep_daily: int, keep_weekly: int) -> Rotation: ...


@dataclass(frozen=True)
class BackupRun:
    backup: Backup
    rotation: Rotation

    def summary(self) -> str:
        verified = self.backup.verification or "not verified"
        return (
            f"{self.backup.name}: {self.backup.size_bytes} bytes, {verified}; rotated out {len(self.rotation.deleted)}"
        )


def back_up(
    *,
    backups: Backups,
    label: str | None = None,
    key: str | None = None,
    verify: bool = True,
    reporter: ProgressReporter | None = None,
) -> Backup:
    """Create a backup and (unless `verify` is false, or it was verified already) verify it;
    BackupVerificationFailed propagates."""
    reporter = reporter or NullReporter()
    reporter.progress(0.05, "dumping")
    record = backups.create(label=label, key=key)
    if verify and record.verification != "ok":
        reporter.progress(0.5, "verifying by restore")
        record = backups.verify(record.id or 0)
    return record


def backup_and_rotate(
    *,
    backups: Backups,
    keep_daily: int,
    keep_weekly: int,
    label: str | None = None,
    key: str | None = None,
    verify: bool = True,
    reporter: ProgressReporter | None = None,
) -> BackupRun:
    """backup_data's work: `back_up`, then rotate old backups out."""
    reporter = reporter or NullReporter()
    record = back_up(backups=backups, label=label, key=key, verify=verify, reporter=reporter)
    reporter.progress(0.9, "rotating")
    rotation = backups.rotate(keep_daily=keep_daily, keep_weekly=keep_weekly)
    reporter.progress(1.0, "done")
    return BackupRun(record, rotation)
