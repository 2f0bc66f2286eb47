"""RabbitMQ for the benchmark: a throw-away virtual host and the few queue operations the runner needs.

The vhost and rabbitmqctl helpers are `tests/support/rabbit.py`'s, the one copy.
"""

from __future__ import annotations

import functools
import subprocess
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

import pika

from tests.support import rabbit as shared

T = TypeVar("T")
TIMEOUT_S = 120


def create_vhost() -> tuple[str, str]:
    """A fresh vhost: the benchmark never sees, nor disturbs, anyone else's queues."""
    return shared.create_vhost("tickwork-bench", timeout=TIMEOUT_S)


def delete_vhost(vhost: str) -> None:
    """Delete the vhost; a few tries, since the shared broker may be restarting (tests stop_app it)."""
    try:
        shared.delete_vhost(vhost, attempts=5, timeout=TIMEOUT_S)
    except subprocess.SubprocessError as error:
        print(f"bench: could not delete vhost {vhost} ({error}); run: rabbitmqctl delete_vhost {vhost}")


def server_version() -> str:
    return shared.rabbitmqctl("version", timeout=TIMEOUT_S).strip()


class Rabbit:
    """One connection to the bench vhost, for pre-loading, depth checks and purges. Other users of the
    broker restart it now and then (tests of reconnection): every operation reconnects once."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.connection: pika.BlockingConnection | None = None
        self._connect()

    def _connect(self) -> None:
        self.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                self.connection = pika.BlockingConnection(pika.URLParameters(self.url))
                self.channel = self.connection.channel()
                return
            except pika.exceptions.AMQPConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def _retrying(self, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError):
            self._connect()
            return operation()

    def close(self) -> None:
        if self.connection is not None and self.connection.is_open:
            self.connection.close()

    def depth(self, queue: str) -> tuple[int, int]:
        """(ready messages, consumers) of `queue`; unacknowledged deliveries are not counted."""
        ok = self._retrying(lambda: self.channel.queue_declare(queue, passive=True)).method
        return ok.message_count, ok.consumer_count

    def purge(self, *queues: str) -> None:
        for queue in queues:
            self._retrying(functools.partial(self.channel.queue_purge, queue))

    def preload(self, queue: str, bodies: Iterable[bytes], *, priority: int | None = None, wait: bool = True) -> int:
        """Publish persistent messages without confirms (fast), then (with `wait`, when nothing consumes
        the queue) wait until RabbitMQ holds them all. Not retried: the caller starts over."""
        properties = pika.BasicProperties(content_type="application/json", delivery_mode=2, priority=priority)
        before = self.depth(queue)[0]
        sent = 0
        for body in bodies:
            self.channel.basic_publish("", queue, body, properties)
            sent += 1
        if wait:
            self.wait_depth(queue, before + sent)
        return sent

    def wait_depth(self, queue: str, expected: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while (ready := self.depth(queue)[0]) < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{queue}: {ready} messages ready, expected {expected}")
            time.sleep(0.05)

    def wait_consumers(self, queue: str, expected: int, timeout: float = 60) -> None:
        """Wait until `expected` consumers listen on `queue` (worker processes are really up)."""
        deadline = time.monotonic() + timeout
        while self.depth(queue)[1] < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{queue}: fewer than {expected} consumers after {timeout} s")
            time.sleep(0.05)
