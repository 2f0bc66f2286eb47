"""Submitting a task through the API: contract check, schedule, retry override, idempotency."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.api.schemas import TaskCreate, TaskCreated
from services.api.tokens import Caller
from services.engine.client import TickworkClient
from services.engine.ledger.states import TaskState
from services.errors import MessageRejected, PublishFailed, TickworkError
from services.storage.db import SessionFactory, as_utc
from services.storage.models import IdempotencyKey

MAX_SCHEDULE_AHEAD = timedelta(days=30)
ABANDONED = timedelta(seconds=90)  # a key still without an answer after this was left by a dead request


class IdempotencyConflict(TickworkError):
    """Raised when an Idempotency-Key is reused for a different request, or while its first use runs."""


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
    delay_s = _delay(request.scheduled_for, now)
    fingerprint = hashlib.sha256(json.dumps(request.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
    task_id = str(uuid.uuid4())
    if idempotency_key:
        earlier = _claim_key(session_factory, idempotency_key, caller.token_id, fingerprint, task_id, now)
        if earlier is not None:
            return Submitted(TaskCreated.model_validate(earlier), replayed=True)
    try:
        sent = client.send(
            request.actor,
            request.parameters,
            priority=request.priority,
            delay_s=delay_s,
            retry=request.retry_policy.model_dump(exclude_none=True) if request.retry_policy else None,
            message_id=task_id,
        )
    except (PublishFailed, MessageRejected):  # nothing was sent: the key may be used again
        if idempotency_key:
            with session_factory() as session:
                _forget_key(session, idempotency_key, caller.token_id)
        raise
    created = TaskCreated(
        task_id=sent.message_id,
        status=TaskState.PENDING,
        actor=sent.actor,
        queue=sent.queue,
        priority=sent.priority,
        created_at=now,
        scheduled_for=request.scheduled_for if delay_s else None,
    )
    if idempotency_key:
        with session_factory() as session:
            row = session.get(IdempotencyKey, (idempotency_key, caller.token_id))
            if row is not None:
                row.response = created.model_dump(mode="json")
                session.add(row)
    return Submitted(created, replayed=False)


def _delay(scheduled_for: datetime | None, now: datetime) -> float | None:
    if scheduled_for is None:
        return None
    if scheduled_for - now > MAX_SCHEDULE_AHEAD:
        raise ScheduleTooFar(f"scheduled_for may be at most {MAX_SCHEDULE_AHEAD.days} days ahead")
    delay = (scheduled_for - now).total_seconds()
    return delay if delay > 0 else None  # in the past: run now


def _claim_key(
    session_factory: SessionFactory, key: str, token_id: str, fingerprint: str, task_id: str, now: datetime
) -> dict[str, Any] | None:
    """Record the key for this request; returns the earlier answer when the same request was made."""
    for _ in range(2):  # a second try when the first use failed and let go of the key meanwhile
        try:
            with session_factory() as session:
                session.add(
                    IdempotencyKey(
                        key=key, token_id=token_id, request_sha256=fingerprint, task_id=task_id, created_at=now
                    )
                )
            return None
        except IntegrityError:
            with session_factory() as session:
                row = session.get(IdempotencyKey, (key, token_id))
            if row is None:
                continue
            if row.request_sha256 != fingerprint:
                raise IdempotencyConflict("this Idempotency-Key was already used for a different request") from None
            if not row.response and now - as_utc(row.created_at) > ABANDONED:
                with session_factory() as session:  # its request died half-way: take it over
                    _forget_key(session, key, token_id)
                continue
            if not row.response:
                raise IdempotencyConflict(
                    "a request with this Idempotency-Key is still being processed; retry shortly"
                ) from None
            return row.response
    raise IdempotencyConflict("this Idempotency-Key is in use by a concurrent request; retry shortly")


def _forget_key(session: Session, key: str, token_id: str) -> None:
    row = session.get(IdempotencyKey, (key, token_id))
    if row is not None:
        session.delete(row)
