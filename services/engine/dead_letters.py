"""Dead letters: list, inspect, replay and purge the messages in the `.XQ` queues.

RabbitMQ is the store: a message stays in its `.XQ` until it is replayed or purged. Reading takes
each message off the queue unacknowledged and gives back the ones not acted on when the channel
closes, so nothing is lost if the process dies midway. Replays and purges are recorded in
`dead_letter_actions`, and replayed tasks go back to `pending` in the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pika
from pydantic import BaseModel, ConfigDict
from sqlalchemy import update
from sqlmodel import col

from services.engine.ledger.states import TaskState
from services.engine.topology import QUEUES, dead_letter_queue
from services.storage.db import SessionFactory
from services.storage.models import DeadLetterAction, Task

# Options a worker adds while trying a message; a replay starts from a clean slate.
_WORKER_OPTIONS = {
    "retries",
    "traceback",
    "requeue_timestamp",
    "eta",
    "due_at_ms",
    "dead_letter",
    "enqueued_at_ms",
    "tickwork_rejection",
    "tickwork_rejected_body",
}


class DeadLetterSummary(BaseModel):
    """What is shown of a dead letter in a list: its queue and id, why it is there, after how many
    attempts (the API's DeadLetterOut and the CLI's rows)."""

    queue: str
    message_id: str
    actor: str
    reason: str
    error_type: str
    error: str
    attempts: int
    dead_lettered_at: datetime | None


class DeadLetter(DeadLetterSummary):
    """One message in a dead-letter queue, with why it is there."""

    model_config = ConfigDict(frozen=True)

    envelope: dict[str, Any] | None  # None when the body is not a readable message
    body: bytes

    @property
    def replayable(self) -> bool:
        return self.envelope is not None

    def summary(self) -> dict[str, Any]:
        """The summary's fields, the time as ISO 8601 (for JSON and tables)."""
        shown = self.model_dump(include=set(DeadLetterSummary.model_fields))
        return {**shown, "dead_lettered_at": self.dead_lettered_at.isoformat() if self.dead_lettered_at else None}


@dataclass(frozen=True)
class Selector:
    """Which dead letters an action applies to: one id, or every one matching the other fields."""

    message_id: str | None = None
    actor: str | None = None
    reason: str | None = None

    def __call__(self, letter: DeadLetter) -> bool:
        return (
            (self.message_id is None or letter.message_id == self.message_id)
            and (self.actor is None or letter.actor == self.actor)
            and (self.reason is None or letter.reason == self.reason)
        )

    def __str__(self) -> str:
        parts = [f"{k}={v}" for k, v in vars(self).items() if v is not None]
        return " ".join(parts) or "all"


def parse(queue: str, properties: Any, body: bytes) -> DeadLetter:
    """A dead letter from what RabbitMQ holds: Tickwork's headers, else the body's own record."""
    headers = dict(properties.headers or {})
    try:
        envelope: dict[str, Any] | None = json.loads(body)
        if not isinstance(envelope, dict) or "actor_name" not in envelope:
            envelope = None
    except ValueError:
        envelope = None
    record = (envelope or {}).get("options", {}).get("dead_letter", {})

    def fact(key: str, default: Any = "") -> Any:
        return headers.get(f"x-tickwork-{key.replace('_', '-')}", record.get(key, default))

    at_ms = fact("dead_lettered_at_ms", None)
    return DeadLetter(
        queue=queue,
        message_id=str((envelope or {}).get("message_id") or properties.message_id or ""),
        actor=str((envelope or {}).get("actor_name") or "(unreadable)"),
        reason=str(fact("reason", "unknown")),
        error_type=str(fact("error_type")),
        error=str(fact("error")),
        attempts=int(fact("attempts", 1) or 1),
        dead_lettered_at=datetime.fromtimestamp(at_ms / 1000, UTC) if at_ms else None,
        envelope=envelope,
        body=body,
    )


def replay_envelope(envelope: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """The message to send again: worker-added options removed (a fresh retry budget) and a fresh
    timestamp, so that the age limit counts from the replay."""
    options = {k: v for k, v in envelope.get("options", {}).items() if k not in _WORKER_OPTIONS}
    return {
        **envelope,
        "queue_name": envelope["queue_name"].removesuffix(".DQ"),
        "options": options,
        "message_timestamp": now_ms,
    }


class DeadLetters:
    """Dead-letter operations against one RabbitMQ and one ledger database."""

    def __init__(self, *, rabbitmq_url: str, session_factory: SessionFactory) -> None:
        self._parameters = pika.URLParameters(rabbitmq_url)
        self._sessions = session_factory

    def find(
        self, *, queues: tuple[str, ...] = QUEUES, where: Selector = Selector(), limit: int = 100
    ) -> list[DeadLetter]:
        """Dead letters matching `where`, oldest first, at most `limit`; they stay in their queues."""
        found: list[DeadLetter] = []
        with self._channel() as channel:
            for queue in queues:
                for _, letter in _drain(channel, queue):
                    if where(letter):
                        found.append(letter)
                    if len(found) >= limit:
                        return found
        return found

    def get(self, message_id: str) -> DeadLetter | None:
        """One dead letter by its message id, or None."""
        letters = self.find(where=Selector(message_id=message_id), limit=1)
        return letters[0] if letters else None

    def replay(self, *, where: Selector, queues: tuple[str, ...] = QUEUES, requested_by: str) -> list[DeadLetter]:
        """Send matching dead letters back to their queue with a fresh retry budget; returns them.
        Unreadable bodies are never replayed (they would only fail again)."""

        def resend(channel: Any, letter: DeadLetter) -> bool:
            if not letter.replayable:
                return False
            assert letter.envelope is not None
            envelope = replay_envelope(letter.envelope, int(datetime.now(UTC).timestamp() * 1000))
            channel.basic_publish(
                "",
                envelope["queue_name"],
                json.dumps(envelope, separators=(",", ":")).encode(),
                pika.BasicProperties(
                    delivery_mode=2,
                    content_type="application/json",
                    priority=envelope["options"].get("broker_priority"),
                    message_id=letter.message_id,
                ),
                mandatory=True,
            )
            return True

        started = datetime.now(UTC)
        moved = self._act(where, queues, resend)
        self._record("replay", moved, where, requested_by, since=started)
        return moved

    def purge(self, *, where: Selector, queues: tuple[str, ...] = QUEUES, requested_by: str) -> list[DeadLetter]:
        """Delete matching dead letters for good; returns them."""
        removed = self._act(where, queues, lambda channel, letter: True)
        self._record("purge", removed, where, requested_by)
        return removed

    def _act(
        self, where: Selector, queues: tuple[str, ...], action: Callable[[Any, DeadLetter], bool]
    ) -> list[DeadLetter]:
        done: list[DeadLetter] = []
        with self._channel() as channel:
            channel.confirm_delivery()
            for queue in queues:
                for tag, letter in _drain(channel, queue):
                    # Acknowledged only once the action succeeded (a replay is confirmed first).
                    if where(letter) and action(channel, letter):
                        channel.basic_ack(tag)
                        done.append(letter)
        return done

    def _record(
        self, action: str, letters: list[DeadLetter], where: Selector, requested_by: str, since: datetime | None = None
    ) -> None:
        now = datetime.now(UTC)
        by_queue: dict[str, list[str]] = {}
        for letter in letters:
            by_queue.setdefault(letter.queue, []).append(letter.message_id)
        with self._sessions() as session:
            for queue, ids in by_queue.items() or {"*": []}.items():
                session.add(
                    DeadLetterAction(
                        action=action,
                        queue=queue,
                        selector=str(where),
                        message_ids=ids,
                        count=len(ids),
                        requested_by=requested_by,
                        at=now,
                    )
                )
            if action == "replay" and letters:
                # Only rows no worker has touched since the replay began: a replayed message may
                # already have run (and failed again) before this line, and must not look pending.
                session.execute(
                    update(Task)
                    .where(col(Task.message_id).in_([x.message_id for x in letters]))
                    .where(col(Task.updated_at) < (since or now))
                    .values(
                        state=TaskState.PENDING.value, finished_at=None, progress=0.0, current_step=None, updated_at=now
                    )
                )

    @contextmanager
    def _channel(self) -> Iterator[Any]:
        connection = pika.BlockingConnection(self._parameters)
        try:
            yield connection.channel()
        finally:
            # Closing returns every message taken and not acknowledged to its queue.
            if connection.is_open:
                connection.close()


def _drain(channel: Any, queue: str) -> Iterator[tuple[int, DeadLetter]]:
    """The messages `queue`'s .XQ holds now, taken unacknowledged (returned when the channel closes).

    Only as many as it held at the start: a replayed message that fails again while we read must
    not come round a second time."""
    name = dead_letter_queue(queue)
    for _ in range(channel.queue_declare(name, passive=True).method.message_count):
        method, properties, body = channel.basic_get(name, auto_ack=False)
        if method is None:
            return
        yield method.delivery_tag, parse(queue, properties, body)
