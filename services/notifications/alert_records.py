"""Alert records: raised by a check while its condition holds, resolved when it clears.

One open alert per key at a time, so a check that runs every minute does not pile up duplicates.
Delivering alerts (email, chat, webhooks, cooldowns) is the notifications' job; this module only
keeps the record they start from.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from services.storage.models import Alert


def raise_alert(
    *,
    session: Session,
    key: str,
    kind: str,
    severity: str,
    title: str,
    detail: str,
    now: datetime,
    account: str | None = None,
) -> bool:
    """Open an alert for `key`, or refresh the open one; True when it is newly raised."""
    alert = open_alert(session=session, key=key)
    if alert is not None:
        alert.last_seen_at, alert.detail = now, detail
        session.add(alert)
        return False
    session.add(
        Alert(
            key=key,
            kind=kind,
            account=account,
            severity=severity,
            title=title,
            detail=detail,
            raised_at=now,
            last_seen_at=now,
        )
    )
    return True


def resolve_alert(*, session: Session, key: str, now: datetime) -> bool:
    """Close the open alert for `key`; True when there was one."""
    alert = open_alert(session=session, key=key)
    if alert is None:
        return False
    alert.resolved_at = now
    session.add(alert)
    return True


def open_alert(*, session: Session, key: str) -> Alert | None:
    query = select(Alert).where(Alert.key == key, col(Alert.resolved_at).is_(None))
    return session.exec(query).first()


def open_alerts(*, session: Session, kind: str | None = None) -> list[Alert]:
    query = select(Alert).where(col(Alert.resolved_at).is_(None)).order_by(col(Alert.raised_at))
    if kind is not None:
        query = query.where(Alert.kind == kind)
    return list(session.exec(query))
