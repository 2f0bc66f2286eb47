"""RabbitMQ stopped (`rabbitmqctl stop_app`) and started again under load: the workers reconnect,
every message id sent ends `completed` exactly once, only deliveries unacknowledged when the broker
went away run twice, nothing stays running or retrying, and the queue is empty.

TICKWORK_FAULT_BROKER_MESSAGES (default 3,000) and TICKWORK_FAULT_BROKER_DOWN_S (default 5) size it.
"""

from __future__ import annotations

import os
import time

import pytest

from actors.rabbitmq import PREFETCH_CEILING
from services.engine.client import Send
from tests.faults.accounting import account, queue_depths, reruns_started_after, starts_by_message
from tests.faults.results import write_result
from tests.support.rabbit import have_rabbitmqctl, rabbitmqctl
from tests.support.workers import read_probe_log, wait_for

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.restarts_broker,
    pytest.mark.timeout(600),
    pytest.mark.skipif(not have_rabbitmqctl(), reason="restarts the local broker with rabbitmqctl"),
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

MESSAGES = int(os.environ.get("TICKWORK_FAULT_BROKER_MESSAGES", "3000"))
DOWN_S = float(os.environ.get("TICKWORK_FAULT_BROKER_DOWN_S", "5"))
PROCESSES, THREADS = 2, 8
SLEEP_MS = 50


def test_a_broker_restart_under_load_loses_nothing_and_reruns_only_unacked_work(
    broker_to_itself, worker_env, start_workers, client, rabbit, rabbit_url, database_url, probe_log, tmp_path
):
    # Given a worker group (2 processes x 8 threads) working through a backlog with idempotent effects
    effects = tmp_path / "effects"
    effects.mkdir()
    group = start_workers(queues=["refresh"], processes=PROCESSES, threads=THREADS, PROBE_EFFECTS=str(effects))
    sent = [
        m.message_id
        for m in client.send_many(
            [Send("probe_effect", {"tag": f"b{i}", "sleep_ms": SLEEP_MS}) for i in range(MESSAGES)]
        )
    ]
    wait_for(lambda: len(read_probe_log(probe_log)) > MESSAGES // 3, 120, "a third of the work to start")
    pids_before = {r["pid"] for r in read_probe_log(probe_log)}

    # When RabbitMQ stops for DOWN_S and starts again
    stopping_at = time.time()
    try:
        rabbitmqctl("stop_app")
        down_at = time.time()
        time.sleep(DOWN_S)
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")
    up_at = time.time()

    # Then the workers reconnect and every message completes
    def all_final() -> bool:
        figures = account(sent=sent, database_url=database_url, probe_log=probe_log, effects=effects)
        return figures["completed"] == MESSAGES and figures["stuck"] == 0

    wait_for(all_final, 300, "every message to complete after the restart", interval=0.5)
    final_at = time.time()
    time.sleep(1)  # (any delivery still unacknowledged would now show in the queue)
    figures = account(sent=sent, database_url=database_url, probe_log=probe_log, effects=effects)
    runs = starts_by_message(probe_log)
    first_after = min((r["t"] for rs in runs.values() for r in rs if r["t"] > up_at), default=final_at)
    pids_after = {r["pid"] for rs in runs.values() for r in rs if r["t"] > up_at}
    figures.update(
        processes=PROCESSES,
        threads=THREADS,
        started_before_stop=sum(1 for rs in runs.values() if rs[0]["t"] < stopping_at),
        # From stop_app's start (connections close during its few seconds) to the broker back up
        outage_s=round(up_at - stopping_at, 1),
        stop_s=round(down_at - stopping_at, 1),
        reconnect_s=round(first_after - up_at, 1),
        recovery_s=round(final_at - up_at, 1),
        reruns_of_later_work=len(reruns_started_after(probe_log, up_at)),
        **queue_depths(rabbit_url),
    )
    write_result("broker_restart_under_load", figures)
    assert group.process.poll() is None, "the worker group must ride the restart out"
    assert pids_after <= pids_before, "the same worker processes reconnect (none restarted)"
    assert figures["distinct_ids"] == figures["completed"] == MESSAGES
    assert figures["rows_missing"] == figures["lost"] == figures["stuck"] == figures["never_ran"] == 0
    assert figures["queue_left"] == figures["dead_letters"] == 0
    assert figures["effects_applied"] == MESSAGES and figures["effects_unexpected"] == 0
    # At least once: only deliveries the lost connections held unacknowledged run again, at most a
    # channel's widest prefetch per process
    assert figures["reruns_of_later_work"] == 0
    assert figures["ran_twice_or_more"] <= PROCESSES * THREADS * PREFETCH_CEILING
