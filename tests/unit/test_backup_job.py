"""backup_and_rotate's sequencing (create → verify → rotate), with a hand-written fake of the backups."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from services.maintenance.backup_job import back_up, backup_and_rotate
from services.maintenance.backups import BackupVerificationFailed, Rotation
from services.storage.models import Backup


@dataclass
class FakeBackups:
    """Backups in memory; `calls` lists what the use case asked for, in order."""

    verified_already: bool = False
    verification_fails: bool = False
    calls: list[str] = field(default_factory=list)

    def create(self, *, label: str | None, key: str | None) -> Backup:
        self.calls.append(f"create label={label} key={key}")
        return Backup(
            id=7,
            name=f"tickwork-20261124T030000Z-{label}-{key}",
            path="/backups/b.dump",
            engine="postgresql",
            size_bytes=1234,
            sha256="0" * 64,
            created_at=datetime(2026, 11, 24, 3, tzinfo=UTC),
            verification="ok" if self.verified_already else None,
        )

    def verify(self, backup_id: int) -> Backup:
        self.calls.append(f"verify {backup_id}")
        if self.verification_fails:
            raise BackupVerificationFailed(f"backup {backup_id}: row counts differ")
        record = self.create_record(backup_id)
        record.verification = "ok"
        return record

    def rotate(self, *, keep_daily: int, keep_weekly: int) -> Rotation:
        self.calls.append(f"rotate daily={keep_daily} weekly={keep_weekly}")
        return Rotation(kept=["new"], deleted=["old-1", "old-2"])

    def create_record(self, backup_id: int) -> Backup:
        return Backup(id=backup_id, name="verified", path="/b", engine="sqlite", size_bytes=1, sha256="0" * 64)


@dataclass
class Steps:
    """A progress reporter that keeps the steps it is told."""

    seen: list[tuple[float, str | None]] = field(default_factory=list)

    def progress(self, fraction: float, step: str | None = None) -> None:
        self.seen.append((fraction, step))

    def log(self, line: str) -> None:
        return None

    def cancelled(self) -> bool:
        return False


def test_a_backup_is_created_then_verified_then_old_ones_are_rotated_out():
    # Given a fresh backup
    backups, steps = FakeBackups(), Steps()
    # When the job runs
    run = backup_and_rotate(backups=backups, keep_daily=7, keep_weekly=4, label="nightly", key="m-1", reporter=steps)
    # Then it creates, verifies and rotates, in that order, and says what it did
    assert backups.calls == ["create label=nightly key=m-1", "verify 7", "rotate daily=7 weekly=4"]
    assert run.summary() == "verified: 1 bytes, ok; rotated out 2"
    assert [step for _, step in steps.seen] == ["dumping", "verifying by restore", "rotating", "done"]


def test_a_backup_that_fails_verification_stops_the_run_before_rotation():
    # Given a backup that does not restore to what it recorded
    backups = FakeBackups(verification_fails=True)
    # When the job runs, Then the failure propagates and nothing is rotated out
    with pytest.raises(BackupVerificationFailed, match="row counts differ"):
        backup_and_rotate(backups=backups, keep_daily=7, keep_weekly=4, key="m-1")
    assert backups.calls == ["create label=None key=m-1", "verify 7"]


def test_a_redelivered_run_does_not_verify_a_backup_verified_already():
    # Given the backup of this message id, found verified in the catalog
    backups = FakeBackups(verified_already=True)
    # When the job runs again
    run = backup_and_rotate(backups=backups, keep_daily=1, keep_weekly=1, key="m-1")
    # Then it is rotated without a second restore test
    assert backups.calls == ["create label=None key=m-1", "rotate daily=1 weekly=1"]
    assert run.summary().endswith(": 1234 bytes, ok; rotated out 2")


def test_without_verification_the_backup_is_reported_not_verified_and_still_rotated():
    backups = FakeBackups()
    run = backup_and_rotate(backups=backups, keep_daily=7, keep_weekly=4, verify=False)
    assert backups.calls == ["create label=None key=None", "rotate daily=7 weekly=4"]
    assert "1234 bytes, not verified; rotated out 2" in run.summary()


def test_back_up_alone_creates_and_verifies_but_never_rotates():
    # The CLI's `backups create`: no rotation behind the operator's back
    backups = FakeBackups()
    record = back_up(backups=backups, label="manual")
    assert backups.calls == ["create label=manual key=None", "verify 7"] and record.verification == "ok"
