"""The thin client other services (and Tickwork's API and CLI) use to send work.

It publishes contract-checked messages straight to RabbitMQ with pika: no Dramatiq, no actor code.
A send returns only once RabbitMQ has confirmed every message (publisher confirms, persistent,
mandatory routing); `send_many` keeps many confirms in flight at once, so one thread sends thousands
of confirmed messages a second. Across a broker restart the client reconnects and publishes again
what was not confirmed, so a send that returned is never lost. A message published again may arrive
twice; its id stays the same and every actor is idempotent.

While RabbitMQ blocks publishers (a memory or disk alarm) a send waits for the alarm to clear on the
same connection, for at most the publish timeout, then raises PublishFailed saying so: it neither
retries for minutes nor publishes again what RabbitMQ may already hold.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pika
import pika.exceptions

from services.contract import CONTRACT, Contract
from services.contract.envelope import ScheduleStamp, encode, new_message
from services.engine.confirms import ConfirmedPublisher
from services.engine.delays import parked_options
from services.engine.group_commit import GroupCommit
from services.engine.priority import Priority
from services.engine.topology import (
    QUEUES,
    dead_letter_queue,
    dead_letter_queue_arguments,
    delay_queue,
    work_queue_arguments,
)
from services.errors import MessageRejected
from services.settings import Settings, get_settings

if TYPE_CHECKING:  # the client needs no database library unless it is given a ledger
    from sqlmodel import Session

    from services.storage.db import SessionFactory
    from services.storage.group_commit import GroupWriter

log = logging.getLogger("tickwork.client")


@dataclass(frozen=True)
class Send:
    """One message to send: the actor, its keyword arguments and optional per-message overrides."""

    actor: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    priority: Priority | str | None = None
    delay_s: float | None = None
    retry: dict[str, Any] | None = None
    time_limit_s: float | None = None
    message_id: str | None = None
    schedule: ScheduleStamp | None = None  # set by the scheduler: this is a run of a periodic job


@dataclass(frozen=True)
class SentMessage:
    """What a confirmed send returns."""

    message_id: str
    actor: str
    queue: str
    priority: Priority
    due_at_ms: int | None


@dataclass(frozen=True)
class _Outgoing:
    sent: SentMessage
    routing_key: str
    body: bytes
    properties: pika.BasicProperties
    kwargs: dict[str, Any]
    scheduled_for: datetime | None = None  # a delayed message's due time, or a scheduled run's tick


class TickworkClient:
    """Publishes messages for Tickwork's actors. Thread-safe: threads sharing one client share its
    confirm stream (services/engine/group_commit.py); call `close()` when done."""

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        contract: Contract = CONTRACT,
        url: str | None = None,
        ledger: SessionFactory | None = None,
    ) -> None:
        """`ledger`: the sessions of a database to record each sent task in as `pending` (the API
        and CLI pass DATABASE_URL's; a service without database access leaves it out and the row
        appears when a worker first sees the message)."""
        self._settings = settings or get_settings()
        self._contract = contract
        self._ledger_writes: GroupWriter | None = None  # None: no ledger to record pending rows in
        if ledger is not None:
            from services.storage.group_commit import GroupWriter

            self._ledger_writes = GroupWriter(ledger)
        self._parameters = pika.URLParameters(url or self._settings.rabbitmq_url)
        self._parameters.blocked_connection_timeout = self._settings.tickwork_publish_timeout_seconds
        self._lock = threading.Lock()  # the connection's: held while publishing, and by close()
        self._connection: pika.BlockingConnection | None = None
        self._publisher: ConfirmedPublisher | None = None
        self._stream = GroupCommit(
            self._ensure_publisher,
            self._drop_connection,
            timeout_s=self._settings.tickwork_publish_timeout_seconds,
            attempts=self._settings.tickwork_publish_attempts,
            lock=self._lock,
        )

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
        request = Send(actor_name, kwargs or {}, priority, delay_s, retry, time_limit_s, message_id)
        return self.send_many([request])[0]

    def send_many(self, requests: Iterable[Send], *, window: int = 256) -> list[SentMessage]:
        """Validate every message first (nothing is sent if one is invalid: the MessageRejected raised
        names its `index`), then publish them with up to `window` awaiting confirms at once; returns
        after every one is confirmed and recorded in the ledger."""
        outgoing = []
        for index, request in enumerate(requests):
            try:
                outgoing.append(self._prepare(request))
            except MessageRejected as error:
                error.index = index  # the sender of a batch learns which one
                raise
        self._publish_confirmed(outgoing, window=window)
        if self._ledger_writes is not None:
            self._record_pending(self._ledger_writes, outgoing)
        return [item.sent for item in outgoing]

    def publish(
        self,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        priority: int | None = None,
        headers: dict[str, Any] | None = None,
    ) -> None:
        """Publish a raw body to a queue of the topology, confirmed, with reconnects."""
        sent = SentMessage(message_id, "", routing_key, Priority.from_amqp(priority), None)
        properties = _properties(message_id, priority, headers)
        self._publish_confirmed([_Outgoing(sent, routing_key, body, properties, {})], window=1)

    # -- internals --------------------------------------------------------------------------------
    def _prepare(self, request: Send) -> _Outgoing:
        spec = self._contract.get(request.actor)
        envelope = new_message(
            spec,
            request.kwargs,
            priority=request.priority,
            retry=request.retry,
            time_limit_s=request.time_limit_s,
            message_id=request.message_id,
            schedule=request.schedule,
        )
        routing_key, due_at_ms = spec.queue, None
        if request.delay_s is not None and request.delay_s > 0:
            now_ms = envelope["message_timestamp"]
            due_at_ms = now_ms + int(request.delay_s * 1000)
            hold_ms = int(self._settings.tickwork_delay_hold_seconds * 1000)
            envelope["options"].update(parked_options(due_at_ms=due_at_ms, now_ms=now_ms, hold_ms=hold_ms))
            envelope["queue_name"] = routing_key = delay_queue(spec.queue)
        level = Priority.from_amqp(envelope["options"]["broker_priority"])
        sent = SentMessage(envelope["message_id"], spec.name, spec.queue, level, due_at_ms)
        properties = _properties(sent.message_id, envelope["options"]["broker_priority"])
        scheduled_for = datetime.fromtimestamp(due_at_ms / 1000, UTC) if due_at_ms else None
        if request.schedule is not None:
            scheduled_for = request.schedule.scheduled_at
        return _Outgoing(sent, routing_key, encode(envelope), properties, envelope["kwargs"], scheduled_for)

    def _publish_confirmed(self, outgoing: list[_Outgoing], *, window: int) -> None:
        self._stream.publish(outgoing, window=window)

    def _record_pending(self, ledger: GroupWriter, outgoing: list[_Outgoing]) -> None:
        # After the confirms: a row never claims a task that was not sent. A worker that got there
        # first keeps its row (insert-or-ignore). Threads sharing the client share the commits.
        from services.engine.ledger.tasks import SubmittedTask, record_submitted_many

        tasks = [
            SubmittedTask(
                item.sent.message_id,
                item.sent.actor,
                item.sent.queue,
                item.sent.priority.value,
                item.kwargs,
                item.scheduled_for,
            )
            for item in outgoing
        ]

        def write(session: Session) -> None:
            record_submitted_many(session=session, tasks=tasks)

        ledger.write(write)

    def _ensure_publisher(self, window: int) -> ConfirmedPublisher:
        if self._publisher is None or not self._publisher.is_open:
            self._drop_connection()
            self._connection = pika.BlockingConnection(self._parameters)
            declare_topology(self._connection.channel())
            self._publisher = ConfirmedPublisher(self._connection, window=window)
        self._publisher.window = window
        return self._publisher

    def _drop_connection(self) -> None:
        connection, self._connection, self._publisher = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:  # the broker may already be gone; nothing more to release
                log.debug("close_failed", exc_info=True)


def _properties(message_id: str, priority: int | None, headers: dict[str, Any] | None = None) -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type="application/json",
        delivery_mode=pika.DeliveryMode.Persistent,
        priority=priority,
        message_id=message_id,
        headers=headers,
    )


def declare_topology(channel: Any, queues: tuple[str, ...] = QUEUES) -> None:
    """Declare every work queue with its delay and dead-letter queues (idempotent)."""
    for queue in queues:
        channel.queue_declare(queue, durable=True, arguments=work_queue_arguments(queue))
        channel.queue_declare(delay_queue(queue), durable=True, arguments=work_queue_arguments(queue))
        channel.queue_declare(dead_letter_queue(queue), durable=True, arguments=dead_letter_queue_arguments())
