"""RabbitMQ helpers for tests: a throw-away virtual host, queue inspection and broker settings.

`rabbitmqctl`, `create_vhost` and `delete_vhost` are the one copy that `bench/rabbit.py` imports too.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import uuid
from collections import Counter
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pika
import pika.exceptions

from services.engine.client import declare_topology
from services.engine.topology import QUEUES, dead_letter_queue, delay_queue

BASE_URL = "amqp://guest:guest@127.0.0.1:5672"


def rabbitmqctl(*args: str, timeout: float = 60) -> str:
    """Run rabbitmqctl on the local server (the tests own this machine's broker)."""
    return subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, text=True, timeout=timeout).stdout


def have_rabbitmqctl() -> bool:
    return shutil.which("rabbitmqctl") is not None


def create_vhost(prefix: str = "tickwork-test", *, timeout: float = 60) -> tuple[str, str]:
    """A fresh vhost `<prefix>-<random>` (for one test session, or one benchmark run), so that its
    user never sees, nor disturbs, the main job's queues."""
    vhost = f"{prefix}-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", vhost, timeout=timeout)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*", timeout=timeout)
    return vhost, f"{BASE_URL}/{quote(vhost, safe='')}"


def delete_vhost(vhost: str, *, attempts: int = 1, timeout: float = 60) -> None:
    """Delete the vhost, with a few `attempts` 2 s apart if asked (the shared broker may be
    restarting: some tests stop_app it); the last failure is raised."""
    for attempt in range(attempts):
        try:
            rabbitmqctl("delete_vhost", vhost, timeout=timeout)
            return
        except subprocess.SubprocessError:
            if attempt == attempts - 1:
                raise
            time.sleep(2)


class Rabbit:
    """A pika connection to the test vhost with the checks tests need."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        declare_topology(self.channel)

    def close(self) -> None:
        if self.connection.is_open:
            # A test that restarted the broker has already lost this connection.
            with contextlib.suppress(pika.exceptions.AMQPError):
                self.connection.close()

    def purge_all(self) -> None:
        for queue in QUEUES:
            for name in (queue, delay_queue(queue), dead_letter_queue(queue)):
                self.channel.queue_purge(name)

    def depth(self, name: str) -> int:
        return self.channel.queue_declare(name, passive=True).method.message_count

    def dead_letters(self, queue: str) -> list[tuple[Any, bytes]]:
        """Every message in `queue`'s .XQ as (properties, body); they stay in the queue."""
        return self.peek(dead_letter_queue(queue))

    def peek(self, name: str) -> list[tuple[Any, bytes]]:
        """Every message in the queue `name` as (properties, body); they stay in the queue."""
        found = []
        while True:
            method, properties, body = self.channel.basic_get(name, auto_ack=False)
            if method is None:
                break
            found.append((properties, body))
        # Closing the channel returns the unacked messages to the queue.
        self.channel.close()
        self.channel = self.connection.channel()
        return found

    def publish_raw(
        self, queue: str, body: bytes, *, priority: int | None = None, message_id: str | None = None
    ) -> None:
        properties = pika.BasicProperties(delivery_mode=2, priority=priority, message_id=message_id)
        self.channel.basic_publish("", queue, body, properties)


def decode(body: bytes) -> dict[str, Any]:
    return json.loads(body)


def vhost_of(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/")) or "/"


def unacknowledged(url: str, queue: str) -> int:
    """Deliveries of `queue` RabbitMQ holds unacknowledged (its own count, via rabbitmqctl)."""
    listing = rabbitmqctl(
        "list_queues", "-q", "--no-table-headers", "-p", vhost_of(url), "name", "messages_unacknowledged"
    )
    counts = dict(line.split("\t") for line in listing.splitlines() if "\t" in line)
    return int(counts[queue])


def close_connections(url: str, reason: str = "closed by a test") -> None:
    """Close every client connection to `url`'s vhost from the broker's side, at once (the other vhosts' stay)."""
    rabbitmqctl("close_all_connections", "--vhost", vhost_of(url), "--limit", "1000", reason)


def restart_broker(down_s: float) -> None:
    """`rabbitmqctl stop_app`, `down_s` seconds down, `start_app` (whatever happens) and wait until it
    is up. For a test marked `restarts_broker`, holding `broker_to_itself`."""
    try:
        rabbitmqctl("stop_app")
        time.sleep(down_s)
    finally:
        rabbitmqctl("start_app")
        rabbitmqctl("await_startup")


def copies_in_queue(url: str, queue: str = "refresh") -> Counter[str]:
    """How many times each message id sits in `queue` (drained), on a fresh connection."""
    rabbit = Rabbit(url)
    found: Counter[str] = Counter()
    try:
        while True:
            method, _, body = rabbit.channel.basic_get(queue, auto_ack=True)
            if method is None:
                return found
            found[decode(body)["message_id"]] += 1
    finally:
        rabbit.close()
