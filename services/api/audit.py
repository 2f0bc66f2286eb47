"""The audit log: every state-changing API call (POST, PUT, DELETE, PATCH), allowed or not, with who
made it, what it was, its target and its HTTP status. Written after the response is decided."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from services.storage.models import AuditEntry

log = logging.getLogger("tickwork.audit")
CHANGES = {"POST", "PUT", "PATCH", "DELETE"}
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def record(
    *, session: Session, who: str, action: str, target: str, status: int, detail: dict[str, Any] | None = None
) -> None:
    who, action, target = escaped(who)[:128], escaped(action)[:64], escaped(target)[:500]
    session.add(
        AuditEntry(at=datetime.now(UTC), who=who, action=action, target=target, status=status, detail=detail or {})
    )
    log.info("audit who=%s action=%s target=%s status=%d", who, action, target, status)


def escaped(text: str) -> str:
    """`text` with control characters written as \\xNN: PostgreSQL text cannot hold NUL, and a row
    that cannot be written is an audit line lost."""
    return CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


def recent(*, session: Session, limit: int = 100) -> list[AuditEntry]:
    return list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)))
