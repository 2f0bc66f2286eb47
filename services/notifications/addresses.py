"""Where a redacted outbox recipient's real address is found at send time (services.notifications
.redaction says why the outbox keeps only the redacted form): the recipients table, the operators'
Slack URL from the settings, or the URL the task was sent with (passed in by the running task, else
read back from the ledger's copy of its arguments, for the sweep of rows whose task died).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlmodel import col, select

from services.engine.ledger.redaction import REDACTED
from services.errors import DeliveryFailed, NotificationInvalid
from services.notifications.redaction import redact_url
from services.storage.db import SessionFactory
from services.storage.models import Notification, NotificationRecipient, Task


@dataclass
class AddressBook:
    session_factory: SessionFactory
    operator_slack_url: str | None = None
    known: Mapping[str, str] = field(default_factory=dict)  # a redacted URL -> the URL (the current task's)

    @classmethod
    def with_urls(
        cls, session_factory: SessionFactory, operator_slack_url: str | None, urls: Iterable[str]
    ) -> AddressBook:
        return cls(session_factory, operator_slack_url, {redact_url(url): url for url in urls})

    def resolve(self, notification: Notification) -> str:
        to = notification.payload.get("to") or {}
        if notification.recipient in self.known:
            return self.known[notification.recipient]
        if "recipient_id" in to:
            return self._recipient(int(to["recipient_id"]), notification)
        if to.get("operators") == "slack":
            return self._checked(self.operator_slack_url, notification, "TICKWORK_OPERATOR_SLACK_URL")
        if "task_arg" in to:
            return self._task_arg(str(to["task_arg"]), notification)
        raise NotificationInvalid(f"no address for outbox row {notification.id}: unknown reference {to!r}")

    def _recipient(self, recipient_id: int, notification: Notification) -> str:
        with self.session_factory() as session:
            row = session.get(NotificationRecipient, recipient_id)
            address = row.address if row is not None and row.active else None
        if address is None:
            raise NotificationInvalid(f"recipient {recipient_id} was removed or deactivated before the send")
        return self._checked(address, notification, f"recipient {recipient_id}")

    def _task_arg(self, name: str, notification: Notification) -> str:
        with self.session_factory() as session:
            args = session.exec(select(Task.args).where(col(Task.message_id) == notification.message_id)).first()
        value = (args or {}).get(name)
        if not isinstance(value, str) or value == REDACTED:
            # Not for good: the task's own retry carries the URL in its message and sends the row.
            raise DeliveryFailed(f"the URL of {notification.recipient} is only in task {notification.message_id}")
        return self._checked(value, notification, f"task {notification.message_id}")

    @staticmethod
    def _checked(address: str | None, notification: Notification, source: str) -> str:
        """The address, if it is still the one the row was queued for (a URL changed meanwhile is
        another destination: it is not sent what was meant for the old one)."""
        if not address or redact_url(address) != notification.recipient:
            raise NotificationInvalid(f"{source} no longer holds the address {notification.recipient}")
        return address
