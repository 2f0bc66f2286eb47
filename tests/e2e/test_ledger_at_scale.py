"""The ledger stays exact under load and through crashes, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal

import pika
import pytest
from prometheus_client.parser import text_string_to_metric_families

import tests.support.probe_contract  # noqa: F401  (the probe actors' contract entries)
from services.contract import CONTRACT
from services.contract.envelope import encode, new_message
from tests.support.ledger import all_tasks, counts, row, wait_state
from tests.support.workers import read_probe_log, wait_for

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.slow,
    pytest.mark.both_databases,
]


def completed_in_metrics(group) -> float:
    total = 0.0
    for family in text_string_to_metric_families(group.metrics()):
        for sample in family.samples:
            if sample.name == "tickwork_tasks_total" and sample.labels["state"] == "completed":
                total += sample.value
    return total


def test_10000_tasks_through_2_processes_leave_exactly_10000_final_rows(start_workers, rabbit_url, database_url):
    # Given 10,000 messages published fast (one confirmed batch, as a busy sender would)
    spec = CONTRACT.get("probe_record")
    connection = pika.BlockingConnection(pika.URLParameters(rabbit_url))
    channel = connection.channel()
    for i in range(10_000):
        channel.basic_publish(
            "", "refresh", encode(new_message(spec, {"tag": f"t{i}"})), pika.BasicProperties(delivery_mode=2)
        )
    connection.close()
    # When two worker processes run them
    group = start_workers(queues=["refresh"], processes=2, threads=8)
    wait_for(lambda: counts(database_url).get("completed", 0) == 10_000, 240, "10,000 completed rows", interval=1)
    # Then the ledger has exactly 10,000 rows, every one final, and the metrics agree
    tasks = all_tasks(database_url)
    assert len(tasks) == 10_000
    assert {t.state for t in tasks} == {"completed"}
    assert len({t.worker for t in tasks}) == 2
    assert completed_in_metrics(group) == 10_000


def test_sigkilled_worker_leaves_no_row_running(start_workers, client, database_url, probe_log):
    # Given two groups and a 3-second task under way
    start_workers(queues=["refresh"], processes=1, threads=1)
    start_workers(queues=["refresh"], processes=1, threads=1)
    sent = client.send("probe_record", {"tag": "killed", "sleep_ms": 3000})
    started = wait_for(lambda: [r for r in read_probe_log(probe_log) if r["event"] == "start"], 10, "start")[0]
    assert wait_state(database_url, sent.message_id, "running").worker.endswith(f":{started['pid']}")
    # When its process is killed
    os.kill(started["pid"], signal.SIGKILL)
    # Then the redelivered message completes elsewhere and the row says so
    task = wait_state(database_url, sent.message_id, "completed", timeout=30)
    assert not task.worker.endswith(f":{started['pid']}")
    assert [t for t in all_tasks(database_url) if t.state == "running"] == []


def test_task_of_a_worker_known_dead_is_reconciled(start_workers, client, database_url, probe_log):
    # Given a worker running a task, and another group (other queue) that watches heartbeats
    beat = {"TICKWORK_HEARTBEAT_SECONDS": "0.2"}
    start_workers(queues=["refresh"], processes=1, threads=1, **beat)
    start_workers(queues=["orders"], processes=1, threads=1, **beat)
    sent = client.send("probe_record", {"tag": "orphan", "sleep_ms": 10_000})
    started = wait_for(lambda: [r for r in read_probe_log(probe_log) if r["event"] == "start"], 10, "start")[0]
    wait_state(database_url, sent.message_id, "running")
    # When the refresh worker dies and no other worker takes the message back
    os.kill(started["pid"], signal.SIGKILL)
    # Then its row does not stay running: it waits for redelivery, saying why
    task = wait_state(database_url, sent.message_id, "retrying", timeout=10)
    assert task.error_type == "WorkerLost"
    assert row(database_url, sent.message_id).state != "running"
