"""Alerts fanned out to their recipients: an account's channels (from `notification_recipients`, by
minimum severity, narrowed to a portfolio where a row says so), or the operators' (from settings).

`plan_alert` only writes outbox rows (in the caller's transaction); `outbox.deliver` sends them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from services.notifications.alert_records import open_alerts
from services.notifications.outbox import Outgoing, enqueue, outbox_key
from services.notifications.redaction import URL_CHANNELS, redact_address
from services.notifications.slack import slack_message
from services.scheduling.jobs import Job
from services.scheduling.overdue import ALERT_KIND as OVERDUE_KIND
from services.scheduling.overdue import Overdue, check_overdue
from services.storage.models import Alert, NotificationRecipient

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
# What a requested notification's signed body names when its sender did not say who asked.
UNNAMED_REQUESTER = "a service (published to RabbitMQ without requested_by)"
CHANNELS = ("email", "slack", "webhook")


@dataclass(frozen=True)
class Operators:
    """Where operators' alerts go (TICKWORK_OPERATOR_EMAILS, TICKWORK_OPERATOR_SLACK_URL)."""

    emails: tuple[str, ...] = ()
    slack_url: str | None = None

    @classmethod
    def from_settings(cls, emails: str, slack_url: str | None) -> Operators:
        return cls(tuple(e.strip() for e in emails.split(",") if e.strip()), slack_url)


@dataclass(frozen=True)
class AlertNotice:
    """One alert event to tell someone about. `key` makes it once-only: the same notice planned
    twice (a redelivered task) finds its outbox rows."""

    key: str
    title: str
    message: str
    severity: str = "warning"
    account: str | None = None  # None: the operators
    portfolio_id: int | None = None
    state: str = "raised"  # raised | reminder | resolved
    channels: frozenset[str] | None = None  # None: every channel the recipient has
    at: datetime | None = None
    requested_by: str | None = None  # who asked for it (send_alert); None: Tickwork's own checks


def destinations(*, session: Session, notice: AlertNotice, operators: Operators) -> list[tuple[str, str]]:
    """(channel, address) pairs the notice goes to."""
    return [(channel, address) for channel, address, _ in _targets(session, notice, operators)]


def _targets(
    session: Session, notice: AlertNotice, operators: Operators
) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(channel, address, where the address is kept) for each destination; the last is None for an
    email address, which the outbox keeps as it is (a URL is kept there redacted)."""
    wanted = notice.channels or frozenset(CHANNELS)
    if notice.account is None:
        found: list[tuple[str, str, dict[str, Any] | None]] = [("email", email, None) for email in operators.emails]
        if operators.slack_url:
            found.append(("slack", operators.slack_url, {"operators": "slack"}))
        return [target for target in found if target[0] in wanted]
    query = select(NotificationRecipient).where(
        NotificationRecipient.account == notice.account,
        col(NotificationRecipient.active).is_(True),
        col(NotificationRecipient.alerts).is_(True),
    )
    if notice.portfolio_id is not None:
        query = query.where(
            or_(
                col(NotificationRecipient.portfolio_id).is_(None),
                NotificationRecipient.portfolio_id == notice.portfolio_id,
            )
        )
    else:
        query = query.where(col(NotificationRecipient.portfolio_id).is_(None))
    rank = SEVERITY_RANK.get(notice.severity, 1)
    targets: dict[tuple[str, str], dict[str, Any] | None] = {}
    for row in session.exec(query.order_by(col(NotificationRecipient.id))):
        if row.channel in wanted and SEVERITY_RANK.get(row.min_severity, 1) <= rank:
            to = {"recipient_id": row.id} if row.channel in URL_CHANNELS else None
            targets.setdefault((row.channel, row.address), to)
    return [(channel, address, to) for (channel, address), to in targets.items()]


def alert_payload(channel: str, notice: AlertNotice, at: datetime) -> dict[str, Any]:
    """What each channel sends for an alert."""
    resolved = notice.state == "resolved"
    if channel == "email":
        context = {
            "severity": "resolved" if resolved else notice.severity,
            "title": notice.title,
            "message": notice.message,
            "state": notice.state,
            "at": at.isoformat(timespec="seconds"),
        }
        return {"template": "alert", "context": context}
    if channel == "slack":
        return slack_message(title=notice.title, message=notice.message, severity=notice.severity, resolved=resolved)
    data = {
        "title": notice.title,
        "message": notice.message,
        "severity": notice.severity,
        "state": notice.state,
        "account": notice.account,
        "portfolio_id": notice.portfolio_id,
        "at": at.isoformat(),
    }
    return {"event": f"alert.{notice.state}", "data": data, "requested_by": notice.requested_by}


def plan_alert(
    *, session: Session, notice: AlertNotice, operators: Operators, now: datetime, message_id: str | None = None
) -> list[int]:
    """Outbox rows for `notice`, one per destination; returns their ids (existing rows included)."""
    at = notice.at or now
    prefix = "[resolved] " if notice.state == "resolved" else f"[{notice.severity}] "
    items = [
        Outgoing(
            key=outbox_key(notice.key, channel, redact_address(channel, address)),
            channel=channel,
            recipient=address,
            subject=(prefix + notice.title)[:200],
            payload=alert_payload(channel, notice, at),
            account=notice.account,
            message_id=message_id,
            to=to,
        )
        for channel, address, to in _targets(session, notice, operators)
    ]
    return enqueue(session=session, items=items, now=now) if items else []


def plan_alerts(*, session: Session, notices: Iterable[AlertNotice], operators: Operators, now: datetime) -> list[int]:
    return [
        row_id
        for notice in notices
        for row_id in plan_alert(session=session, notice=notice, operators=operators, now=now)
    ]


def record_notices(*, opened: Iterable[Alert], closed: Iterable[Alert], now: datetime) -> list[AlertNotice]:
    """Notices for alert records a check opened or closed (monitor_jobs' overdue jobs), keyed by the
    record's id: one raised and one resolved notification per alert, however often the check runs."""
    notices = [
        AlertNotice(
            key=f"alert:{alert.id}:raised",
            title=alert.title,
            message=alert.detail,
            severity=alert.severity,
            account=alert.account,
            at=now,
        )
        for alert in opened
    ]
    notices += [
        AlertNotice(
            key=f"alert:{alert.id}:resolved",
            title=alert.title,
            message=f"resolved: {alert.detail}",
            severity=alert.severity,
            account=alert.account,
            state="resolved",
            at=now,
        )
        for alert in closed
    ]
    return notices


def check_overdue_and_plan(
    jobs: Sequence[Job], *, session: Session, now: datetime, operators: Operators
) -> tuple[list[Overdue], list[str], list[int]]:
    """monitor_jobs' work: raise and resolve the overdue-job alerts, and plan one notification for
    each alert opened and each one closed; returns (overdue, newly raised jobs, outbox row ids)."""
    before = {alert.key: alert for alert in open_alerts(session=session, kind=OVERDUE_KIND)}
    overdue, raised = check_overdue(jobs, session=session, now=now)
    session.flush()
    after = {alert.key: alert for alert in open_alerts(session=session, kind=OVERDUE_KIND)}
    notices = record_notices(
        opened=[alert for key, alert in after.items() if key not in before],
        closed=[alert for key, alert in before.items() if key not in after],
        now=now,
    )
    return overdue, raised, plan_alerts(session=session, notices=notices, operators=operators, now=now)
