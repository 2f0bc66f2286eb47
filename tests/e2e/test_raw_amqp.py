"""Another service, in any language, sends work by publishing the documented JSON with plain AMQP."""

from __future__ import annotations

import json

import pika
import pytest

from tests.support.envelopes import raw_envelope
from tests.support.workers import read_probe_log, wait_for

pytestmark = pytest.mark.rabbitmq


def test_message_published_with_raw_pika_is_processed_by_dramatiq_actors(start_workers, rabbit_url, probe_log):
    # Given a worker group started as a user starts it
    start_workers(queues=["refresh"])
    # When a message is published with pika alone, in the documented envelope and with no priority
    body = raw_envelope(kwargs={"tag": "from-raw-amqp"})
    connection = pika.BlockingConnection(pika.URLParameters(rabbit_url))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish("", "refresh", json.dumps(body).encode(), pika.BasicProperties(delivery_mode=2))
    connection.close()
    # Then the actor runs it, with its message id
    runs = wait_for(lambda: [r for r in read_probe_log(probe_log) if r["tag"] == "from-raw-amqp"], 15, "the run")
    assert runs[0]["message_id"] == body["message_id"]
