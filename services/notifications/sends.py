"""The notifications a task asks for by name: an email, an alert, a webhook call. Each use case writes
its outbox rows in one transaction, keyed by the message id and the recipient, then sends them: a
redelivered message finds its rows, and rows already sent are skipped.

A send that should be tried again raises DeliveryFailed (the task retries); one refused for good
raises the refusal (`DeliveryReport.raise_for_outcome`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.engine.progress import NullReporter, ProgressReporter
from services.notifications.delivery import Delivery
from services.notifications.dispatch import UNNAMED_REQUESTER, AlertNotice, Operators, plan_alert
from services.notifications.outbox import DeliveryReport, Outgoing, enqueue, outbox_key
from services.notifications.redaction import redact_url
from services.storage.db import SessionFactory


def send_email(
    *,
    to: Sequence[str],
    subject: str,
    template: str,
    context: dict[str, Any] | None,
    attachments: Sequence[str] | None,
    message_id: str,
    session_factory: SessionFactory,
    delivery: Delivery,
    now: datetime | None = None,
    reporter: ProgressReporter | None = None,
) -> DeliveryReport:
    """One email per recipient (outbox key "<message id>:email:<address>")."""
    now, reporter = now or datetime.now(UTC), reporter or NullReporter()
    payload = {"template": template, "context": context or {}, "attachments": list(attachments or [])}
    items = [
        Outgoing(outbox_key(message_id, "email", address), "email", address, subject, payload, message_id=message_id)
        for address in dict.fromkeys(to)
    ]
    with session_factory() as session:
        ids = enqueue(session=session, items=items, now=now)
    reporter.progress(0.2, "sending")
    report = delivery.send(ids)
    report.raise_for_outcome()
    return report


@dataclass(frozen=True)
class AlertSent:
    severity: str
    account: str | None
    report: DeliveryReport | None  # None: nobody takes alerts of this severity

    def summary(self) -> str:
        if self.report is None:
            return f"no recipient for {self.severity} alerts of {self.account or 'the operators'}"
        return self.report.summary()


def send_alert(
    *,
    title: str,
    message: str,
    severity: str,
    channels: Sequence[str] | None,
    account: str | None,
    portfolio_id: int | None,
    message_id: str,
    operators: Operators,
    session_factory: SessionFactory,
    delivery: Delivery,
    requested_by: str | None = None,
    now: datetime | None = None,
    reporter: ProgressReporter | None = None,
) -> AlertSent:
    """The alert to the account's recipients at or above their minimum severity (the operators' when
    no account is given); outbox key "<message id>:<channel>:<address>". It was asked for, so its
    webhooks say by whom (`requested_by`, in the signed body)."""
    now, reporter = now or datetime.now(UTC), reporter or NullReporter()
    notice = AlertNotice(
        key=message_id,
        title=title,
        message=message,
        severity=severity,
        account=account,
        portfolio_id=portfolio_id,
        channels=frozenset(channels) if channels else None,
        requested_by=requested_by or UNNAMED_REQUESTER,
    )
    with session_factory() as session:
        ids = plan_alert(session=session, notice=notice, operators=operators, now=now, message_id=message_id)
    if not ids:
        return AlertSent(severity, account, None)
    reporter.progress(0.2, "sending")
    report = delivery.send(ids)
    report.raise_for_outcome()
    return AlertSent(severity, account, report)


def send_webhook(
    *,
    url: str,
    event: str,
    data: dict[str, Any] | None,
    message_id: str,
    session_factory: SessionFactory,
    delivery: Delivery,
    requested_by: str | None = None,
    now: datetime | None = None,
) -> DeliveryReport:
    """The signed event, POSTed through the SSRF guard; outbox key "<message id>:webhook:<redacted
    url>". The outbox keeps the URL redacted: the send finds it among the task's own URLs. The signed
    body says who asked for it (`requested_by`): Tickwork signs it but did not produce it."""
    now = now or datetime.now(UTC)
    item = Outgoing(
        key=outbox_key(message_id, "webhook", redact_url(url)),
        channel="webhook",
        recipient=url,
        subject=event,
        payload={"event": event, "data": data or {}, "requested_by": requested_by or UNNAMED_REQUESTER},
        message_id=message_id,
        to={"task_arg": "url"},
    )
    with session_factory() as session:
        ids = enqueue(session=session, items=[item], now=now)
    report = delivery.send(ids, urls=[url])
    report.raise_for_outcome()
    return report
