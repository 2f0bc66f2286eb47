"""A worker killed mid-task loses nothing: the message runs again on another worker."""

from __future__ import annotations

import os
import signal

import pytest

from tests.support.workers import read_probe_log, wait_for

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]


def test_sigkilled_worker_task_runs_again_on_another_worker(start_workers, client, rabbit, probe_log):
    # Given two worker groups (two hosts) on the same queue
    first = start_workers(queues=["refresh"], processes=1, threads=1)
    second = start_workers(queues=["refresh"], processes=1, threads=1)
    # ... and a 3-second task under way on one of them
    sent = client.send("probe_record", {"tag": "long", "sleep_ms": 3000})
    started = wait_for(lambda: [r for r in read_probe_log(probe_log) if r["event"] == "start"], 10, "start")[0]

    # When the process running it is killed with SIGKILL
    os.kill(started["pid"], signal.SIGKILL)

    # Then the message is redelivered and completes on a surviving worker process
    done = wait_for(lambda: [r for r in read_probe_log(probe_log) if r["event"] == "done"], 30, "completion")
    assert done[0]["message_id"] == sent.message_id
    assert done[0]["pid"] != started["pid"]
    assert rabbit.depth("refresh") == 0
    assert rabbit.depth("refresh.XQ") == 0
    assert first.process.poll() is not None or second.process.poll() is not None, "one group went down with it"
