"""Cancelling a task everywhere at once, and for good.

The database holds the request (it survives restarts); a fanout exchange on RabbitMQ tells every
worker process on every host within milliseconds. A worker skips a cancelled message when it is
delivered and interrupts it if it is running.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import pika
import pika.exceptions
from sqlmodel import Session

from services.engine.ledger.tasks import request_cancel
from services.storage.db import SessionFactory
from services.storage.models import Task

log = logging.getLogger("tickwork.cancellation")

CANCEL_EXCHANGE = "tickwork.cancellations"


class Broadcast(Protocol):
    """Tells every worker process that `message_id` is cancelled (RabbitBroadcast)."""

    def __call__(self, message_id: str) -> None: ...


class CancelRequests(Protocol):
    """Records a cancellation request on the task's row (services/engine/ledger/tasks.py)."""

    def __call__(self, *, session: Session, message_id: str) -> Task: ...


def cancel_task(
    message_id: str, *, session_factory: SessionFactory, broadcast: Broadcast, request: CancelRequests = request_cancel
) -> Task:
    """Record the cancellation (committed first: it is what survives a restart), then tell every
    worker; returns the task's row. A task that cannot be cancelled raises before anyone is told."""
    with session_factory() as session:
        task = request(session=session, message_id=message_id)
    broadcast(message_id)
    return task


class RabbitBroadcast:
    """The Broadcast of one RabbitMQ: a confirmed publish on the cancellation fanout exchange."""

    def __init__(self, *, rabbitmq_url: str) -> None:
        self.rabbitmq_url = rabbitmq_url

    def __call__(self, message_id: str) -> None:
        broadcast_cancel(message_id, rabbitmq_url=self.rabbitmq_url)


def broadcast_cancel(message_id: str, *, rabbitmq_url: str) -> None:
    """Publish the cancellation to every listening worker process (confirmed)."""
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.exchange_declare(CANCEL_EXCHANGE, exchange_type="fanout", durable=True)
        channel.basic_publish(CANCEL_EXCHANGE, "", message_id.encode())
    finally:
        connection.close()


class CancellationListener:
    """Receives cancellations in a thread; reconnects, calling `on_connect` each time so that the
    owner reloads requests it may have missed while disconnected."""

    def __init__(self, rabbitmq_url: str, *, on_cancel: Callable[[str], None], on_connect: Callable[[], None]) -> None:
        self._parameters = pika.URLParameters(rabbitmq_url)
        self._on_cancel = on_cancel
        self._on_connect = on_connect
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cancellation-listener", daemon=True)
        self.ready = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._listen()
            except Exception:
                log.warning("cancellation_listener_reconnecting", exc_info=True)
                self.ready.clear()
                time.sleep(1.0)

    def _listen(self) -> None:
        connection = pika.BlockingConnection(self._parameters)
        try:
            channel = connection.channel()
            channel.exchange_declare(CANCEL_EXCHANGE, exchange_type="fanout", durable=True)
            queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
            channel.queue_bind(queue, CANCEL_EXCHANGE)
            # Bound first, then reloaded: a cancellation sent in between arrives either way.
            self._on_connect()
            self.ready.set()
            for method, _properties, body in channel.consume(queue, auto_ack=True, inactivity_timeout=1.0):
                if self._stopping.is_set():
                    return
                if method is not None:
                    self._on_cancel(body.decode())
        finally:
            if connection.is_open:
                connection.close()
