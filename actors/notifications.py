"""Notification actors (queue `notifications`): email, alerts, webhooks, digests, alert rules and the
job monitor. Every notification goes through the outbox (services.notifications.outbox): its rows
are written first, keyed by the message id (or the alert, or the account and day) and the recipient,
then claimed and sent, so a redelivered message sends nothing twice.

Failure policy, common to the senders: the notifications task class (3 retries, 60 s first delay,
exponential with jitter, 300 s time limit). DeliveryFailed (5xx after the in-task retries, timeouts,
an SMTP server away) is retried, and rows already sent are skipped on the retry. Never retried:
DeliveryRefused (an HTTP 4xx, an SMTP 5xx), UnsafeDestination (the SSRF guard), NotificationInvalid
(an unknown template, a missing value, an attachment outside the reports folder).
"""

from __future__ import annotations

import uuid
from datetime import date
from functools import cache
from typing import Any

from dramatiq.middleware import CurrentMessage

from actors.broker import settings
from actors.declare import contract_actor
from actors.task_context import reporter
from actors.timetable import TIMETABLE
from services.notifications import alerting, sends
from services.notifications.alert_rules import Thresholds
from services.notifications.channels import channels_from_settings
from services.notifications.delivery import OutboxDelivery
from services.notifications.digest import send_digests
from services.notifications.dispatch import Operators
from services.notifications.outbox import Channel
from services.settings import revealed
from services.storage.db import SessionFactory, session_factory


@cache
def worker_channels() -> dict[str, Channel]:
    """The channels of this worker process (built at the first notification, not at import)."""
    return channels_from_settings(settings)


@cache
def sessions() -> SessionFactory:
    return session_factory(settings.database_url)


def delivery() -> OutboxDelivery:
    return OutboxDelivery.from_settings(settings, session_factory=sessions(), channels=worker_channels())


def operators() -> Operators:
    return Operators.from_settings(settings.tickwork_operator_emails, revealed(settings.tickwork_operator_slack_url))


def message_id() -> str:
    message = CurrentMessage.get_current_message()
    return message.message_id if message is not None else uuid.uuid4().hex


@contract_actor
def send_email(
    to: list[str],
    subject: str,
    template: str,
    context: dict[str, Any],
    attachments: list[str],
) -> str:
    """One email per recipient, from `templates/<template>.txt|.html`, attachments from the reports
    folder. Idempotent: outbox key "<message id>:email:<address>"."""
    return sends.send_email(
        to=to,
        subject=subject,
        template=template,
        context=context,
        attachments=attachments,
        message_id=message_id(),
        session_factory=sessions(),
        delivery=delivery(),
        reporter=reporter(),
    ).summary()


@contract_actor
def send_alert(
    title: str,
    message: str,
    severity: str = "warning",
    channels: list[str] | None = None,
    account: str | None = None,
    portfolio_id: int | None = None,
    requested_by: str | None = None,
) -> str:
    """Fans the alert out to the account's recipients at or above their minimum severity (the
    operators' when no account is given). Idempotent: outbox key "<message id>:<channel>:<address>"."""
    return sends.send_alert(
        title=title,
        message=message,
        severity=severity,
        channels=channels,
        account=account,
        portfolio_id=portfolio_id,
        message_id=message_id(),
        operators=operators(),
        session_factory=sessions(),
        delivery=delivery(),
        requested_by=requested_by,
        reporter=reporter(),
    ).summary()


@contract_actor
def webhook_callback(url: str, event: str, data: dict[str, Any], requested_by: str | None = None) -> str:
    """POSTs the signed event through the SSRF guard; the signed body says who asked for it
    (`requested_by`): Tickwork signs it but did not produce it. Idempotent: outbox key
    "<message id>:webhook:<redacted url>"; the receiver also gets the same X-Tickwork-Delivery on
    every try. The outbox keeps the URL redacted; the message (and the ledger's copy) holds it."""
    return sends.send_webhook(
        url=url,
        event=event,
        data=data,
        message_id=message_id(),
        session_factory=sessions(),
        delivery=delivery(),
        requested_by=requested_by,
    ).summary()


@contract_actor
def generate_digest(account: str | None = None, day: date | None = None) -> str:
    """Each account's digest of the day (or one account's), and the operators'. Idempotent: one
    outbox row per account, day and recipient. (`account_id` is refused by the contract.)"""
    return send_digests(
        day=day,
        account=account,
        message_id=message_id(),
        operators=operators(),
        session_factory=sessions(),
        delivery=delivery(),
        reporter=reporter(),
    ).summary()


@contract_actor
def evaluate_alerts() -> str:
    """Evaluates the alert rules; their state and their outbox rows are written in one transaction,
    so a crash cannot lose a notification nor a redelivery repeat one. Sends what is due, then what
    earlier tasks left behind. A refused notification does not fail the run (it is recorded in the
    outbox); one deferred is sent again by the next run."""
    return alerting.evaluate_alerts(
        thresholds=Thresholds.from_settings(settings),
        jobs=TIMETABLE,
        operators=operators(),
        session_factory=sessions(),
        delivery=delivery(),
        reporter=reporter(),
    ).summary()


@contract_actor
def monitor_jobs() -> str:
    """Raises an alert for each job that has not succeeded within its interval, resolves the rest,
    and notifies the operators of each change. Idempotent: one open alert per job, refreshed rather
    than repeated; its notifications are keyed by the alert's id."""
    return alerting.monitor_jobs(
        jobs=TIMETABLE, operators=operators(), session_factory=sessions(), delivery=delivery(), reporter=reporter()
    ).summary()
