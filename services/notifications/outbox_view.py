"""The outbox as operators read it: rows newest first, URLs redacted wherever they appear."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from services.notifications.preferences import PreferenceInvalid
from services.notifications.redaction import URL_CHANNELS, redact_address, redact_text, redact_url
from services.storage.db import as_utc
from services.storage.models import Notification

OUTBOX_STATUSES = ("queued", "sending", "sent", "failed")


def list_outbox(
    *, session: Session, status: str | None = None, channel: str | None = None, limit: int = 100
) -> list[Notification]:
    """Outbox rows, newest first."""
    if status is not None and status not in OUTBOX_STATUSES:
        raise PreferenceInvalid(f"unknown status {status!r}; statuses are {', '.join(OUTBOX_STATUSES)}")
    query = select(Notification).order_by(col(Notification.id).desc()).limit(limit)
    if status is not None:
        query = query.where(Notification.status == status)
    if channel is not None:
        query = query.where(Notification.channel == channel)
    return list(session.exec(query))


def outbox_view(row: Notification) -> dict[str, Any]:
    """An outbox row as listings show it: URLs redacted wherever they appear (the key names the
    recipient too), the payload left out (it can be large and holds the message itself)."""
    secrets = {row.recipient: redact_url(row.recipient)} if row.channel in URL_CHANNELS else {}
    return {
        "id": row.id,
        "key": redact_text(row.key, secrets),
        "channel": row.channel,
        "recipient": redact_address(row.channel, row.recipient),
        "subject": row.subject,
        "account": row.account,
        "status": row.status,
        "attempts": row.attempts,
        "last_response": redact_text(row.last_response, secrets),
        "created_at": as_utc(row.created_at),
        "updated_at": as_utc(row.updated_at),
        "sent_at": as_utc(row.sent_at) if row.sent_at else None,
    }
