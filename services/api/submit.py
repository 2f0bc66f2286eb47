"""Submitting a task through the API: contract check, schedule, retry override, idempotency."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.api.idempotency import claim_key, fingerprint, forget_key, store_answer
from services.api.schemas import TaskCreate, TaskCreated
from services.api.tokens import Caller
from services.engine.client import Send, SentMessage, TickworkClient
from services.engine.ledger.states import TaskState
from services.errors import MessageRejected, PublishFailed, TickworkError
from services.storage.db import SessionFactory

MAX_SCHEDULE_AHEAD = timedelta(days=30)


class ScheduleTooFar(TickworkError):
    """Raised when scheduled_for is further ahead than the API accepts."""


@dataclass(frozen=True)
class Submitted:
    created: TaskCreated
    replayed: bool  # True when an Idempotency-Key returned an earlier answer


def submit(
    request: TaskCreate,
    *,
    client: TickworkClient,
    session_factory: SessionFactory,
    caller: Caller,
    idempotency_key: str | None,
) -> Submitted:
    """Send the task through the client; with an Idempotency-Key, the key is claimed first (its own
    transaction, so a concurrent twin sees it) and the answer stored after the send."""
    now = datetime.now(UTC)
    outgoing = to_send(request, now)
    if idempotency_key:
        earlier = claim_key(
            session_factory, idempotency_key, caller.token_id, fingerprint(request), outgoing.message_id or "", now
        )
        if earlier is not None:
            return Submitted(TaskCreated.model_validate(earlier), replayed=True)
    try:
        sent = client.send(
            outgoing.actor,
            outgoing.kwargs,
            priority=outgoing.priority,
            delay_s=outgoing.delay_s,
            retry=outgoing.retry,
            message_id=outgoing.message_id,
        )
    except (PublishFailed, MessageRejected):  # nothing was sent: the key may be used again
        if idempotency_key:
            with session_factory() as session:
                forget_key(session, idempotency_key, caller.token_id)
        raise
    created = answer(request, sent, outgoing, now)
    if idempotency_key:
        store_answer(session_factory, idempotency_key, caller.token_id, created.model_dump(mode="json"))
    return Submitted(created, replayed=False)


def to_send(request: TaskCreate, now: datetime, message_id: str | None = None) -> Send:
    """The client's message for `request`, its task id `message_id` or a new one; raises ScheduleTooFar."""
    return Send(
        request.actor,
        request.parameters,
        priority=request.priority,
        delay_s=_delay(request.scheduled_for, now),
        retry=request.retry_policy.model_dump(exclude_none=True) if request.retry_policy else None,
        message_id=message_id or str(uuid.uuid4()),
    )


def answer(request: TaskCreate, sent: SentMessage, outgoing: Send, now: datetime) -> TaskCreated:
    """What the API answers for a task the client confirmed."""
    return TaskCreated(
        task_id=sent.message_id,
        status=TaskState.PENDING,
        actor=sent.actor,
        queue=sent.queue,
        priority=sent.priority,
        created_at=now,
        scheduled_for=request.scheduled_for if outgoing.delay_s else None,
    )


def _delay(scheduled_for: datetime | None, now: datetime) -> float | None:
    if scheduled_for is None:
        return None
    if scheduled_for - now > MAX_SCHEDULE_AHEAD:
        raise ScheduleTooFar(f"scheduled_for may be at most {MAX_SCHEDULE_AHEAD.days} days ahead")
    delay = (scheduled_for - now).total_seconds()
    return delay if delay > 0 else None  # in the past: run now
