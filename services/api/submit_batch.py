"""Submitting a batch of tasks through the API, all or nothing.

Every task is checked (its schedule, then the contract, by the client) before any is sent; the
client's `send_many` then publishes them with many confirms in flight and records their `pending`
rows in one statement, so an answer means every task is confirmed by RabbitMQ and in the ledger.
One `Idempotency-Key` covers the batch: its replay gets the first answer back. With a key, task ids
follow from the token, the key, the body and the position, so a batch sent again after a failure
that may have let some through (a 503, a dead request) sends those under the same ids: a worker
sees them as the redelivery every actor already tolerates, not as new tasks.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from services.api.idempotency import claim_key, fingerprint, forget_key, store_answer
from services.api.schemas import TaskBatch, TaskBatchCreated, TaskCreate
from services.api.submit import ScheduleTooFar, answer, to_send
from services.api.tokens import Caller
from services.engine.client import Send, SentMessage
from services.errors import MessageRejected, PublishFailed, TickworkError
from services.storage.db import SessionFactory

BATCH_IDS = uuid.UUID("5f0d6c0e-3b9a-4d61-9a43-2c7e1b8f4a10")  # the uuid5 namespace of keyed batches' task ids


class BatchTaskInvalid(TickworkError):
    """Raised when one task of a batch fails its checks; none of the batch is sent."""

    def __init__(self, index: int, actor: str, reason: str, detail: str) -> None:
        super().__init__(f"tasks[{index}] ({actor}): {detail}")
        self.index, self.actor, self.reason = index, actor, reason


class BatchSender(Protocol):
    """What publishes the batch: the TickworkClient (validates all first, returns once all are confirmed)."""

    def send_many(self, requests: Iterable[Send]) -> list[SentMessage]: ...


@dataclass(frozen=True)
class BatchSubmitted:
    created: TaskBatchCreated
    replayed: bool  # True when an Idempotency-Key returned an earlier answer


def submit_batch(
    request: TaskBatch,
    *,
    client: BatchSender,
    session_factory: SessionFactory,
    caller: Caller,
    idempotency_key: str | None,
) -> BatchSubmitted:
    """Send every task of `request`, or none; raises BatchTaskInvalid naming the first task refused."""
    now = datetime.now(UTC)
    body = fingerprint(request) if idempotency_key else ""
    ids = task_ids(len(request.tasks), caller.token_id, idempotency_key, body)
    outgoing = [_checked(i, task, now, ids[i]) for i, task in enumerate(request.tasks)]
    if idempotency_key:
        earlier = claim_key(session_factory, idempotency_key, caller.token_id, body, ids[0], now)
        if earlier is not None:
            return BatchSubmitted(TaskBatchCreated.model_validate(earlier), replayed=True)
    try:
        sent = client.send_many(outgoing)
    except (PublishFailed, MessageRejected) as error:  # the key may be used again: a retry sends the same ids
        if idempotency_key:
            with session_factory() as session:
                forget_key(session, idempotency_key, caller.token_id)
        if isinstance(error, MessageRejected) and error.index is not None:
            actor = request.tasks[error.index].actor
            raise BatchTaskInvalid(error.index, actor, error.reason, str(error)) from error
        raise
    tasks = [
        answer(task, confirmed, out, now) for task, confirmed, out in zip(request.tasks, sent, outgoing, strict=True)
    ]
    created = TaskBatchCreated(count=len(tasks), tasks=tasks)
    if idempotency_key:
        store_answer(session_factory, idempotency_key, caller.token_id, created.model_dump(mode="json"))
    return BatchSubmitted(created, replayed=False)


def _checked(index: int, task: TaskCreate, now: datetime, message_id: str) -> Send:
    try:
        return to_send(task, now, message_id)
    except ScheduleTooFar as error:
        raise BatchTaskInvalid(index, task.actor, "schedule_too_far", str(error)) from None


def task_ids(count: int, token_id: str, key: str | None, body: str) -> list[str]:
    """New ids without a key; with one, ids that the token, key, body fingerprint and position decide."""
    if not key:
        return [str(uuid.uuid4()) for _ in range(count)]
    return [str(uuid.uuid5(BATCH_IDS, f"{token_id}\n{key}\n{body}\n{index}")) for index in range(count)]
