"""PostgreSQL stopped for 30 s under load, on a cluster of the test's own: the ledger is kept and
written afterwards, tasks that need the database are retried and complete, and the workers stay
alive and are shown alive (`tickwork workers`), none reconciled as dead.

TICKWORK_FAULT_OUTAGE_S (default 30) and TICKWORK_FAULT_OUTAGE_MESSAGES (default 2,000) size it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

import tests.support.probe_contract  # noqa: F401  (the probe actors' contract, for the client)
from services.engine.client import Send, TickworkClient
from services.engine.workers import list_workers, worker_status
from services.settings import Settings
from services.storage.db import session_factory, session_scope
from services.storage.migrate import upgrade
from tests.faults.accounting import account, queue_depths
from tests.faults.pg_cluster import Cluster
from tests.faults.results import write_result
from tests.support.workers import read_probe_log, wait_for

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow, pytest.mark.timeout(900)]

OUTAGE_S = float(os.environ.get("TICKWORK_FAULT_OUTAGE_S", "30"))
MESSAGES = int(os.environ.get("TICKWORK_FAULT_OUTAGE_MESSAGES", "2000"))
BIN_DIR = Path(sys.executable).parent
HEARTBEAT_S = 1.0  # silence limit 6 s: far shorter than the outage, as in production (30 s vs 34 s)


@pytest.fixture
def own_postgres():
    # Not under tmp_path: the postgres OS user cannot reach pytest's root-only folders.
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="tickwork-faults-pg-")))
    cluster.start()
    upgrade(cluster.url)
    yield cluster
    cluster.destroy()


def test_a_30_second_database_outage_under_load_loses_nothing_and_kills_no_worker(
    own_postgres, worker_env, start_workers, rabbit, rabbit_url, probe_log, tmp_path
):
    # Given two worker groups on a database of the test's own, and a backlog of which half needs the database
    database_url = own_postgres.url
    effects = tmp_path / "effects"
    effects.mkdir()
    extra = {
        "DATABASE_URL": database_url,
        "PROBE_EFFECTS": str(effects),
        "TICKWORK_HEARTBEAT_SECONDS": str(HEARTBEAT_S),
    }
    for _ in range(2):
        start_workers(queues=["refresh"], processes=1, threads=8, **extra)
    settings = Settings(rabbitmq_url=rabbit_url, database_url=database_url)
    backlog = [Send("probe_effect", {"tag": f"o{i}", "sleep_ms": 300, "database": i % 2 == 0}) for i in range(MESSAGES)]
    with TickworkClient(settings=settings, url=rabbit_url, ledger=session_factory(database_url)) as client:
        sent = [m.message_id for m in client.send_many(backlog)]
    wait_for(lambda: len(read_probe_log(probe_log)) > 50, 60, "the work to start")

    # When PostgreSQL stops for OUTAGE_S under that load (the backlog takes ~40 s of the 16 threads)
    backlog_left = sum(queue_depths(rabbit_url).values())
    own_postgres.stop()
    down_at = time.monotonic()
    runs_at_stop = starts(probe_log)
    time.sleep(OUTAGE_S)
    runs_during_outage = starts(probe_log) - runs_at_stop
    own_postgres.start()
    up_at = time.monotonic()

    # Then every message completes, its row written once the database is back
    def all_final() -> bool:
        figures = account(sent=sent, database_url=database_url, probe_log=probe_log, effects=effects)
        return figures["completed"] == MESSAGES and figures["stuck"] == 0

    wait_for(all_final, 300, "every message to complete after the outage", interval=1)
    recovered_s = time.monotonic() - up_at
    # ... and both workers are alive, and shown alive, after more than a silence limit
    time.sleep(HEARTBEAT_S * 8)
    with session_scope(database_url) as session:
        now = datetime.now(UTC)
        statuses = {w.id: worker_status(w, now, HEARTBEAT_S) for w in list_workers(session=session)}
    shown = subprocess.run(
        [str(BIN_DIR / "tickwork"), "workers", "--json"],
        env={**worker_env, **extra},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    shown_statuses = {w["id"]: w["status"] for w in json.loads(shown.stdout)}
    figures = account(sent=sent, database_url=database_url, probe_log=probe_log, effects=effects)
    # (no worker took another for dead: reconciliation says so in its log when it changes a row)
    worker_lost = sum(p.read_text(errors="replace").count("reconciled_orphans") for p in tmp_path.glob("workers-*.log"))
    figures.update(
        outage_s=round(up_at - down_at, 1),
        runs_during_outage=runs_during_outage,
        backlog_at_stop=backlog_left,
        recovery_s=round(recovered_s, 1),
        workers=statuses,
        workers_shown=shown_statuses,
        reconciled_as_lost=worker_lost,
        **queue_depths(rabbit_url),
    )
    write_result("database_outage", figures)
    assert figures["distinct_ids"] == figures["completed"] == MESSAGES
    assert figures["rows_missing"] == figures["lost"] == figures["stuck"] == 0
    assert figures["effects_applied"] == MESSAGES and figures["effects_unexpected"] == 0
    assert figures["queue_left"] == figures["dead_letters"] == 0
    assert sorted(statuses.values()) == ["alive", "alive"]
    assert shown_statuses == statuses
    assert worker_lost == 0
    assert backlog_left > 0, "the outage must come under load"


def starts(probe_log) -> int:
    return sum(1 for r in read_probe_log(probe_log) if r["event"] == "start")
