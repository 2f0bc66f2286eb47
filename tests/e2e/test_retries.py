"""Transient failures are retried with the class's backoff; errors that cannot succeed are not."""

from __future__ import annotations

import itertools

import pytest

from tests.support.probe_contract import FAST_RETRY
from tests.support.rabbit import decode
from tests.support.workers import read_probe_log, wait_for

pytestmark = pytest.mark.rabbitmq


def attempts(probe_log, tag):
    return [r for r in read_probe_log(probe_log) if r["tag"] == tag]


def test_transient_failure_is_retried_then_succeeds(start_workers, client, rabbit, probe_log):
    start_workers(queues=["refresh"])
    client.send("probe_flaky", {"tag": "once", "fail_times": 1})
    runs = wait_for(lambda: len(attempts(probe_log, "once")) == 2 and attempts(probe_log, "once"), 10, "2 attempts")
    assert [r["retries"] for r in runs] == [0, 1]
    assert runs[1]["t"] - runs[0]["t"] >= FAST_RETRY.first_delay_s
    assert rabbit.depth("refresh.XQ") == 0


def test_transient_failure_backs_off_exponentially_then_is_dead_lettered(start_workers, client, rabbit, probe_log):
    # Given an actor whose class allows 2 retries, 0.5 s then 1 s apart (no jitter)
    start_workers(queues=["refresh"])
    # When it keeps failing
    sent = client.send("probe_flaky", {"tag": "always", "fail_times": 99})
    # Then it runs 3 times with growing delays ...
    wait_for(lambda: rabbit.depth("refresh.XQ") == 1, 15, "the dead letter")
    runs = attempts(probe_log, "always")
    assert [r["retries"] for r in runs] == [0, 1, 2]
    gaps = [b["t"] - a["t"] for a, b in itertools.pairwise(runs)]
    assert 0.5 <= gaps[0] < 0.5 + 1.5
    assert 1.0 <= gaps[1] < 1.0 + 1.5
    # ... and is dead-lettered with the last error, its traceback and the attempt count
    [(_properties, body)] = rabbit.dead_letters("refresh")
    record = decode(body)["options"]["dead_letter"]
    assert decode(body)["message_id"] == sent.message_id
    assert record["reason"] == "retries_exhausted"
    assert record["error_type"] == "ConnectionError"
    assert record["attempts"] == 3
    assert "transient failure" in record["traceback"]


def test_non_retryable_error_is_dead_lettered_at_once(start_workers, client, rabbit, probe_log):
    start_workers(queues=["refresh"])
    client.send("probe_fatal", {"tag": "fatal"})
    wait_for(lambda: rabbit.depth("refresh.XQ") == 1, 5, "the dead letter")
    [(properties, _)] = rabbit.dead_letters("refresh")
    assert properties.headers["x-tickwork-reason"] == "failed"
    assert properties.headers["x-tickwork-error-type"] == "ProbeRefused"
    assert properties.headers["x-tickwork-attempts"] == 1
    assert len(attempts(probe_log, "fatal")) == 1
    assert rabbit.depth("refresh.DQ") == 0


def test_sender_can_override_the_retry_policy_for_one_message(start_workers, client, rabbit, probe_log):
    start_workers(queues=["refresh"])
    client.send("probe_flaky", {"tag": "no-retry", "fail_times": 5}, retry={"max_retries": 0})
    wait_for(lambda: rabbit.depth("refresh.XQ") == 1, 5, "the dead letter")
    assert len(attempts(probe_log, "no-retry")) == 1


def test_task_over_its_time_limit_is_interrupted(start_workers, client, rabbit, probe_log):
    # Given a 5-second task sent with a 0.5 s time limit and no retries
    start_workers(queues=["refresh"])
    client.send("probe_busy", {"tag": "slow", "seconds": 5}, time_limit_s=0.5, retry={"max_retries": 0})
    # Then it is interrupted and dead-lettered long before it could finish
    wait_for(lambda: rabbit.depth("refresh.XQ") == 1, 4, "the dead letter")
    [(properties, _)] = rabbit.dead_letters("refresh")
    assert properties.headers["x-tickwork-error-type"] == "TimeLimitExceeded"
    assert not [r for r in read_probe_log(probe_log) if r.get("event") == "done"]
