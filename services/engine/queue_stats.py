"""Queue depth, consumers and rates, read from RabbitMQ.

Depth and consumers come over AMQP (a passive declare), so they work against any broker. Message
rates exist only in RabbitMQ's management API; they are read from it when
TICKWORK_RABBITMQ_MANAGEMENT_URL is set, and are None otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, unquote, urlparse

import pika
import pika.exceptions
import requests

from services.engine.topology import QUEUES, dead_letter_queue, delay_queue

MANAGEMENT_TIMEOUT_S = 5.0
log = logging.getLogger("tickwork.queues")


@dataclass(frozen=True)
class QueueStats:
    queue: str
    kind: str  # work | delay | dead_letter
    ready: int
    consumers: int
    unacked: int | None = None  # management API only
    publish_rate: float | None = None  # messages/s, management API only
    deliver_rate: float | None = None
    ack_rate: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def all_queues() -> list[tuple[str, str]]:
    return [
        (name, kind)
        for queue in QUEUES
        for name, kind in ((queue, "work"), (delay_queue(queue), "delay"), (dead_letter_queue(queue), "dead_letter"))
    ]


def queue_stats(rabbitmq_url: str, management_url: str | None = None) -> list[QueueStats]:
    """Every queue of the topology; raises pika's AMQPError when the broker is unreachable."""
    management = _management_stats(rabbitmq_url, management_url) if management_url else {}

    stats = []
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    try:
        for name, kind in all_queues():
            channel = connection.channel()
            try:
                declared = channel.queue_declare(name, passive=True).method
                ready, consumers = declared.message_count, declared.consumer_count
            except pika.exceptions.ChannelClosedByBroker:  # not declared yet: no worker has started
                ready, consumers = 0, 0
            extra = management.get(name, {})
            stats.append(QueueStats(name, kind, ready, consumers, **extra))
    finally:
        connection.close()
    return stats


def _management_stats(rabbitmq_url: str, management_url: str) -> dict[str, dict[str, Any]]:
    """{queue: {unacked, publish_rate, deliver_rate, ack_rate}} from GET /api/queues/<vhost>."""
    amqp = urlparse(rabbitmq_url)
    vhost = unquote(amqp.path[1:]) if len(amqp.path) > 1 else "/"
    management = urlparse(management_url)
    user = unquote(management.username or amqp.username or "guest")
    password = unquote(management.password or amqp.password or "guest")
    base = f"{management.scheme}://{management.hostname}{f':{management.port}' if management.port else ''}"
    url = f"{base}{management.path.rstrip('/')}/api/queues/{quote(vhost, safe='')}"
    try:
        reply = requests.get(url, auth=(user, password), timeout=MANAGEMENT_TIMEOUT_S)
        reply.raise_for_status()
    except requests.RequestException as error:  # depth and consumers still come over AMQP
        log.warning("management API unavailable, rates omitted: %s", error)
        return {}
    found = {}
    for queue in reply.json():
        details = queue.get("message_stats") or {}

        def rate(name: str, details: dict[str, Any] = details) -> float:
            return float((details.get(f"{name}_details") or {}).get("rate", 0.0))

        found[queue["name"]] = {
            "unacked": queue.get("messages_unacknowledged"),
            "publish_rate": rate("publish"),
            "deliver_rate": rate("deliver_get"),
            "ack_rate": rate("ack"),
        }
    return found
