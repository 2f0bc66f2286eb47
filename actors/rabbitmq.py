"""Dramatiq's RabbitMQ broker, with Tickwork's topology, long delays and recorded dead letters.

Changes to the stock broker, each small:
- queues are declared with the arguments of `services.engine.topology` (priorities, dead letters kept);
- a delayed message is never held past the hold limit (see `services.engine.delays`);
- a rejected message is republished to the `.XQ` with its reason in `options.dead_letter` and in
  AMQP headers, then acknowledged, instead of a bare nack that would leave the reason in a log line;
- an acknowledgement waits for `ack_barrier` (the task ledger's writer): a message is acked only once
  the ledger row of its final state is committed, so a SIGKILL never leaves an acked message behind
  a `running` row;
- a message is acknowledged only by the consumer that received it: one delivered on a connection
  since lost is not acked (RabbitMQ delivers it again) on the consumer Dramatiq reconnected, where its
  delivery tag would name another delivery of the new channel, unfinished;
- middleware hooks are called only on the middleware that define them, and a delivered message
  answers attribute reads without a Python call (see `pin_message_fields`): both cost every message.

The private Dramatiq names these changes rely on are read through `actors.internals`, which checks them.
"""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

import pika
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.common import current_millis, q_name
from dramatiq.errors import ActorNotFound, ConnectionClosed
from dramatiq.logging import get_logger
from dramatiq.middleware import Middleware, MiddlewareError

from actors.encoder import REJECTED_ACTOR, REJECTED_BODY, REJECTION
from actors.internals import (
    RabbitmqConsumer,
    delivery_tag,
    pin_message_fields,
    readdress_message,
    remember_delivery_properties,
    set_channel_prefetch_nowait,
    stuffed_exception,
)
from services.engine.delays import DUE_AT, parked_options, remaining_ms
from services.engine.error_text import error_message, error_traceback
from services.engine.priority import MAX_PRIORITY
from services.engine.topology import dead_letter_queue, dead_letter_queue_arguments, work_queue_arguments
from services.errors import MessageRejected

# A consumer's own prefetch, as a multiple of the channel's: the most the channel's may widen to.
PREFETCH_CEILING = 8
# How long closing a consumer waits for the ledger rows its pending acknowledgements wait for.
CLOSE_ACK_WAIT_S = 10.0


class AckBarrier(Protocol):
    """What an acknowledgement waits for: the ledger's writer (see services.engine.ledger.writer)."""

    def when_written(self, callback: Callable[[], None]) -> None: ...

    def flush(self, timeout_s: float = ...) -> bool: ...


class TickworkBroker(RabbitmqBroker):
    """The broker every Tickwork worker uses."""

    def __init__(self, *, url: str, delay_hold_ms: int, middleware: list[Any]) -> None:
        # Set at process boot by the TaskLedger middleware; None (no ledger) acks at once.
        self.ack_barrier: AckBarrier | None = None
        self._hooks: dict[str, tuple[Any, ...]] = {}
        self._hooked_count = 0
        super().__init__(url=url, max_priority=MAX_PRIORITY, confirm_delivery=True, middleware=middleware)
        self.delay_hold_ms = delay_hold_ms

    # -- middleware signals: Dramatiq's semantics, without calling the many hooks that do nothing --
    def add_middleware(self, middleware: Middleware, **position: Any) -> None:
        super().add_middleware(middleware, **position)
        self._hooks.clear()

    def _hooks_for(self, name: str) -> tuple[Any, ...]:
        """(middleware, bound hook) for each middleware that defines hook `name`, in list order."""
        if len(self.middleware) != self._hooked_count:  # the list changed behind add_middleware's back
            self._hooks.clear()
            self._hooked_count = len(self.middleware)
        hooks = self._hooks.get(name)
        if hooks is None:
            default = getattr(Middleware, name, None)
            hooks = self._hooks[name] = tuple(
                (m, getattr(m, name))
                for m in self.middleware
                if name in vars(m) or getattr(type(m), name, None) is not default
            )
        return hooks

    def emit_before(self, signal: str, *args: Any, **kwargs: Any) -> None:
        for middleware, hook in self._hooks_for("before_" + signal):
            try:
                hook(self, *args, **kwargs)
            except MiddlewareError:
                raise
            except Exception:
                self.logger.critical("Unexpected failure in before_%s of %r.", signal, middleware, exc_info=True)

    def emit_after(self, signal: str, *args: Any, **kwargs: Any) -> None:
        for middleware, hook in reversed(self._hooks_for("after_" + signal)):
            try:
                hook(self, *args, **kwargs)
            except Exception:
                self.logger.critical("Unexpected failure in after_%s of %r.", signal, middleware, exc_info=True)

    @property
    def consumer_class(self) -> type[RabbitmqConsumer]:
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
    error = stuffed_exception(message)
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
        detail, error_type = error_message(error), type(error).__name__
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
        record["traceback"] = error_traceback(error)
    return record


class DeadLetteringConsumer(RabbitmqConsumer):
    """Rejects by republishing to the .XQ with the reason, then acknowledging the original; sends
    acknowledgements in batches, each once the ledger has committed its message's final row."""

    def __init__(self, broker: Any, queue_name: str, prefetch: int, timeout: int) -> None:
        # Dramatiq's set-up, except for the prefetch: a channel-wide limit (global QoS, which RabbitMQ
        # lets change while consuming; a consumer's own limit cannot), widened by the deliveries that
        # wait for the ledger, so that only unfinished work counts against it, as priorities need.
        self.broker = broker
        self.queue_name = queue_name
        self.logger = get_logger(__name__, type(self))
        try:
            self.connection = pika.BlockingConnection(parameters=self.broker.parameters)
            self.channel = self.connection.channel()
            if prefetch:
                self.channel.basic_qos(prefetch_count=prefetch * PREFETCH_CEILING)  # this consumer's own
                self.channel.basic_qos(prefetch_count=prefetch, global_qos=True)
            self.iterator = self.channel.consume(queue_name, inactivity_timeout=timeout / 1000)
            self.known_tags: set[int] = set()
        except (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError) as e:
            raise ConnectionClosed(e) from None
        # Finished deliveries not yet acknowledged on the wire, and whether a send is scheduled.
        self._acks_lock = threading.Lock()
        self._finished: list[int] = []
        self._ack_scheduled = False
        # Finished deliveries whose ledger rows are not committed yet (they stay in known_tags), and
        # the channel prefetch RabbitMQ was last given: `prefetch` plus those.
        self._awaiting_ledger = 0
        self._prefetch = self._qos = prefetch
        self._qos_scheduled = False

        # The properties of the delivery being decoded: a body that is not a message still came from
        # this queue, and its sender may have set the AMQP message_id the ledger should key it by.
        self._properties: Any = None
        remember_delivery_properties(self, self._remember)

    def _remember(self, properties: Any) -> None:
        self._properties = properties

    def __next__(self) -> Any:
        proxy = super().__next__()
        if proxy is not None and proxy.actor_name == REJECTED_ACTOR:
            sent_id = getattr(self._properties, "message_id", None)
            changes = {"queue_name": self.queue_name}
            if sent_id:
                changes["message_id"] = str(sent_id)[:128]
            readdress_message(proxy, **changes)
        if proxy is not None:
            proxy.received_by = self
        return pin_message_fields(proxy)

    def _received_elsewhere(self, message: Any) -> bool:
        # Dramatiq hands a finished message to whichever consumer its thread holds now: after a
        # reconnect, a new one whose channel numbers its deliveries from 1 again.
        if getattr(message, "received_by", self) is self:
            return False
        self.logger.warning(
            "Not acknowledging message %s: it came on a connection since lost; RabbitMQ delivers it again.",
            message.message_id,
        )
        return True

    def ack(self, message: Any) -> None:
        """Acknowledge after processing, as Dramatiq does, but only once the ledger row is committed
        (the delivery stays in known_tags meanwhile, so no `multiple` ack covers it), and batched:
        Dramatiq wakes the connection's thread once per message to send one ack frame each; here one
        wake-up sends every ack that is due, with one `multiple` ack for the finished deliveries older
        than any unfinished one."""
        if self._received_elsewhere(message):
            return
        barrier = self.broker.ack_barrier
        if barrier is None:
            self._release(delivery_tag(message))
            return
        with self._acks_lock:
            self._awaiting_ledger += 1
            schedule, self._qos_scheduled = not self._qos_scheduled, True
        if schedule and self._prefetch:
            # (a connection gone by now makes RabbitMQ deliver the message again: nothing to widen)
            with contextlib.suppress(pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError):
                self.connection.add_callback_threadsafe(self._sync_prefetch)
        barrier.when_written(partial(self._release_written, delivery_tag(message)))

    def _sync_prefetch(self) -> None:
        # Runs on the connection's thread: widen (or narrow back) the channel's prefetch by the
        # deliveries waiting for the ledger. Sent without waiting for Qos-Ok; frames keep their order.
        with self._acks_lock:
            self._qos_scheduled = False
            target = self._prefetch + min(self._awaiting_ledger, self._prefetch * (PREFETCH_CEILING - 1))
        if target != self._qos and self._prefetch:
            set_channel_prefetch_nowait(self.channel, target)
            self._qos = target

    def _release_written(self, tag: int) -> None:
        # Runs on the ledger writer's thread, once the row is committed.
        with self._acks_lock:
            self._awaiting_ledger -= 1
        try:
            self._release(tag)
        except ConnectionClosed:
            # The connection went away: RabbitMQ delivers the message again, and the task runs twice.
            self.logger.warning("Failed to ack message: connection closed; it will be redelivered.")

    def _release(self, tag: int) -> None:
        try:
            with self._acks_lock:
                self.known_tags.remove(tag)
                self._finished.append(tag)
                schedule, self._ack_scheduled = not self._ack_scheduled, True
            if schedule:
                self.connection.add_callback_threadsafe(self._send_acks)
        except (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError) as e:
            raise ConnectionClosed(e) from None
        except KeyError:
            self.logger.warning("Failed to ack message: not in known tags.")

    def close(self) -> None:
        # Acks waiting for the ledger go out before the channel closes (a graceful stop must not make
        # RabbitMQ deliver finished work again), if the ledger commits within CLOSE_ACK_WAIT_S.
        barrier = self.broker.ack_barrier
        if barrier is not None and self._awaiting_ledger and self.connection.is_open:
            barrier.flush(CLOSE_ACK_WAIT_S)
        super().close()

    def _send_acks(self) -> None:
        # Runs on the connection's thread. Deliveries not yet handed out have higher tags than every
        # finished one, and unfinished ones are still in known_tags: a `multiple` ack up to a tag below
        # the oldest unfinished delivery acknowledges only finished work.
        with self._acks_lock:
            tags, self._finished, self._ack_scheduled = sorted(self._finished), [], False
            oldest_unfinished = min(self.known_tags, default=None)
        below = len(tags) if oldest_unfinished is None else bisect.bisect_left(tags, oldest_unfinished)
        if below:
            self.channel.basic_ack(tags[below - 1], multiple=True)
        for tag in tags[below:]:
            self.channel.basic_ack(tag)
        self._sync_prefetch()

    def nack(self, message: Any) -> None:
        if self._received_elsewhere(message):  # its redelivery is dead-lettered, once
            return
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
