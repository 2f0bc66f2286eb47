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
from collections.abc import Iterable
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from dramatiq.middleware import CurrentMessage

from actors.broker import settings
from actors.declare import contract_actor
from actors.task_context import reporter
from actors.timetable import TIMETABLE
from services.notifications.addresses import AddressBook
from services.notifications.alert_rules import Thresholds, evaluate_alert_rules, rules_in_force
from services.notifications.channels import channels_from_settings, lease
from services.notifications.digest import plan_digests
from services.notifications.dispatch import AlertNotice, Operators, check_overdue_and_plan, plan_alert, plan_alerts
from services.notifications.metrics import notification_metrics
from services.notifications.outbox import (
    Channel,
    DeliveryReport,
    Outgoing,
    deliver,
    deliver_orphans,
    enqueue,
    outbox_key,
)
from services.notifications.redaction import redact_url
from services.storage.db import session_scope


@cache
def worker_channels() -> dict[str, Channel]:
    """The channels of this worker process (built at the first notification, not at import)."""
    return channels_from_settings(settings)


def operators() -> Operators:
    return Operators.from_settings(settings.tickwork_operator_emails, settings.tickwork_operator_slack_url)


def message_id() -> str:
    message = CurrentMessage.get_current_message()
    return message.message_id if message is not None else uuid.uuid4().hex


def addresses(urls: Iterable[str] = ()) -> AddressBook:
    """Where redacted outbox recipients' URLs are found; `urls`: the running task's own."""
    return AddressBook.with_urls(settings.database_url, settings.tickwork_operator_slack_url, list(urls))


def send(ids: Iterable[int], *, urls: Iterable[str] = ()) -> DeliveryReport:
    return deliver(
        settings.database_url,
        list(ids),
        channels=worker_channels(),
        lease=lease(settings),
        addresses=addresses(urls),
        observer=notification_metrics(),
    )


def sweep(now: datetime) -> DeliveryReport:
    """Rows whose own task died or gave up for now: sent by the periodic actors."""
    return deliver_orphans(
        settings.database_url,
        channels=worker_channels(),
        lease=lease(settings),
        now=now,
        addresses=addresses(),
        observer=notification_metrics(),
    )


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
    key_base, now = message_id(), datetime.now(UTC)
    payload = {"template": template, "context": context or {}, "attachments": attachments or []}
    items = [
        Outgoing(outbox_key(key_base, "email", address), "email", address, subject, payload, message_id=key_base)
        for address in dict.fromkeys(to)
    ]
    with session_scope(settings.database_url) as session:
        ids = enqueue(session=session, items=items, now=now)
    reporter().progress(0.2, "sending")
    report = send(ids)
    report.raise_for_outcome()
    return report.summary()


@contract_actor
def send_alert(
    title: str,
    message: str,
    severity: str = "warning",
    channels: list[str] | None = None,
    account: str | None = None,
    portfolio_id: int | None = None,
) -> str:
    """Fans the alert out to the account's recipients at or above their minimum severity (the
    operators' when no account is given). Idempotent: outbox key "<message id>:<channel>:<address>"."""
    key_base, now = message_id(), datetime.now(UTC)
    notice = AlertNotice(
        key=key_base,
        title=title,
        message=message,
        severity=severity,
        account=account,
        portfolio_id=portfolio_id,
        channels=frozenset(channels) if channels else None,
    )
    with session_scope(settings.database_url) as session:
        ids = plan_alert(session=session, notice=notice, operators=operators(), now=now, message_id=key_base)
    if not ids:
        return f"no recipient for {severity} alerts of {account or 'the operators'}"
    reporter().progress(0.2, "sending")
    report = send(ids)
    report.raise_for_outcome()
    return report.summary()


@contract_actor
def webhook_callback(url: str, event: str, data: dict[str, Any]) -> str:
    """POSTs the signed event through the SSRF guard. Idempotent: outbox key
    "<message id>:webhook:<redacted url>"; the receiver also gets the same X-Tickwork-Delivery on
    every try. The outbox keeps the URL redacted; the message (and the ledger's copy) holds it."""
    key_base, now = message_id(), datetime.now(UTC)
    item = Outgoing(
        key=outbox_key(key_base, "webhook", redact_url(url)),
        channel="webhook",
        recipient=url,
        subject=event,
        payload={"event": event, "data": data or {}},
        message_id=key_base,
        to={"task_arg": "url"},
    )
    with session_scope(settings.database_url) as session:
        ids = enqueue(session=session, items=[item], now=now)
    report = send(ids, urls=[url])
    report.raise_for_outcome()
    return report.summary()


@contract_actor
def generate_digest(account: str | None = None, day: date | None = None) -> str:
    """Each account's digest of the day (or one account's), and the operators'. Idempotent: one
    outbox row per account, day and recipient."""
    now = datetime.now(UTC)
    the_day = day or now.date()
    with session_scope(settings.database_url) as session:
        ids = plan_digests(
            session=session,
            day=the_day,
            now=now,
            operators=operators(),
            accounts=[account] if account else None,
            message_id=message_id(),
        )
    reporter().progress(0.3, f"sending {len(ids)} digest(s)")
    report = send(ids)
    report.raise_for_outcome()
    return f"{the_day}: {report.summary()}"


@contract_actor
def evaluate_alerts() -> str:
    """Evaluates the alert rules; their state and their outbox rows are written in one transaction,
    so a crash cannot lose a notification nor a redelivery repeat one. Sends what is due, then what
    earlier tasks left behind. A refused notification does not fail the run (it is recorded in the
    outbox); one deferred is sent again by the next run."""
    now = datetime.now(UTC)
    thresholds = Thresholds(
        drawdown=settings.tickwork_alert_drawdown_limit,
        daily_pnl=settings.tickwork_alert_daily_pnl_limit,
        position_weight=settings.tickwork_alert_position_weight_limit,
        price_move=settings.tickwork_alert_price_move_limit,
        cooldown_s=settings.tickwork_alert_cooldown_seconds,
        price_max_age_s=settings.tickwork_price_max_age_seconds,
    )
    with session_scope(settings.database_url) as session:
        rules = rules_in_force(session=session, thresholds=thresholds)
        notices = evaluate_alert_rules(
            session=session,
            rules=rules,
            now=now,
            price_max_age_s=thresholds.price_max_age_s,
            jobs=TIMETABLE,
        )
        ids = plan_alerts(session=session, notices=notices, operators=operators(), now=now)
    reporter().progress(0.5, f"{len(notices)} notice(s)")
    report, left = send(ids), sweep(now)
    return f"{len(rules)} rules, {len(notices)} notice(s): {report.summary()}; earlier rows: {left.summary()}"


@contract_actor
def monitor_jobs() -> str:
    """Raises an alert for each job that has not succeeded within its interval, resolves the rest,
    and notifies the operators of each change. Idempotent: one open alert per job, refreshed rather
    than repeated; its notifications are keyed by the alert's id."""
    now = datetime.now(UTC)
    with session_scope(settings.database_url) as session:
        overdue, raised, ids = check_overdue_and_plan(TIMETABLE, session=session, now=now, operators=operators())
    reporter().progress(0.8, "notifying")
    send(ids)
    sweep(now)
    if overdue:
        return f"{len(overdue)} overdue: {', '.join(item.job for item in overdue)} ({len(raised)} newly raised)"
    return "no job overdue"
