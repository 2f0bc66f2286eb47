"""Recipients and their preferences: who gets an account's alerts and digests, on which channel.

Checked when saved: an email address's syntax, a webhook or Slack URL's scheme and destination (the
SSRF guard, so a URL that points inward is refused now rather than at 3 a.m.), the severity, the
portfolio's account. A webhook or Slack URL is a secret (whoever has a Slack incoming-webhook URL can
post to the channel), so every listing shows it redacted (`redact_url`); the real one stays in
`notification_recipients`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, col, select

from services.errors import NotFound, UnsafeDestination
from services.notifications.dispatch import CHANNELS
from services.notifications.preferences import PreferenceInvalid, check_portfolio, check_severity
from services.notifications.redaction import redact_address, redact_url
from services.notifications.ssrf import SsrfGuard
from services.storage.db import as_utc
from services.storage.models import NotificationRecipient

# Deliberately plain: one @, no spaces, a dotted domain. The SMTP server is the final judge.
EMAIL = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
SECRET_PREFIX = "whsec_"


class RecipientNotFound(NotFound):
    """Raised when a recipient id names no recipient."""


@dataclass(frozen=True)
class RecipientIn:
    account: str
    channel: str
    address: str
    portfolio_id: int | None = None
    min_severity: str = "warning"
    alerts: bool = True
    digest: bool = True


def check_address(channel: str, address: str, *, guard: SsrfGuard) -> str:
    """The address, trimmed, if `channel` can deliver to it; raises PreferenceInvalid otherwise."""
    address = address.strip()
    if channel not in CHANNELS:
        raise PreferenceInvalid(f"unknown channel {channel!r}; channels are {', '.join(CHANNELS)}")
    if len(address) > 1000:
        raise PreferenceInvalid("the address is longer than 1000 characters")
    if channel == "email":
        if not EMAIL.match(address):
            raise PreferenceInvalid(f"{address!r} is not an email address")
        return address
    scheme = urlsplit(address).scheme
    if scheme not in ("https", "http"):
        raise PreferenceInvalid(
            f"a {channel} address must be an https:// (or http://) URL, not {scheme or 'no'} scheme"
        )
    try:
        guard.check(address)
    except UnsafeDestination as error:
        # The message names the host and why; never the path, which is the secret.
        raise PreferenceInvalid(f"{redact_url(address)} is refused: {error}") from None
    return address


def add_recipient(
    *, session: Session, recipient: RecipientIn, guard: SsrfGuard, now: datetime
) -> NotificationRecipient:
    """Save a recipient after checking it (the same account, channel and address twice is refused)."""
    account = recipient.account.strip()
    if not account or len(account) > 100:
        raise PreferenceInvalid("account must be 1 to 100 characters")
    check_severity(recipient.min_severity)
    address = check_address(recipient.channel, recipient.address, guard=guard)
    if recipient.digest and recipient.channel != "email" and not recipient.alerts:
        raise PreferenceInvalid("the daily digest goes by email only: this recipient would receive nothing")
    check_portfolio(session, recipient.portfolio_id, account)
    twin = session.exec(
        select(NotificationRecipient).where(
            NotificationRecipient.account == account,
            NotificationRecipient.channel == recipient.channel,
            NotificationRecipient.address == address,
            NotificationRecipient.portfolio_id == recipient.portfolio_id
            if recipient.portfolio_id is not None
            else col(NotificationRecipient.portfolio_id).is_(None),
        )
    ).first()
    if twin is not None:
        raise PreferenceInvalid(f"account {account!r} already has this {recipient.channel} recipient (id {twin.id})")
    row = NotificationRecipient(
        account=account,
        portfolio_id=recipient.portfolio_id,
        channel=recipient.channel,
        address=address,
        min_severity=recipient.min_severity,
        alerts=recipient.alerts,
        digest=recipient.digest and recipient.channel == "email",
        created_at=now,
        signing_secret=new_signing_secret() if recipient.channel == "webhook" else None,
    )
    session.add(row)
    session.flush()
    return row


def new_signing_secret() -> str:
    """A webhook recipient's own signing secret (32 random bytes): a receiver that can verify one
    recipient's deliveries cannot forge, nor replay to, another's."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def list_recipients(*, session: Session, account: str | None = None) -> list[NotificationRecipient]:
    query = select(NotificationRecipient).order_by(col(NotificationRecipient.account), col(NotificationRecipient.id))
    if account is not None:
        query = query.where(NotificationRecipient.account == account)
    return list(session.exec(query))


def remove_recipient(*, session: Session, recipient_id: int) -> NotificationRecipient:
    """Delete a recipient; its outbox rows stay (they name the address redacted)."""
    row = session.get(NotificationRecipient, recipient_id)
    if row is None:
        raise RecipientNotFound(f"no notification recipient with id {recipient_id}")
    session.delete(row)
    session.flush()
    return row


def recipient_view(row: NotificationRecipient) -> dict[str, Any]:
    """A recipient as listings show it: the URL redacted."""
    return {
        "id": row.id,
        "account": row.account,
        "portfolio_id": row.portfolio_id,
        "channel": row.channel,
        "address": redact_address(row.channel, row.address),
        "min_severity": row.min_severity,
        "alerts": row.alerts,
        "digest": row.digest,
        "active": row.active,
        "created_at": as_utc(row.created_at),
    }
