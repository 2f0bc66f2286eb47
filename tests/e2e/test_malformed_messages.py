"""Bad input gets a clear reason and loses nothing: it goes to the .XQ at once, unretried, and the
worker carries on."""

from __future__ import annotations

import time

import pytest

from tests.support.envelopes import raw_body
from tests.support.ledger import wait_state
from tests.support.rabbit import decode
from tests.support.workers import read_probe_log, wait_for

pytestmark = pytest.mark.rabbitmq


MALFORMED = {
    "bad JSON": (b'{"queue_name": "refresh", "actor_name": ', "undecodable"),
    "not UTF-8": (b"\xff\xfe\x00garbage", "undecodable"),
    "not an envelope": (b'{"hello": "world"}', "malformed_envelope"),
    "unknown actor": (raw_body(actor_name="no_such_actor"), "unknown_actor"),
    # (an actor of the contract sent to another queue than its own)
    "contract actor on the wrong queue": (raw_body(actor_name="run_bot", kwargs={"bot_id": 1}), "invalid_payload"),
    "wrong argument type": (raw_body(kwargs={"tag": 5}), "invalid_payload"),
    "missing field": (raw_body(kwargs={}), "invalid_payload"),
    "unexpected field": (raw_body(kwargs={"tag": "x", "tga": "typo"}), "invalid_payload"),
    "positional arguments": (raw_body(args=["x"]), "invalid_payload"),
    "wrong queue": (raw_body(actor_name="probe_order", kwargs={"tag": "x"}), "invalid_payload"),
    "bad option": (raw_body(options={"retry_policy": {"max_retries": -1}}), "invalid_payload"),
    "oversized payload": (raw_body(kwargs={"tag": "x" * 300_000}), "oversized"),
}


def test_each_malformed_input_is_dead_lettered_at_once_with_its_reason(start_workers, rabbit, probe_log):
    # Given a running worker
    start_workers(queues=["refresh"], threads=2)
    # When every kind of malformed message is published, followed by a good one
    sent_at = time.monotonic()
    for body, _ in MALFORMED.values():
        rabbit.publish_raw("refresh", body)
    rabbit.publish_raw("refresh", raw_body(kwargs={"tag": "still-working"}))

    # Then each lands in refresh.XQ within a second ...
    wait_for(lambda: rabbit.depth("refresh.XQ") >= len(MALFORMED), 1.0 + 0.5, "every message in refresh.XQ")
    assert time.monotonic() - sent_at < 2.0
    # ... exactly once, with its reason in the headers, and the original bytes where it was unreadable
    dead = rabbit.dead_letters("refresh")
    assert len(dead) == len(MALFORMED)
    reasons = sorted(p.headers["x-tickwork-reason"] for p, _ in dead)
    assert reasons == sorted(reason for _, reason in MALFORMED.values())
    bodies = {body for _, body in dead}
    assert MALFORMED["bad JSON"][0] in bodies and MALFORMED["not UTF-8"][0] in bodies
    for properties, body in dead:
        assert properties.headers["x-tickwork-attempts"] == 1
        assert properties.headers["x-tickwork-error"]
        if properties.headers["x-tickwork-reason"] == "invalid_payload":
            assert decode(body)["options"]["dead_letter"]["reason"] == "invalid_payload"
    # ... none was retried, and the worker went on to the good message
    assert rabbit.depth("refresh.DQ") == 0
    runs = wait_for(lambda: read_probe_log(probe_log), 5, "the good message to run")
    assert {r["tag"] for r in runs} == {"still-working"}


def test_rejection_reason_names_the_bad_field(start_workers, rabbit):
    start_workers(queues=["refresh"])
    rabbit.publish_raw("refresh", raw_body(kwargs={"tag": 5}))
    wait_for(lambda: rabbit.depth("refresh.XQ") == 1, 5, "the dead letter")
    [(properties, _)] = rabbit.dead_letters("refresh")
    assert "tag" in properties.headers["x-tickwork-error"]
    assert "valid string" in properties.headers["x-tickwork-error"]


def test_an_unreadable_body_is_recorded_under_its_amqp_message_id_and_queue(start_workers, rabbit, database_url):
    # Given a worker, and a sender that set the AMQP message_id property on a body that is not JSON
    start_workers(queues=["refresh"])
    rabbit.publish_raw("refresh", b'{"queue_name": "refresh", "actor_name": ', message_id="sender-id-17")
    rabbit.publish_raw("refresh", b"no id at all")
    # Then the ledger row is keyed by the sender's id, on the queue it was consumed from
    task = wait_state(database_url, "sender-id-17", "failed")
    assert task.queue == "refresh"
    assert task.error_type == "undecodable" or "undecodable" in (task.error_message or "")
    # ... and the headers of the dead letter name that queue too
    wait_for(lambda: rabbit.depth("refresh.XQ") == 2, 5, "both dead letters")
    assert {p.headers["x-tickwork-queue"] for p, _ in rabbit.dead_letters("refresh")} == {"refresh"}
