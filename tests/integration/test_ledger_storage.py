"""The ledger's storage rules, against SQLite and PostgreSQL (no broker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.engine.ledger.batch import LogLimits
from services.engine.ledger.tasks import (
    TaskNotCancellable,
    get_task,
    purge_finished,
    record_submitted,
    request_cancel,
    task_log,
)
from services.engine.ledger.writer import LedgerWriter
from services.engine.workers import reconcile_dead_workers, register
from services.storage.db import make_engine, session_scope
from services.storage.models import WorkerProcess

pytestmark = pytest.mark.both_databases

NOW = datetime.now(UTC)


def identity(**extra):
    return {
        "actor": "probe_record",
        "queue": "refresh",
        "priority": "low",
        "args": {"tag": "x"},
        "created_at": NOW,
        "attempts": 1,
        **extra,
    }


@pytest.fixture
def writer(database_url):
    ledger = LedgerWriter(
        make_engine(database_url), flush_interval_s=0.05, log_limits=LogLimits(max_lines=3, max_bytes=1024)
    )
    ledger.start()
    yield ledger
    ledger.stop()


def task(database_url, message_id):
    with session_scope(database_url) as session:
        return get_task(session=session, message_id=message_id)


def test_updates_are_coalesced_into_one_row(writer, database_url):
    writer.record("m1", identity(state="running", started_at=NOW))
    writer.record("m1", identity(state="running", progress=0.5, current_step="half"))
    writer.record("m1", identity(state="completed", finished_at=NOW, progress=1.0))
    assert writer.flush()
    row = task(database_url, "m1")
    assert (row.state, row.progress, row.current_step) == ("completed", 1.0, "half")


def test_a_late_waiting_update_never_undoes_progress(writer, database_url):
    writer.record("m2", identity(state="running", started_at=NOW))
    writer.flush()
    writer.record("m2", identity(state="pending", scheduled_for=NOW), weak=True)
    writer.flush()
    assert task(database_url, "m2").state == "running"
    writer.record("m3", identity(state="pending", scheduled_for=NOW), weak=True)
    writer.flush()
    assert task(database_url, "m3").state == "pending"


def test_log_keeps_the_last_lines_only(writer, database_url):
    writer.record("m4", identity(state="running"))
    for i in range(5):
        writer.log("m4", f"line {i}")
    writer.flush()
    writer.log("m4", "line 5")
    writer.flush()
    with session_scope(database_url) as session:
        assert task_log(session=session, message_id="m4") == ["line 3", "line 4", "line 5"]


def test_client_pending_row_never_overwrites_a_worker_row(writer, database_url):
    writer.record("m5", identity(state="completed", finished_at=NOW))
    writer.flush()
    with session_scope(database_url) as session:
        record_submitted(
            session=session,
            message_id="m5",
            actor="probe_record",
            queue="refresh",
            priority="low",
            args={"tag": "x", "api_key": "s3cret"},
        )
        record_submitted(
            session=session,
            message_id="m6",
            actor="probe_record",
            queue="refresh",
            priority="low",
            args={"tag": "x", "api_key": "s3cret"},
        )
    assert task(database_url, "m5").state == "completed"
    assert task(database_url, "m6").args == {"tag": "x", "api_key": "***"}


def test_cancel_rules(writer, database_url):
    writer.record("waiting", identity(state="pending"))
    writer.record("busy", identity(state="running"))
    writer.record("done", identity(state="completed"))
    writer.flush()
    with session_scope(database_url) as session:
        assert request_cancel(session=session, message_id="waiting").state == "cancelled"
        busy = request_cancel(session=session, message_id="busy")
        assert busy.state == "running" and busy.cancel_requested_at is not None
        with pytest.raises(TaskNotCancellable):
            request_cancel(session=session, message_id="done")


def test_purge_deletes_only_final_rows_older_than_the_cutoff(writer, database_url):
    old = NOW - timedelta(days=40)
    writer.record("old-done", identity(state="completed", finished_at=old))
    writer.record("old-failed", identity(state="failed", finished_at=old))
    writer.record("new-done", identity(state="completed", finished_at=NOW))
    writer.record("old-running", identity(state="running", started_at=old))
    writer.flush()
    with session_scope(database_url) as session:
        assert purge_finished(session=session, older_than=NOW - timedelta(days=30), batch_size=1) == 2
    with session_scope(database_url) as session:
        left = {
            t
            for t in ("old-done", "old-failed", "new-done", "old-running")
            if session.get(__import__("services.storage.models", fromlist=["Task"]).Task, t)
        }
    assert left == {"new-done", "old-running"}


def test_running_task_of_a_silent_worker_is_reconciled(writer, database_url):
    with session_scope(database_url) as session:
        register(session=session, worker_id="h:1", host="h", pid=1, queues=["refresh"])
        register(session=session, worker_id="h:2", host="h", pid=2, queues=["refresh"])
        session.get(WorkerProcess, "h:1").heartbeat_at = NOW - timedelta(minutes=5)
    writer.record("lost", identity(state="running", worker="h:1"))
    writer.record("fine", identity(state="running", worker="h:2"))
    writer.flush()
    with session_scope(database_url) as session:
        assert reconcile_dead_workers(session=session, heartbeat_s=5) == 1
    assert (task(database_url, "lost").state, task(database_url, "lost").error_type) == ("retrying", "WorkerLost")
    assert task(database_url, "fine").state == "running"


def test_several_waiting_updates_in_one_flush_are_written(writer, database_url):
    for i in range(3):
        writer.record(f"w{i}", identity(state="pending", scheduled_for=NOW), weak=True)
    writer.flush()
    assert [task(database_url, f"w{i}").state for i in range(3)] == ["pending"] * 3


def test_a_refused_update_is_dropped_alone_and_the_others_are_written(writer, database_url):
    writer.record("good", identity(state="running"))
    writer.record("bad", identity(state="running", actor=None))  # NOT NULL: the database refuses it
    writer.flush()
    writer.record("later", identity(state="running"))
    writer.flush()
    assert task(database_url, "good").state == "running" and task(database_url, "later").state == "running"


def test_a_heartbeat_brings_a_worker_taken_for_stopped_back_to_alive(database_url):
    from services.engine.workers import heartbeat, mark_stopped, worker_status

    # Given a worker recorded as stopped (as an older reconciliation did after a database outage)
    with session_scope(database_url) as session:
        register(session=session, worker_id="h:7", host="h", pid=7, queues=["refresh"])
        mark_stopped(session=session, worker_id="h:7")
    # When it heartbeats
    with session_scope(database_url) as session:
        heartbeat(session=session, worker_id="h:7", in_flight=1, processed=2, failed=0)
    # Then it is alive again
    with session_scope(database_url) as session:
        assert worker_status(session.get(WorkerProcess, "h:7"), datetime.now(UTC), 5) == "alive"


def test_a_stopped_worker_that_went_silent_still_has_its_running_rows_reconciled(writer, database_url):
    from services.engine.workers import mark_stopped

    # Given a worker marked stopped that left a row running, and whose heartbeat is long stale
    with session_scope(database_url) as session:
        register(session=session, worker_id="h:8", host="h", pid=8, queues=["refresh"])
        mark_stopped(session=session, worker_id="h:8")
        session.get(WorkerProcess, "h:8").heartbeat_at = NOW - timedelta(minutes=5)
    writer.record("left", identity(state="running", worker="h:8"))
    writer.flush()
    # Then reconciliation still reaches its row
    with session_scope(database_url) as session:
        assert reconcile_dead_workers(session=session, heartbeat_s=5) == 1
    assert task(database_url, "left").state == "retrying"


def test_an_acknowledgement_waits_for_the_commit_but_not_for_the_interval(database_url):
    import threading
    import time

    # Given a writer that batches for 5 s
    slow = LedgerWriter(make_engine(database_url), flush_interval_s=5.0)
    slow.start()
    try:
        seen: list[str] = []
        done = threading.Event()

        def acknowledge():
            seen.append(task(database_url, "final").state)
            done.set()

        # When a final update is queued and an acknowledgement waits for it
        began = time.monotonic()
        slow.record("final", identity(state="running"))
        slow.record("final", identity(state="completed"))
        slow.when_written(acknowledge)
        # Then the acknowledgement comes well before the interval, and after the row is committed
        assert done.wait(3)
        assert time.monotonic() - began < 2
        assert seen == ["completed"]
    finally:
        slow.stop()


def test_a_refused_final_update_still_lands_its_state(writer, database_url):
    # Given an update the database refuses whole (an argument PostgreSQL and SQLite cannot bind)
    writer.record("odd", identity(state="completed", args={"x": object()}))
    writer.flush()
    # Then its state is written without the refused details
    found = task(database_url, "odd")
    assert (found.state, found.error_type) == ("completed", "LedgerRefused")


ACTIVE_PEERS = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"


def test_the_writer_replaces_a_connection_the_server_dropped(writer, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a server that drops connections: PostgreSQL")
    import sqlalchemy

    # Given a writer that has written through the connection it keeps between batches
    writer.record("m-before", identity(state="completed", finished_at=NOW))
    assert writer.flush()
    # When the server drops every other connection (a restart, an idle timeout, an operator)
    with make_engine(database_url).connect() as admin:
        dropped = admin.execute(sqlalchemy.text(f"SELECT pg_terminate_backend(pid) FROM ({ACTIVE_PEERS}) AS peers"))
        assert list(dropped.scalars())
        admin.commit()
    # Then the next batch is written on a new connection, nothing lost
    writer.record("m-after", identity(state="completed", finished_at=NOW))
    assert writer.flush(timeout_s=15)
    assert task(database_url, "m-after").state == "completed"
