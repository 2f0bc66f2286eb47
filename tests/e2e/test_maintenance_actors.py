"""backup_data and optimize_database run on a worker, as the timetable sends them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlmodel import select

from services.storage.db import session_scope
from services.storage.models import Backup
from tests.support.ledger import row, wait_state
from tests.support.workers import wait_for

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.both_databases,
]


def test_backup_data_backs_up_verifies_and_is_idempotent(start_workers, client, database_url, tmp_path):
    folder = tmp_path / "backups"
    start_workers(queues=["maintenance"], TICKWORK_BACKUP_DIR=str(folder))
    sent = client.send("backup_data", {"label": "nightly"})
    task = wait_state(database_url, sent.message_id, "completed", timeout=60)
    assert "bytes, ok; rotated out 0" in task.result_summary
    with session_scope(database_url) as session:
        [backup] = session.exec(select(Backup)).all()
    assert backup.verification == "ok" and backup.name.endswith(f"-nightly-{sent.message_id}")
    assert Path(backup.path).parent == folder.resolve() and Path(backup.path).exists()
    # the same message again (a redelivery) makes no second backup
    client.send("backup_data", {"label": "nightly"}, message_id=sent.message_id)

    def ran_again():
        again = row(database_url, sent.message_id)
        return again.state == "completed" and again.started_at > task.started_at

    wait_for(ran_again, 60, "the redelivered backup task to run")
    assert len(list(folder.iterdir())) == 1


def test_optimize_database_reports_what_it_did(start_workers, client, database_url):
    start_workers(queues=["maintenance"])
    sent = client.send("optimize_database", {})
    task = wait_state(database_url, sent.message_id, "completed", timeout=60)
    assert "actions" in task.result_summary and "bytes reclaimed" in task.result_summary


def test_cleanup_old_data_runs_and_the_cli_restores_its_archive(start_workers, client, database_url, tmp_path):
    import json
    import subprocess
    from datetime import UTC, datetime, timedelta

    from services.engine.ledger.tasks import record_submitted
    from services.storage.models import Task
    from tests.support.workers import ROOT

    with session_scope(database_url) as session:
        record_submitted(
            session=session,
            message_id="old-task",
            actor="probe_record",
            queue="refresh",
            priority="low",
            args={"tag": "old"},
        )
        session.flush()
        old = session.get(Task, "old-task")
        old.state, old.finished_at = "completed", datetime.now(UTC) - timedelta(days=400)
    archive = tmp_path / "archive"
    start_workers(queues=["maintenance"], TICKWORK_ARCHIVE_DIR=str(archive))
    sent = client.send("cleanup_old_data", {"kinds": ["task_ledger"]})
    task = wait_state(database_url, sent.message_id, "completed", timeout=60)
    assert "task_ledger (tasks): archived 1, deleted 1" in task.result_summary
    assert "task_ledger (scheduled_runs): archived 0, deleted 0" in task.result_summary
    assert row(database_url, "old-task") is None
    [manifest] = archive.glob("*.manifest.json")
    assert json.loads(manifest.read_text())["rows"] == 1
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    tickwork = str(Path(sys.executable).with_name("tickwork"))
    done = subprocess.run(
        [tickwork, "restore-archive", str(manifest)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"restored 1 row(s) from {manifest.name}"
    assert row(database_url, "old-task").state == "completed"
