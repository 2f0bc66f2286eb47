"""backup_data and optimize_database run on a worker, as the timetable sends them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from services.storage.db import session_scope
from services.storage.models import Backup
from tests.support.ledger import row, wait_state
from tests.support.workers import wait_for

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.parametrize(
        "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
    ),
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
