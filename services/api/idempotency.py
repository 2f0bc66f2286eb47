"""The `Idempotency-Key` of a creation: a key is claimed before anything is sent (its own
transaction, so a concurrent twin sees it), let go when nothing was sent, and holds the first answer
once sent; the same key and body then get that answer back, a different body 409. Keys are per
token. One creation (POST /api/v1/tasks) and one batch (POST /api/v1/tasks/batch) claim keys alike."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.errors import TickworkError
from services.storage.db import SessionFactory, as_utc
from services.storage.models import IdempotencyKey

ABANDONED = timedelta(seconds=90)  # a key still without an answer after this was left by a dead request


class IdempotencyConflict(TickworkError):
    """Raised when an Idempotency-Key is reused for a different request, or while its first use runs."""


def fingerprint(request: BaseModel) -> str:
    """What says two requests are the same: the SHA-256 of the body as validated."""
    return hashlib.sha256(json.dumps(request.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


def claim_key(
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
                    forget_key(session, key, token_id)
                continue
            if not row.response:
                raise IdempotencyConflict(
                    "a request with this Idempotency-Key is still being processed; retry shortly"
                ) from None
            return row.response
    raise IdempotencyConflict("this Idempotency-Key is in use by a concurrent request; retry shortly")


def forget_key(session: Session, key: str, token_id: str) -> None:
    """Let go of a claimed key (nothing was sent: the key may be used again)."""
    row = session.get(IdempotencyKey, (key, token_id))
    if row is not None:
        session.delete(row)


def store_answer(session_factory: SessionFactory, key: str, token_id: str, answer: dict[str, Any]) -> None:
    """Keep the first answer of a claimed key, for its replays."""
    with session_factory() as session:
        row = session.get(IdempotencyKey, (key, token_id))
        if row is not None:
            row.response = answer
            session.add(row)
