"""The outbox: every notification is a row before it is sent, and a row is claimed before sending.

The delivered-once rule (docs/notifications.md):
- A row's `key` names the message and the recipient (e.g. "<message id>:email:<address>"), and is
  unique: a redelivered message finds its rows instead of making new ones.
- `queued` → `sending` is an atomic UPDATE (the claim), committed before anything leaves; only the
  worker whose UPDATE changed the row sends it. A `sent` row is never sent again; a `failed` row
  (refused for good) is not retried.
- A row left `sending` by a worker that died mid-send is the one case where we cannot know whether
  it left. After the lease (longer than any send can take) it is sent again: at-least-once per
  recipient, never a silent loss. The duplicate window is the moment between the peer's acceptance
  and our commit of `sent`; webhooks carry the same X-Tickwork-Delivery id on each try for it.
- Rows are added in the same transaction as the state change that causes them (an alert firing, a
  digest due), so a crash between the two cannot lose a notification; `deliver_orphans` sends rows
  whose own task died.

`deliver` reaches the rows through `OutboxRows` (`SqlOutbox`: each claim and each outcome its own
committed transaction), so its claim → send → record flow is unit-tested with a fake.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.errors import DeliveryFailed, NonRetryableError
from services.notifications.metrics import DeliveryObserver, NoMetrics
from services.notifications.redaction import redact_address, redact_text
from services.storage.db import SessionFactory
from services.storage.models import Notification

# A row that failed this many tries is given up (failed) even when the error was transient.
MAX_ATTEMPTS = 8
# A queued row this old is picked up by the periodic sweep: its own task died or is waiting to retry.
RETRY_AFTER = timedelta(seconds=60)
NO_METRICS = NoMetrics()


class Status(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Channel(Protocol):
    """Sends one outbox row; returns the peer's answer. Raises DeliveryFailed to try again later,
    a NonRetryableError (DeliveryRefused, UnsafeDestination, NotificationInvalid) to give up."""

    def send(self, notification: Notification) -> str: ...


@dataclass(frozen=True)
class Outgoing:
    """A notification to put in the outbox."""

    key: str
    channel: str
    recipient: str
    subject: str
    payload: dict[str, Any]
    account: str | None = None
    message_id: str | None = None
    # Where the real address is kept when the outbox keeps only its redacted form (a webhook or
    # Slack URL): {"recipient_id": n}, {"operators": "slack"} or {"task_arg": "url"} (the task's own
    # message, and the ledger's copy of it). None: the recipient is stored as given (email addresses).
    to: dict[str, Any] | None = None


class Addresses(Protocol):
    """Finds the real address of a row stored with a redacted recipient (its payload's "to");
    raises NotificationInvalid when it is gone (a recipient removed meanwhile)."""

    def resolve(self, notification: Notification) -> str: ...


def outbox_key(*parts: object) -> str:
    """An idempotency key from its parts, cut to the column's size."""
    return ":".join(str(part) for part in parts)[:300]


def enqueue(*, session: Session, items: Iterable[Outgoing], now: datetime) -> list[int]:
    """Add the rows whose key is new; returns the ids of every item's row (new or already there)."""
    items = list(items)
    keys = [item.key for item in items]
    existing = {row.key: row.id for row in session.exec(select(Notification).where(col(Notification.key).in_(keys)))}
    for item in items:
        if item.key in existing:
            continue
        row = Notification(
            key=item.key,
            message_id=item.message_id,
            channel=item.channel,
            recipient=redact_address(item.channel, item.recipient) if item.to else item.recipient,
            subject=item.subject[:200],
            account=item.account,
            status=Status.QUEUED,
            payload={**item.payload, "to": item.to} if item.to else item.payload,
            created_at=now,
            updated_at=now,
        )
        # A savepoint per row: a racing worker's insert of the same key loses nothing but this row.
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # the unique key, inserted meanwhile by a redelivered twin
            continue
        existing[item.key] = row.id
    missing = [key for key in keys if existing.get(key) is None]
    if missing:
        for row in session.exec(select(Notification).where(col(Notification.key).in_(missing))):
            existing[row.key] = row.id
    return [existing[key] for key in dict.fromkeys(keys) if existing.get(key) is not None]  # type: ignore[misc]


def claim(*, session: Session, notification_id: int, now: datetime, lease: timedelta) -> Notification | None:
    """Take the row for sending (queued, or `sending` past its lease); None when someone else holds
    it or it is finished. The caller commits before sending, so the claim holds across processes."""
    statement = (
        update(Notification)
        .where(col(Notification.id) == notification_id)
        .where(
            (col(Notification.status) == Status.QUEUED)
            | ((col(Notification.status) == Status.SENDING) & (col(Notification.updated_at) < now - lease))
        )
        .values(status=Status.SENDING, attempts=col(Notification.attempts) + 1, updated_at=now)
    )
    if session.exec(statement).rowcount != 1:
        return None
    return session.get(Notification, notification_id)


def finish(*, session: Session, notification_id: int, status: Status, response: str, now: datetime) -> None:
    row = session.get(Notification, notification_id)
    if row is None:
        return
    row.status, row.last_response, row.updated_at = status, response[:1000], now
    if status == Status.SENT:
        row.sent_at = now
    session.add(row)


def channel_of(*, session: Session, notification_id: int) -> str:
    row = session.get(Notification, notification_id)
    return row.channel if row is not None else "unknown"


class OutboxRows(Protocol):
    """The outbox as `deliver` uses it: each call is its own committed transaction."""

    def claim(self, notification_id: int, *, now: datetime, lease: timedelta) -> Notification | None: ...

    def finish(self, notification_id: int, *, status: Status, response: str, now: datetime) -> None: ...

    def channel_of(self, notification_id: int) -> str: ...

    def orphans(self, *, now: datetime, lease: timedelta) -> list[int]: ...


@dataclass(frozen=True)
class SqlOutbox:
    """The `notifications` table, one transaction per call (a claim is committed before the send)."""

    session_factory: SessionFactory

    def claim(self, notification_id: int, *, now: datetime, lease: timedelta) -> Notification | None:
        with self.session_factory() as session:
            return claim(session=session, notification_id=notification_id, now=now, lease=lease)

    def finish(self, notification_id: int, *, status: Status, response: str, now: datetime) -> None:
        with self.session_factory() as session:
            finish(session=session, notification_id=notification_id, status=status, response=response, now=now)

    def channel_of(self, notification_id: int) -> str:
        with self.session_factory() as session:
            return channel_of(session=session, notification_id=notification_id)

    def orphans(self, *, now: datetime, lease: timedelta) -> list[int]:
        with self.session_factory() as session:
            return orphans(session=session, now=now, lease=lease)


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # already sent, failed, or held by another worker
    deferred: dict[int, str] = field(default_factory=dict)  # will be tried again
    refused: dict[int, str] = field(default_factory=dict)  # given up
    refusal: NonRetryableError | None = None  # the first refusal, raised as it was

    def summary(self) -> str:
        return (
            f"sent {len(self.sent)}, skipped {len(self.skipped)}, deferred {len(self.deferred)}, "
            f"refused {len(self.refused)}"
        )

    def raise_for_outcome(self) -> None:
        """DeliveryFailed when something should be tried again (the task retries: rows already sent
        are skipped); a NonRetryableError when everything left was refused for good."""
        if self.deferred:
            raise DeliveryFailed("; ".join(self.deferred.values())[:1000])
        if self.refused and not self.sent and not self.skipped:
            raise self.refusal or NonRetryableError("; ".join(self.refused.values())[:1000])


def deliver(
    ids: Iterable[int],
    *,
    outbox: OutboxRows,
    channels: Mapping[str, Channel],
    lease: timedelta,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    addresses: Addresses | None = None,
    observer: DeliveryObserver = NO_METRICS,
) -> DeliveryReport:
    """Claim and send each row; every outcome is written to its row. A row stored with a redacted
    recipient is sent to the address `addresses` finds for it; what is written back and reported
    (answers, errors) has that address redacted again."""
    report = DeliveryReport()
    for notification_id in ids:
        row = outbox.claim(notification_id, now=clock(), lease=lease)
        if row is None:
            report.skipped.append(notification_id)
            observer.outcome(outbox.channel_of(notification_id), "skipped_duplicate")
            continue
        started = time.monotonic()
        secrets: dict[str, str] = {}  # the real address -> its redacted form, once resolved
        try:
            if row.payload.get("to"):
                if addresses is None:
                    raise DeliveryFailed("no address book on this worker for a redacted recipient")
                shown, row.recipient = row.recipient, addresses.resolve(row)
                secrets[row.recipient] = shown
            channel = channels.get(row.channel)
            if channel is None:
                raise DeliveryFailed(f"channel {row.channel!r} is not configured on this worker")
            answer = channel.send(row)
        except NonRetryableError as error:
            refusal = _hidden(f"refused: {error}", secrets)
            outbox.finish(notification_id, status=Status.FAILED, response=refusal, now=clock())
            report.refused[notification_id] = _hidden(f"{row.channel} {row.subject!r}: {error}", secrets)
            report.refusal = report.refusal or _redacted_error(error, secrets)
            observer.outcome(row.channel, "refused")
        except DeliveryFailed as error:
            final = row.attempts >= MAX_ATTEMPTS
            status = Status.FAILED if final else Status.QUEUED
            outbox.finish(notification_id, status=status, response=_hidden(str(error), secrets), now=clock())
            target = report.refused if final else report.deferred
            target[notification_id] = _hidden(f"{row.channel} {row.subject!r}: {error}", secrets)
            observer.outcome(row.channel, "failed")
        except BaseException as error:
            # Anything else (a bug, a time limit, a cancel): put it back for a later try, then re-raise.
            outbox.finish(notification_id, status=Status.QUEUED, response=_hidden(repr(error), secrets), now=clock())
            raise
        else:
            outbox.finish(notification_id, status=Status.SENT, response=_hidden(answer, secrets), now=clock())
            report.sent.append(notification_id)
            observer.outcome(row.channel, "sent")
        finally:
            observer.duration(row.channel, time.monotonic() - started)
    return report


def _hidden(text: str, secrets: Mapping[str, str]) -> str:
    return redact_text(text, secrets) or ""


def _redacted_error(error: NonRetryableError, secrets: Mapping[str, str]) -> NonRetryableError:
    """The error as raised, or a copy whose message hides the secret addresses."""
    if not secrets:
        return error
    try:
        return type(error)(_hidden(str(error), secrets))
    except TypeError:  # an error class with other constructor arguments
        return NonRetryableError(_hidden(str(error), secrets))


def orphans(
    *, session: Session, now: datetime, lease: timedelta, retry_after: timedelta = RETRY_AFTER, limit: int = 100
) -> list[int]:
    """Rows nobody is delivering: queued (new or deferred) for longer than `retry_after`, or
    `sending` past the lease (their worker died)."""
    query = (
        select(Notification.id)
        .where(
            ((col(Notification.status) == Status.QUEUED) & (col(Notification.updated_at) < now - retry_after))
            | ((col(Notification.status) == Status.SENDING) & (col(Notification.updated_at) < now - lease))
        )
        .order_by(col(Notification.updated_at))
        .limit(limit)
    )
    return [row for row in session.exec(query) if row is not None]


def deliver_orphans(
    *,
    outbox: OutboxRows,
    channels: Mapping[str, Channel],
    lease: timedelta,
    now: datetime,
    addresses: Addresses | None = None,
    observer: DeliveryObserver = NO_METRICS,
) -> DeliveryReport:
    """Send what a dead task left behind (called by the periodic notification actors)."""
    ids = outbox.orphans(now=now, lease=lease)
    return deliver(ids, outbox=outbox, channels=channels, lease=lease, addresses=addresses, observer=observer)
