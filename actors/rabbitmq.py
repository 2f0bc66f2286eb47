"""Dramatiq's RabbitMQ broker, with Tickwork's topology, long delays and recorded dead letters.

Three changes to the stock broker, each small:
- queues are declared with the arguments of `services.topology` (priorities, dead letters kept);
- a delayed message is never held past the hold limit (see `services.delays`);
- a rejected message is republished to the `.XQ` with its reason in `options.dead_letter` and in
  AMQP headers, then acknowledged, instead of a bare nack that would leave the reason in a log line.
"""

from __future__ import annotations

import time
import traceback
from typing import Any

import pika
from dramatiq.brokers.rabbitmq import RabbitmqBroker, _RabbitmqConsumer
from dramatiq.common import current_millis, q_name
from dramatiq.errors import ActorNotFound

from actors.encoder import REJECTED_BODY, REJECTION
from services.delays import DUE_AT, parked_options, remaining_ms
from services.errors import MessageRejected
from services.priority import MAX_PRIORITY
from services.topology import dead_letter_queue, dead_letter_queue_arguments, work_queue_arguments


class TickworkBroker(RabbitmqBroker):
    """The broker every Tickwork worker uses."""

    def __init__(self, *, url: str, delay_hold_ms: int, middleware: list[Any]) -> None:
        super().__init__(url=url, max_priority=MAX_PRIORITY, confirm_delivery=True, middleware=middleware)
        self.delay_hold_ms = delay_hold_ms

    @property
    def consumer_class(self) -> type[_RabbitmqConsumer]:
        return DeadLetteringConsumer

    def _build_queue_arguments(self, queue_name: str) -> dict[str, Any]:
        return work_queue_arguments(queue_name)

    def _declare_xq_queue(self, queue_name: str) -> Any:
        return self.channel.queue_declare(
            queue=dead_letter_queue(queue_name), durable=True, arguments=dead_letter_queue_arguments()
        )

    def enqueue(self, message: Any, *, delay: int | None = None) -> Any:
        now = current_millis()
        due_at = now + delay if delay is not None else now + remaining_ms(message.options, now)
        if due_at <= now:
            if DUE_AT in message.options:
                message = message.copy()
                del message.options[DUE_AT]
            return super().enqueue(message)
        options = parked_options(due_at_ms=due_at, now_ms=now, hold_ms=self.delay_hold_ms)
        return super().enqueue(message.copy(options={DUE_AT: due_at}), delay=options["eta"] - now)

    def publish_dead_letter(
        self, queue_name: str, body: bytes, *, priority: int | None, headers: dict[str, Any]
    ) -> None:
        """Publish to `queue_name`'s .XQ and wait for the confirm (retried across reconnects)."""
        self.declare_queue(queue_name, ensure=True)
        properties = pika.BasicProperties(
            delivery_mode=2, priority=priority, headers=headers, content_type="application/json"
        )
        for attempt in range(6):
            try:
                self.channel.basic_publish("", dead_letter_queue(queue_name), body, properties, mandatory=True)
                return
            except (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError):
                del self.connection
                time.sleep(0.2 * 2**attempt)
        raise ConnectionError(f"could not dead-letter a message to {dead_letter_queue(queue_name)}")


def dead_letter_record(message: Any, queue_name: str) -> dict[str, Any]:
    """Why `message` was rejected, as stored with it in the dead-letter queue."""
    error = getattr(message, "_exception", None)
    rejection = message.options.get(REJECTION)
    if rejection:
        reason, detail, error_type = rejection["reason"], rejection["detail"], "MessageRejected"
    elif isinstance(error, MessageRejected):
        reason, detail, error_type = error.reason, error.detail, type(error).__name__
    elif isinstance(error, ActorNotFound):
        reason, detail, error_type = (
            "unknown_actor",
            f"no actor named {message.actor_name!r} on this worker",
            "ActorNotFound",
        )
    elif error is not None:
        reason = "retries_exhausted" if message.options.get("retries") else "failed"
        detail, error_type = str(error) or repr(error), type(error).__name__
    else:
        reason, detail, error_type = "rejected", "rejected by a middleware", "Rejected"
    record = {
        "reason": reason,
        "error_type": error_type,
        "error": detail[:2000],
        "queue": q_name(queue_name),
        "attempts": int(message.options.get("retries", 0)) + 1,
        "dead_lettered_at_ms": current_millis(),
    }
    if error is not None and not isinstance(error, MessageRejected | ActorNotFound):
        record["traceback"] = "".join(traceback.format_exception(error, limit=30))[-8000:]
    return record


class DeadLetteringConsumer(_RabbitmqConsumer):
    """Rejects by republishing to the .XQ with the reason, then acknowledging the original."""

    def nack(self, message: Any) -> None:
        record = dead_letter_record(message, self.queue_name)
        raw = message.options.get(REJECTED_BODY)
        if raw is not None:
            # The body could not be read as a message: keep it byte for byte.
            body = raw.encode("latin-1")
        else:
            body = message.copy(options={"dead_letter": record}).encode()
        headers = {f"x-tickwork-{key.replace('_', '-')}": value for key, value in record.items() if key != "traceback"}
        self.broker.publish_dead_letter(
            q_name(self.queue_name), body, priority=message.options.get("broker_priority"), headers=headers
        )
        message.options.setdefault("dead_letter", record)
        self.ack(message)
