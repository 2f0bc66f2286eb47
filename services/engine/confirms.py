"""Publisher confirms without a round trip per message.

A pika BlockingChannel in confirm mode waits for each message's confirm before the next publish,
which caps one sender near 1,000 messages a second. Here confirms are handled by the underlying
channel as they arrive, so up to `window` messages await theirs at once; `pump()` takes those that
arrived into `confirmed`, and names in `refused` the messages RabbitMQ refused or could not route.
While RabbitMQ blocks the connection (a memory or disk alarm) `blocked` says why: the caller then
waits on this connection rather than publishing again on another, which the alarm blocks too (and
which would duplicate every message RabbitMQ had read before it blocked).
"""

from __future__ import annotations

import time
from typing import Any

import pika
import pika.spec

from services.errors import TickworkError

FLUSH_EVERY = 64


class ConfirmTimeout(TickworkError):
    """Raised when confirms did not arrive in time (the caller reconnects and publishes again)."""


class ConfirmedPublisher:
    """Publishes on its own channel of `connection`, tracking each message's confirm by message id."""

    def __init__(self, connection: pika.BlockingConnection, *, window: int = 256) -> None:
        self._connection = connection
        self.window = window
        self._channel = connection.channel()
        # On the underlying channel too: the blocking one would hand the return over only after the
        # ack that follows it, and the message would count as confirmed.
        self._channel._impl.add_on_return_callback(self._on_return)
        # pika's blocking API has no asynchronous confirms; its underlying channel (stable across pika
        # 1.x, which pyproject pins) does.
        self._channel._impl.confirm_delivery(ack_nack_callback=self._on_confirm)
        self._next_tag = 1
        self._awaiting: dict[int, str] = {}
        self.confirmed: set[str] = set()
        self.refused: dict[str, str] = {}
        self.blocked: str | None = None
        connection.add_on_connection_blocked_callback(self._on_blocked)
        connection.add_on_connection_unblocked_callback(self._on_unblocked)

    @property
    def is_open(self) -> bool:
        return bool(self._channel.is_open)

    def publish(self, routing_key: str, body: bytes, properties: pika.BasicProperties, *, timeout_s: float) -> None:
        """Publish one message (its properties must carry a message_id); blocks only while the window is full."""
        deadline = time.monotonic() + timeout_s
        while len(self._awaiting) >= self.window:
            self._process(deadline)
        # Recorded before publishing: pika may read this message's confirm while still sending it.
        tag, self._next_tag = self._next_tag, self._next_tag + 1
        self._awaiting[tag] = properties.message_id
        # The underlying channel only queues the frames; the blocking one would also run pika's I/O
        # loop once per message (two thirds of a publish's CPU). They go out in the next _process,
        # and at least every FLUSH_EVERY messages so that RabbitMQ works while we still publish.
        self._channel._impl.basic_publish("", routing_key, body, properties, mandatory=True)
        if tag % FLUSH_EVERY == 0:
            self._connection.process_data_events(time_limit=0)

    def awaiting(self) -> int:
        """How many published messages await their confirm."""
        return len(self._awaiting)

    def pump(self, *, time_limit_s: float) -> None:
        """Send what is queued and take the confirms that arrive within `time_limit_s` (returns
        as soon as one arrives)."""
        self._connection.process_data_events(time_limit=time_limit_s)

    def close(self) -> None:
        if self._channel.is_open:
            self._channel.close()

    def _process(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ConfirmTimeout(f"{len(self._awaiting)} message(s) unconfirmed")
        self._connection.process_data_events(time_limit=min(remaining, 0.5))

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        tags = [t for t in self._awaiting if t <= method.delivery_tag] if method.multiple else [method.delivery_tag]
        for tag in tags:
            message_id = self._awaiting.pop(tag, None)
            if message_id is None:
                continue
            if isinstance(method, pika.spec.Basic.Nack):
                self.refused.setdefault(message_id, "refused by RabbitMQ (nack)")
            elif message_id not in self.refused:
                self.confirmed.add(message_id)
        # Confirms are handled below pika's blocking layer, which would sleep out its time limit
        # unaware of them: a no-op callback marks the connection ready, so the wait returns now.
        self._connection.add_callback_threadsafe(_wake)

    def _on_blocked(self, _connection: Any, frame: Any) -> None:
        self.blocked = str(getattr(frame.method, "reason", "") or "a resource alarm")

    def _on_unblocked(self, _connection: Any, _frame: Any) -> None:
        self.blocked = None

    def _on_return(self, _channel: Any, method: Any, properties: Any, _body: bytes) -> None:
        # RabbitMQ returns an unroutable mandatory message before acking it.
        self.refused[properties.message_id] = f"unroutable: {method.reply_text} ({method.routing_key})"


def _wake() -> None:
    """Nothing to do: being called is the point (see _on_confirm)."""
