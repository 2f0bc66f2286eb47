"""Long delays and retries outlive RabbitMQ's consumer_timeout and still run once, on time.

RabbitMQ closes a channel whose delivery stays unacknowledged past consumer_timeout. Dramatiq holds
delayed messages unacknowledged until due, so Tickwork re-parks them before the timeout. The test
lowers the broker's timeout to 4 s (checked every second) and holds messages 1.5 s at a time.
"""

from __future__ import annotations

import time

import pytest

from tests.support.rabbit import have_rabbitmqctl, rabbitmqctl
from tests.support.workers import read_probe_log, wait_for

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.slow,
    pytest.mark.restarts_broker,  # the timeout is broker-wide: no other test may open a channel meanwhile
    pytest.mark.skipif(not have_rabbitmqctl(), reason="needs rabbitmqctl on the broker's host"),
]

TIMEOUT_MS = 4000


@pytest.fixture
def short_consumer_timeout(broker_to_itself):
    """Lower the broker-wide timeout for channels opened from now on; restore it afterwards. Another
    test's channel opened meanwhile would be closed under a task that runs over 4 s (its message
    redelivered, run twice): the broker is this test's alone."""
    before = {
        key: rabbitmqctl("eval", f"application:get_env(rabbit, {key}).").strip()
        for key in ("consumer_timeout", "channel_tick_interval")
    }
    rabbitmqctl("eval", f"application:set_env(rabbit, consumer_timeout, {TIMEOUT_MS}).")
    rabbitmqctl("eval", "application:set_env(rabbit, channel_tick_interval, 1000).")
    yield
    for key, value in before.items():
        restored = value.removeprefix("{ok,").removesuffix("}") if value.startswith("{ok,") else None
        if restored is None:
            rabbitmqctl("eval", f"application:unset_env(rabbit, {key}).")
        else:
            rabbitmqctl("eval", f"application:set_env(rabbit, {key}, {restored}).")


def test_delay_and_retry_longer_than_consumer_timeout_run_once_on_time(
    short_consumer_timeout, start_workers, client, rabbit, probe_log
):
    # Given a worker that holds a delayed message at most 1.5 s at a time (the client keeps its
    # default hold of 600 s: the worker must not rely on senders to cap it)
    group = start_workers(queues=["refresh"], TICKWORK_DELAY_HOLD_SECONDS="1.5")
    # When a message is delayed by 3x the consumer timeout, and a failing one retries after 3x too
    sent_at = time.time()
    client.send("probe_record", {"tag": "delayed"}, delay_s=12)
    client.send(
        "probe_flaky",
        {"tag": "retried", "fail_times": 1},
        retry={"max_retries": 1, "first_delay_s": 12, "max_delay_s": 12, "jitter": 0},
    )

    # Then each runs exactly once more, on time
    def runs(tag):
        return [r for r in read_probe_log(probe_log) if r["tag"] == tag]

    wait_for(lambda: runs("delayed") and len(runs("retried")) == 2, 30, "both messages to run")
    time.sleep(TIMEOUT_MS / 1000 + 2)  # long enough for a duplicate to show up, if there were one
    [delayed] = [r for r in runs("delayed") if r["event"] == "start"]
    assert 12 <= delayed["t"] - sent_at < 12 + 2.5
    first, retry = runs("retried")
    assert 12 <= retry["t"] - first["t"] < 12 + 2.5
    assert rabbit.depth("refresh.XQ") == 0
    # ... and RabbitMQ never had to close a channel for an overdue acknowledgement
    assert "delivery acknowledgement" not in group.log_path.read_text()


def test_without_re_parking_the_broker_closes_the_channel(short_consumer_timeout, start_workers, client):
    # The control: a hold longer than the timeout makes RabbitMQ close the worker's delay channel,
    # which is what the test above proves does not happen.
    group = start_workers(queues=["refresh"], TICKWORK_DELAY_HOLD_SECONDS="60")
    client.send("probe_record", {"tag": "held-too-long"}, delay_s=30)
    wait_for(lambda: "delivery acknowledgement" in group.log_path.read_text(), 20, "the channel to be closed")
