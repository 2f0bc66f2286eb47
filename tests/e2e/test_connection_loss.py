"""A task still running when its worker's broker connection is lost finishes after Dramatiq has
reconnected its consumer: its acknowledgement must not go to the new channel, whose delivery tags
start at 1 again and so name other deliveries (here: the same message, delivered again and running).
"""

from __future__ import annotations

import time

import pytest

from services.engine.ledger.tasks import get_task
from services.storage.db import session_scope
from tests.support.rabbit import close_connections, have_rabbitmqctl, unacknowledged
from tests.support.workers import read_probe_log, wait_for

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.slow,
    pytest.mark.skipif(not have_rabbitmqctl(), reason="closes connections with rabbitmqctl"),
]

TASK_MS = 12_000


def runs(probe_log, event: str) -> list[dict]:
    return [r for r in read_probe_log(probe_log) if r["event"] == event]


def test_a_task_from_a_lost_connection_is_not_acked_on_the_reconnected_channel(
    start_workers, client, rabbit_url, database_url, probe_log
):
    # Given a worker running a long task, delivered as the first delivery (tag 1) of its channel
    start_workers(queues=["refresh"], processes=1, threads=2)
    sent = client.send("probe_record", {"tag": "long", "sleep_ms": TASK_MS})
    wait_for(lambda: runs(probe_log, "start"), 30, "the task to start")

    # When RabbitMQ closes the worker's connections: the consumer reconnects after 3 s and is handed
    # the same message again, as tag 1 of the new channel, and runs it on the other thread
    close_connections(rabbit_url)
    wait_for(lambda: len(runs(probe_log, "start")) == 2, 30, "the message to be delivered again")

    # Then, once the first run finishes, the second is still unacknowledged while it runs
    wait_for(lambda: runs(probe_log, "done"), TASK_MS / 1000 + 10, "the first run to finish")
    time.sleep(1.5)  # (its row committed, its ack would have gone out)
    assert unacknowledged(rabbit_url, "refresh") == 1, "the first run's ack must not have acked the second"
    assert len(runs(probe_log, "done")) == 1, "the second run must still be running"
    # ... and it is acked once it has finished, its row completed
    wait_for(lambda: len(runs(probe_log, "done")) == 2, TASK_MS / 1000 + 10, "the second run to finish")
    wait_for(lambda: unacknowledged(rabbit_url, "refresh") == 0, 10, "the second run's ack")
    with session_scope(database_url) as session:
        assert get_task(session=session, message_id=sent.message_id).state == "completed"
