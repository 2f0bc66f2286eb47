"""Which secret signs a webhook delivery: the recipient's own (`notification_recipients
.signing_secret`, made when it is added), else TICKWORK_WEBHOOK_SECRET. The global secret signs,
as documented: recipients saved before their own secrets existed, and `webhook_callback`'s URLs
(which have no recipient row); every receiver that shares it can verify the others' deliveries, so
the signed body also names its destination and who asked for it (docs/notifications.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from services.errors import NotificationInvalid
from services.storage.db import SessionFactory
from services.storage.models import Notification, NotificationRecipient

NO_SECRET = "TICKWORK_WEBHOOK_SECRET is not set: webhooks are not sent unsigned"


class SigningKeys(Protocol):
    """The secret for one outbox row; raises NotificationInvalid when there is none."""

    def secret_for(self, notification: Notification) -> str: ...


@dataclass(frozen=True)
class RecipientKeys:
    """A recipient's own secret, or `fallback` (TICKWORK_WEBHOOK_SECRET; None when it is not set)."""

    sessions: SessionFactory
    fallback: str | None = None

    def secret_for(self, notification: Notification) -> str:
        recipient_id = (notification.payload.get("to") or {}).get("recipient_id")
        if recipient_id is not None:
            with self.sessions() as session:
                row = session.get(NotificationRecipient, int(recipient_id))
                own = row.signing_secret if row is not None else None
            if own:
                return own
        if self.fallback:
            return self.fallback
        raise NotificationInvalid(NO_SECRET)
