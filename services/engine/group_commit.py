"""Many threads, one confirm stream: the client's group commit.

A thread that sends queues its messages as a ticket. One sending thread at a time leads: it
publishes every queued ticket on the shared confirmed publisher as soon as it is queued, takes the
confirms as they come, wakes each ticket's thread once all its messages are confirmed, and hands the
lead to a thread still waiting when its own ticket is done. Confirms are thus pipelined across
callers: a send waits for its own confirms, never for a round trip of its own, and 8 threads
sharing one client keep many messages in flight where 8 clients would keep one each.

Across a lost connection or a confirm that does not come, the leader opens a new publisher and
publishes again every unconfirmed message of every ticket in flight; a ticket fails (its caller gets
PublishFailed) only after `attempts` such tries, or at once on an unexpected error, so no caller
waits for ever on a leader that crashed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pika.exceptions

from services.engine.confirms import ConfirmTimeout
from services.errors import PublishFailed

log = logging.getLogger("tickwork.client")

RETRYABLE = (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError, OSError, ConfirmTimeout)
PUMP_S = 0.01  # the longest a leader waits for confirms before looking for newly queued tickets


class Message(Protocol):
    """What the stream needs of a message: where it goes and its id (in `properties.message_id`)."""

    @property
    def routing_key(self) -> str: ...
    @property
    def body(self) -> bytes: ...
    @property
    def properties(self) -> Any: ...


class Publisher(Protocol):
    window: int
    confirmed: set[str]
    refused: dict[str, str]
    blocked: str | None  # why RabbitMQ blocks the connection (a resource alarm), or None

    @property
    def is_open(self) -> bool: ...
    def publish(self, routing_key: str, body: bytes, properties: Any, *, timeout_s: float) -> None: ...
    def pump(self, *, time_limit_s: float) -> None: ...
    def awaiting(self) -> int: ...


@dataclass(eq=False)
class _Ticket:
    messages: Sequence[Message]
    window: int
    pending: set[str] = field(default_factory=set)  # ids not confirmed yet
    published_on: object = None  # the publisher its pending messages went out on
    published_at: float = 0.0
    attempts: int = 0
    done: bool = False
    error: Exception | None = None
    # Released once to wake the caller (a bare lock: an Event's condition costs a thread switch more)
    _asleep: threading.Lock = field(default_factory=threading.Lock)
    _woken: bool = False

    def __post_init__(self) -> None:
        self._asleep.acquire()

    def sleep(self) -> None:
        self._asleep.acquire()

    def wake(self) -> None:
        """Called holding the stream's lock, so a ticket is woken once."""
        if not self._woken:
            self._woken = True
            self._asleep.release()


class GroupCommit:
    """Publishes the messages of every thread calling `publish` through one shared publisher."""

    def __init__(
        self,
        open_publisher: Callable[[int], Publisher],
        drop_publisher: Callable[[], None],
        *,
        timeout_s: float,
        attempts: int,
        lock: threading.Lock,
    ) -> None:
        """`open_publisher(window)` returns the open publisher (opening one if needed); `lock` is
        the connection's, held while leading."""
        self._open = open_publisher
        self._drop = drop_publisher
        self._timeout_s = timeout_s
        self._attempts = attempts
        self._lock = lock
        self._queue_lock = threading.Lock()
        self._queued: list[_Ticket] = []
        self._leading = False  # guarded by _queue_lock
        self._in_flight: list[_Ticket] = []  # guarded by _lock
        self._owner: dict[str, list[_Ticket]] = {}  # message id -> the tickets awaiting it, guarded by _lock

    def publish(self, messages: Sequence[Message], *, window: int) -> None:
        """Return once RabbitMQ confirmed every one of `messages`; raise PublishFailed otherwise."""
        if not messages:
            return
        ticket = _Ticket(messages, window, {m.properties.message_id for m in messages})
        with self._queue_lock:
            self._queued.append(ticket)
            leading, self._leading = not self._leading, True
        if not leading:
            ticket.sleep()  # until its messages are confirmed, or it is handed the lead
        if not ticket.done:
            self._lead(ticket)
        if ticket.error is not None:
            raise ticket.error

    def _lead(self, mine: _Ticket) -> None:
        with self._lock:
            try:
                while not mine.done:
                    self._step()
            except Exception as unexpected:  # fail every waiting caller rather than leave one hanging
                log.exception("publish_failed")
                for ticket in self._in_flight + self._take_queued():
                    self._finish(ticket, PublishFailed(f"publish failed: {unexpected!r}"))
            finally:
                self._hand_over()

    def _step(self) -> None:
        """Publish what is new or unconfirmed on a lost publisher, take confirms, settle tickets."""
        self._in_flight.extend(self._take_queued())
        publisher: Publisher | None = None
        try:
            publisher = self._open(max(t.window for t in self._in_flight))
            for ticket in self._in_flight:
                if ticket.published_on is not publisher:
                    self._publish_pending(ticket, publisher)
            started = time.monotonic()
            while not publisher.confirmed and not publisher.refused and publisher.awaiting():
                if time.monotonic() - started > self._timeout_s:
                    raise ConfirmTimeout(f"{publisher.awaiting()} message(s) unconfirmed")
                publisher.pump(time_limit_s=PUMP_S)
                if self._has_queued():
                    break
            self._take_confirms(publisher)
            if publisher.refused:
                # Unroutable means a queue was deleted: declare the topology again (a new connection)
                # and publish again; only the tickets holding a refused message spend an attempt.
                refused, reason = set(publisher.refused), next(iter(publisher.refused.values()))
                publisher.refused.clear()
                charged = {ticket for message_id in refused for ticket in self._owner.get(message_id, ())}
                self._retry(PublishFailed(f"not accepted: {reason}"), charged)
                return
            oldest = min((t.published_at for t in self._in_flight), default=time.monotonic())
            if time.monotonic() - oldest > self._timeout_s:
                raise ConfirmTimeout(f"{publisher.awaiting()} message(s) unconfirmed")
        except RETRYABLE as error:
            if publisher is not None:
                self._take_confirms(publisher)  # what it confirmed before failing is not sent again
            blocked = publisher.blocked if publisher is not None else None
            if blocked or isinstance(error, pika.exceptions.ConnectionBlockedTimeout):
                self._fail_blocked(blocked, error)
            else:
                self._retry(error, set(self._in_flight))

    def _fail_blocked(self, blocked: str | None, error: Exception) -> None:
        # The alarm is broker-wide: another connection is blocked too, and publishing again would
        # duplicate what RabbitMQ read before it blocked this one. Every waiting caller is told.
        self._drop()
        for ticket in list(self._in_flight):
            self._finish(
                ticket,
                PublishFailed(
                    f"RabbitMQ blocked publishing ({blocked or 'a resource alarm'}) for {self._timeout_s:g} s: "
                    f"{len(ticket.pending)} message(s) unconfirmed; RabbitMQ may still deliver them once "
                    f"the alarm clears, so send again with the same message ids ({error!r})"
                ),
            )

    def _publish_pending(self, ticket: _Ticket, publisher: Publisher) -> None:
        ticket.published_on, ticket.published_at = publisher, time.monotonic()
        for message in ticket.messages:
            message_id = message.properties.message_id
            if message_id in ticket.pending:
                owners = self._owner.setdefault(message_id, [])
                if ticket not in owners:
                    owners.append(ticket)
                publisher.publish(message.routing_key, message.body, message.properties, timeout_s=self._timeout_s)

    def _take_confirms(self, publisher: Publisher) -> None:
        for message_id in publisher.confirmed:
            for ticket in self._owner.pop(message_id, ()):
                ticket.pending.discard(message_id)
                if not ticket.pending and not ticket.done:
                    self._finish(ticket, None)
        publisher.confirmed.clear()

    def _retry(self, error: Exception, charged: set[_Ticket]) -> None:
        """A new publisher for every ticket in flight; `charged` tickets spend an attempt (and fail
        once they have none left)."""
        self._drop()
        for ticket in self._in_flight:
            ticket.published_on = None
        for ticket in [t for t in self._in_flight if t in charged]:
            ticket.attempts += 1
            if ticket.attempts >= self._attempts:
                unconfirmed = f"{len(ticket.pending)} message(s) unconfirmed after {ticket.attempts} attempts"
                self._finish(ticket, PublishFailed(f"{unconfirmed}: {error}"))
        waiting = [t for t in self._in_flight if not t.done]
        log.warning("publish_retry messages=%d error=%r", sum(len(t.pending) for t in waiting), error)
        fewest = min((t.attempts for t in waiting), default=0)
        if fewest:
            time.sleep(min(0.2 * 2 ** (fewest - 1), 5.0))

    def _finish(self, ticket: _Ticket, error: Exception | None) -> None:
        for message_id in ticket.pending:
            owners = self._owner.get(message_id, [])
            if ticket in owners:
                owners.remove(ticket)
            if not owners:
                self._owner.pop(message_id, None)
        ticket.error, ticket.done = error, True
        if ticket in self._in_flight:
            self._in_flight.remove(ticket)
        ticket.wake()

    def _take_queued(self) -> list[_Ticket]:
        with self._queue_lock:
            taken, self._queued = self._queued, []
        return taken

    def _has_queued(self) -> bool:
        with self._queue_lock:
            return bool(self._queued)

    def _hand_over(self) -> None:
        """Wake a thread still waiting to lead, or end the lead (called holding `_lock`)."""
        with self._queue_lock:
            successor = next((t for t in self._in_flight if not t.done), None)
            if successor is None and self._queued:
                successor = self._queued[0]
            if successor is None:
                self._leading = False
            else:
                successor.wake()
