"""The thin client other services (and Tickwork's API and CLI) use to send work.

It publishes contract-checked messages straight to RabbitMQ with pika: no Dramatiq, no actor code.
`send` returns only once RabbitMQ has confirmed the message (publisher confirms, persistent,
mandatory routing), and it reconnects and publishes again across a broker restart, so a send that
returned is never lost. A retried publish may duplicate a message; the message id stays the same and
every actor is idempotent.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions

from services.contract import CONTRACT, Contract
from services.contract.envelope import encode, new_message
from services.delays import parked_options
from services.errors import PublishFailed
from services.priority import Priority
from services.settings import Settings, get_settings
from services.topology import (
    QUEUES,
    dead_letter_queue,
    dead_letter_queue_arguments,
    delay_queue,
    work_queue_arguments,
)

log = logging.getLogger("tickwork.client")

_RETRYABLE = (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError, OSError)


@dataclass(frozen=True)
class SentMessage:
    """What a confirmed send returns."""

    message_id: str
    actor: str
    queue: str
    priority: Priority
    due_at_ms: int | None


class TickworkClient:
    """Publishes messages for Tickwork's actors. Thread-safe; call `close()` when done."""

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        contract: Contract = CONTRACT,
        url: str | None = None,
        ledger_url: str | None = None,
    ) -> None:
        """`ledger_url`: a database to record each sent task in as `pending` (the API and CLI pass
        DATABASE_URL; a service without database access leaves it out and the row appears when a
        worker first sees the message)."""
        self._settings = settings or get_settings()
        self._ledger_url = ledger_url
        self._contract = contract
        self._parameters = pika.URLParameters(url or self._settings.rabbitmq_url)
        self._parameters.blocked_connection_timeout = self._settings.tickwork_publish_timeout_seconds
        self._lock = threading.Lock()
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None

    # -- lifecycle --------------------------------------------------------------------------------
    def __enter__(self) -> TickworkClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (a later send reopens it)."""
        with self._lock:
            self._drop_connection()

    # -- sending ----------------------------------------------------------------------------------
    def send(
        self,
        actor_name: str,
        kwargs: dict[str, Any] | None = None,
        *,
        priority: Priority | str | None = None,
        delay_s: float | None = None,
        retry: dict[str, Any] | None = None,
        time_limit_s: float | None = None,
        message_id: str | None = None,
    ) -> SentMessage:
        """Validate and publish one message; returns after RabbitMQ confirmed it.

        Raises UnknownActor or PayloadInvalid (nothing sent), or PublishFailed."""
        spec = self._contract.get(actor_name)
        envelope = new_message(
            spec,
            kwargs or {},
            priority=priority,
            retry=retry,
            time_limit_s=time_limit_s,
            message_id=message_id,
        )
        routing_key = spec.queue
        due_at_ms = None
        if delay_s is not None and delay_s > 0:
            now_ms = envelope["message_timestamp"]
            due_at_ms = now_ms + int(delay_s * 1000)
            hold_ms = int(self._settings.tickwork_delay_hold_seconds * 1000)
            envelope["options"].update(parked_options(due_at_ms=due_at_ms, now_ms=now_ms, hold_ms=hold_ms))
            envelope["queue_name"] = routing_key = delay_queue(spec.queue)
        self.publish(
            routing_key,
            encode(envelope),
            priority=envelope["options"]["broker_priority"],
            message_id=envelope["message_id"],
        )
        if self._ledger_url:
            self._record_pending(envelope, spec.queue, due_at_ms)
        return SentMessage(
            envelope["message_id"],
            spec.name,
            spec.queue,
            Priority.from_amqp(envelope["options"]["broker_priority"]),
            due_at_ms,
        )

    def publish(
        self,
        routing_key: str,
        body: bytes,
        *,
        priority: int | None = None,
        message_id: str | None = None,
        headers: dict[str, Any] | None = None,
    ) -> None:
        """Publish a raw body to a queue of the topology, with confirms and reconnects."""
        properties = pika.BasicProperties(
            content_type="application/json",
            delivery_mode=pika.DeliveryMode.Persistent,
            priority=priority,
            message_id=message_id,
            headers=headers,
        )
        attempts = self._settings.tickwork_publish_attempts
        for attempt in range(1, attempts + 1):
            with self._lock:
                try:
                    channel = self._ensure_channel()
                    channel.basic_publish("", routing_key, body, properties, mandatory=True)
                    return
                except pika.exceptions.UnroutableError:
                    # The queue was deleted behind our back: declare the topology again and retry.
                    self._drop_connection()
                    error: Exception = PublishFailed(f"no queue named {routing_key!r}")
                except pika.exceptions.NackError:
                    error = PublishFailed(f"RabbitMQ refused the message for {routing_key!r}")
                except _RETRYABLE as exc:
                    self._drop_connection()
                    error = exc
            log.warning("publish_retry routing_key=%s attempt=%d error=%r", routing_key, attempt, error)
            time.sleep(min(0.2 * 2 ** (attempt - 1), 5.0))
        raise PublishFailed(f"could not publish to {routing_key!r} after {attempts} attempts: {error}")

    def _record_pending(self, envelope: dict[str, Any], queue: str, due_at_ms: int | None) -> None:
        # After the confirm: a row never claims a task that was not sent. A worker that got there
        # first keeps its row (insert-or-ignore).
        from datetime import UTC, datetime

        from services.ledger.tasks import record_submitted
        from services.storage.db import session_scope

        assert self._ledger_url is not None
        level = Priority.from_amqp(envelope["options"]["broker_priority"])
        with session_scope(self._ledger_url) as session:
            record_submitted(
                session=session,
                message_id=envelope["message_id"],
                actor=envelope["actor_name"],
                queue=queue,
                priority=level.value,
                args=envelope["kwargs"],
                scheduled_for=datetime.fromtimestamp(due_at_ms / 1000, UTC) if due_at_ms else None,
            )

    # -- connection -------------------------------------------------------------------------------
    def _ensure_channel(self) -> Any:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self._drop_connection()
        self._connection = pika.BlockingConnection(self._parameters)
        channel = self._connection.channel()
        channel.confirm_delivery()
        declare_topology(channel)
        self._channel = channel
        return channel

    def _drop_connection(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:  # the broker may already be gone; nothing more to release
                log.debug("close_failed", exc_info=True)


def declare_topology(channel: Any, queues: tuple[str, ...] = QUEUES) -> None:
    """Declare every work queue with its delay and dead-letter queues (idempotent)."""
    for queue in queues:
        channel.queue_declare(queue, durable=True, arguments=work_queue_arguments(queue))
        channel.queue_declare(delay_queue(queue), durable=True, arguments=work_queue_arguments(queue))
        channel.queue_declare(dead_letter_queue(queue), durable=True, arguments=dead_letter_queue_arguments())
