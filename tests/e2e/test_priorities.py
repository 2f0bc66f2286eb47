"""Priorities hold end to end: RabbitMQ orders by them and prefetch does not defeat them."""

from __future__ import annotations

import time

import pytest

import tests.support.probe_contract  # noqa: F401  (the probes' contract entries)
from services.engine.client import Send, TickworkClient
from services.settings import Settings
from tests.support.workers import read_probe_log, wait_for

pytestmark = pytest.mark.rabbitmq


def starts(probe_log):
    return [r for r in read_probe_log(probe_log) if r.get("event") in ("start", None)]


@pytest.mark.slow
def test_critical_message_overtakes_a_backlog_of_20000_low_messages(start_workers, rabbit_url, rabbit, probe_log):
    # A sender without a ledger: send() returns right after the confirm, so the send time is exact.
    sender = TickworkClient(settings=Settings(rabbitmq_url=rabbit_url), url=rabbit_url)
    # Given 20,000 low-priority 5 ms messages waiting on `refresh`
    backlog = 20_000
    sender.send_many([Send("probe_record", {"tag": f"low-{i}", "sleep_ms": 5}) for i in range(backlog)])
    assert rabbit.depth("refresh") == backlog
    # ... and workers that have started on them
    start_workers(queues=["refresh"], processes=2, threads=8)
    wait_for(lambda: len(starts(probe_log)) >= 200, 60, "the backlog to be under way")

    # When a critical message is sent to the same queue
    sender.send("probe_record", {"tag": "urgent"}, priority="critical")
    sent_at = time.time()
    sender.close()

    # Then it starts before at least 99% of the backlog still waiting when it was sent
    # (workers stamp each start with time.time() on this same machine)
    wait_for(lambda: any(r["tag"] == "urgent" for r in starts(probe_log)), 30, "the critical message")
    runs = starts(probe_log)
    urgent = next(r for r in runs if r["tag"] == "urgent")
    waiting = backlog - len([r for r in runs if r["tag"] != "urgent" and r["t"] <= sent_at])
    overtaken_by = len([r for r in runs if r["tag"] != "urgent" and sent_at < r["t"] < urgent["t"]])
    assert overtaken_by <= 0.01 * waiting, f"{overtaken_by} of {waiting} waiting messages started first"


def test_orders_start_while_every_refresh_thread_is_busy(start_workers, client, probe_log):
    # Given the worker groups of docker-compose: orders on its own workers
    start_workers(queues=["orders"], processes=1, threads=2)
    start_workers(queues=["refresh"], processes=1, threads=2)
    # ... and every refresh thread busy with 5-second tasks, more waiting
    for i in range(6):
        client.send("probe_record", {"tag": f"slow-{i}", "sleep_ms": 5000})
    wait_for(lambda: len([r for r in starts(probe_log) if r["tag"].startswith("slow")]) == 2, 10, "refresh busy")

    # When an order message is sent
    sent = client.send("probe_order", {"tag": "order"})
    # Then it starts at once, while the refresh tasks are still running
    order = wait_for(lambda: [r for r in starts(probe_log) if r["tag"] == "order"], 5, "the order to start")[0]
    slow_done = [r for r in read_probe_log(probe_log) if r.get("event") == "done"]
    assert not slow_done, "the order waited for a refresh task"
    assert order["message_id"] == sent.message_id


def test_actor_default_priority_is_put_on_the_wire(client, rabbit):
    # Given no worker, messages from the client carry their actor's default AMQP priority ...
    client.send("probe_record", {"tag": "low-by-default"})
    client.send("probe_order", {"tag": "critical-by-default"})
    # ... or the sender's override
    client.send("probe_record", {"tag": "raised"}, priority="high")
    got = {}
    for queue in ("refresh", "orders"):
        while True:
            method, properties, body = rabbit.channel.basic_get(queue, auto_ack=True)
            if method is None:
                break
            got[__import__("json").loads(body)["kwargs"]["tag"]] = properties.priority
    assert got == {"low-by-default": 0, "critical-by-default": 3, "raised": 2}


def test_dramatiq_send_puts_the_actor_default_priority_on_the_wire(worker_env, rabbit):
    # Given an actor declared from the contract, sent the Dramatiq way (actor.send) in a process
    # that imports the actors as a worker or scheduler does
    import subprocess
    import sys

    from tests.support.workers import ROOT

    script = "from tests.support import probe_actors as p; p.probe_order.send(tag='via-dramatiq')"
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=worker_env, check=True, timeout=60)
    # Then the AMQP priority is the contract's `critical`, not Dramatiq's default of none
    method, properties, _body = rabbit.channel.basic_get("orders", auto_ack=True)
    assert method is not None
    assert properties.priority == 3
