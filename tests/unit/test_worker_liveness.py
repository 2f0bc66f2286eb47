"""Who may judge a worker dead, and what a stored worker row shows (services/engine/workers.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.engine.workers import MISSED_HEARTBEATS, ReconcileGate, worker_status
from services.storage.models import WorkerProcess

NOW = datetime.now(UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_worker_judges_its_peers_only_after_a_whole_silence_limit_of_its_own_heartbeats():
    # Given a worker just back from a database outage (or just started)
    clock = Clock()
    gate = ReconcileGate(heartbeat_s=5, clock=clock)
    # Then its first heartbeats do not let it reconcile: its peers' heartbeats are stale for the same reason
    assert gate.heartbeat_written() is False
    clock.now += MISSED_HEARTBEATS * 5 - 1
    assert gate.heartbeat_written() is False
    # Once it has reached the database for a whole silence limit, it may
    clock.now += 1
    assert gate.heartbeat_written() is True
    # A failed heartbeat starts the wait again
    gate.heartbeat_failed()
    clock.now += 5
    assert gate.heartbeat_written() is False


def worker(*, heartbeat_ago_s: float, stopped: bool = False) -> WorkerProcess:
    return WorkerProcess(
        id="h:1",
        host="h",
        pid=1,
        queues="refresh",
        started_at=NOW - timedelta(hours=1),
        heartbeat_at=NOW - timedelta(seconds=heartbeat_ago_s),
        stopped_at=NOW if stopped else None,
    )


def test_status_is_alive_dead_or_stopped():
    assert worker_status(worker(heartbeat_ago_s=1), NOW, 5) == "alive"
    assert worker_status(worker(heartbeat_ago_s=MISSED_HEARTBEATS * 5 + 1), NOW, 5) == "dead"
    assert worker_status(worker(heartbeat_ago_s=1, stopped=True), NOW, 5) == "stopped"
