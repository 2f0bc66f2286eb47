"""The daily digest: per account and day, its portfolios' values and changes (from the snapshots),
the day's alerts, and the day's failed tasks that concern its portfolios; the operators get one with
every failed task and their own alerts. One email per recipient, account and day (the outbox key
"digest:<account>:<day>:email:<address>"), so running generate_digest twice sends nothing new.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlmodel import Session, col, or_, select

from services.engine.ledger.states import TaskState
from services.engine.progress import NullReporter, ProgressReporter
from services.notifications.delivery import Delivery
from services.notifications.dispatch import Operators
from services.notifications.outbox import DeliveryReport, Outgoing, enqueue, outbox_key
from services.notifications.templates import SafeHtml
from services.storage.db import SessionFactory, as_utc
from services.storage.models import Alert, NotificationRecipient, Portfolio, PortfolioSnapshot, Task

OPERATORS = "operators"


@dataclass(frozen=True)
class PortfolioLine:
    name: str
    day: date | None  # the snapshot's day (the newest up to the digest's day)
    value: Decimal | None
    change: Decimal | None  # against the snapshot before, net of that day's flows
    change_pct: float | None


@dataclass(frozen=True)
class Digest:
    account: str
    day: date
    portfolios: list[PortfolioLine] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    failed_tasks: list[str] = field(default_factory=list)

    def context(self) -> dict[str, object]:
        """The `digest` template's values: each list as plain text and as an escaped HTML table."""
        rows = [
            (
                line.name,
                f"{line.value:,.2f}" if line.value is not None else "no snapshot",
                f"{line.change:+,.2f}" if line.change is not None else "",
                f"{line.change_pct:+.2%}" if line.change_pct is not None else "",
            )
            for line in self.portfolios
        ]
        return {
            "account": self.account,
            "day": self.day.isoformat(),
            "portfolios_text": "\n".join(f"- {n}: {v} {c} {p}".rstrip() for n, v, c, p in rows) or "- none",
            "portfolios_html": _table(("Portfolio", "Value", "Change", "%"), rows),
            "alerts_text": "\n".join(f"- {a}" for a in self.alerts) or "- none",
            "alerts_html": _list(self.alerts),
            "failed_text": "\n".join(f"- {t}" for t in self.failed_tasks) or "- none",
            "failed_html": _list(self.failed_tasks),
        }


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> SafeHtml:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return SafeHtml(f"<table><tr>{cells}</tr>{body}</table>" if body else "<p>none</p>")


def _list(items: Iterable[str]) -> SafeHtml:
    body = "".join(f"<li>{html.escape(item)}</li>" for item in items)
    return SafeHtml(f"<ul>{body}</ul>" if body else "<p>none</p>")


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def build_digest(*, session: Session, account: str, day: date) -> Digest:
    """The digest of `account` (or of the operators, account "operators") for `day` (UTC)."""
    start, end = _day_bounds(day)
    operators = account == OPERATORS
    portfolios = [] if operators else list(session.exec(select(Portfolio).where(Portfolio.account == account)))
    lines = [_portfolio_line(session, portfolio, day) for portfolio in portfolios]
    alert_owner = col(Alert.account).is_(None) if operators else Alert.account == account
    alerts = session.exec(
        select(Alert)
        .where(alert_owner)
        .where(
            or_(
                (col(Alert.raised_at) >= start) & (col(Alert.raised_at) < end),
                (col(Alert.resolved_at) >= start) & (col(Alert.resolved_at) < end),
            )
        )
        .order_by(col(Alert.raised_at))
    )
    alert_lines = [
        f"[{a.severity}] {a.title} (raised {as_utc(a.raised_at):%H:%M} UTC"
        + (f", resolved {as_utc(a.resolved_at):%H:%M} UTC)" if a.resolved_at else ", still open)")
        for a in alerts
    ]
    failed = session.exec(
        select(Task)
        .where(Task.state == TaskState.FAILED.value, col(Task.finished_at) >= start, col(Task.finished_at) < end)
        .order_by(col(Task.finished_at))
    )
    ids = {p.id for p in portfolios}
    failed_lines = [
        f"{task.actor} {task.message_id}: {task.error_type or 'error'}: {(task.error_message or '')[:200]}"
        for task in failed
        if operators or task.args.get("portfolio_id") in ids
    ]
    return Digest(account, day, lines, alert_lines, failed_lines)


def _portfolio_line(session: Session, portfolio: Portfolio, day: date) -> PortfolioLine:
    snapshots = list(
        session.exec(
            select(PortfolioSnapshot)
            .where(PortfolioSnapshot.portfolio_id == portfolio.id, col(PortfolioSnapshot.day) <= day)
            .order_by(col(PortfolioSnapshot.day).desc())
            .limit(2)
        )
    )
    if not snapshots:
        return PortfolioLine(portfolio.name, None, None, None, None)
    latest = snapshots[0]
    if len(snapshots) < 2:
        return PortfolioLine(portfolio.name, latest.day, latest.total_value, None, None)
    before = snapshots[1]
    change = latest.total_value - before.total_value - latest.net_flow
    pct = float(change / before.total_value) if before.total_value else None
    return PortfolioLine(portfolio.name, latest.day, latest.total_value, change, pct)


def accounts_with_digest(*, session: Session) -> list[str]:
    query = select(NotificationRecipient.account).where(
        col(NotificationRecipient.active).is_(True),
        col(NotificationRecipient.digest).is_(True),
        NotificationRecipient.channel == "email",
    )
    return sorted(set(session.exec(query)))


def plan_digests(
    *,
    session: Session,
    day: date,
    now: datetime,
    operators: Operators,
    accounts: Sequence[str] | None = None,
    message_id: str | None = None,
) -> list[int]:
    """Outbox rows for each account's digest of `day` (every account with a digest recipient, and
    the operators, when `accounts` is None); returns their ids."""
    if accounts is None:
        accounts = [*accounts_with_digest(session=session), OPERATORS]
    items = []
    for account in accounts:
        if account == OPERATORS:
            addresses = list(operators.emails)
        else:
            addresses = [
                row.address
                for row in session.exec(
                    select(NotificationRecipient).where(
                        NotificationRecipient.account == account,
                        NotificationRecipient.channel == "email",
                        col(NotificationRecipient.active).is_(True),
                        col(NotificationRecipient.digest).is_(True),
                    )
                )
            ]
        if not addresses:
            continue
        digest = build_digest(session=session, account=account, day=day)
        context = digest.context()
        payload = {
            "template": "digest",
            "context": {key: str(value) for key, value in context.items()},
            "safe_html": sorted(key for key, value in context.items() if isinstance(value, SafeHtml)),
        }
        items += [
            Outgoing(
                key=outbox_key("digest", account, day.isoformat(), "email", address),
                channel="email",
                recipient=address,
                subject=f"Tickwork digest for {account}, {day.isoformat()}",
                payload=payload,
                account=None if account == OPERATORS else account,
                message_id=message_id,
            )
            for address in dict.fromkeys(addresses)
        ]
    return enqueue(session=session, items=items, now=now) if items else []


@dataclass(frozen=True)
class DigestsSent:
    day: date
    report: DeliveryReport

    def summary(self) -> str:
        return f"{self.day}: {self.report.summary()}"


def send_digests(
    *,
    day: date | None,
    account: str | None,
    message_id: str,
    operators: Operators,
    session_factory: SessionFactory,
    delivery: Delivery,
    now: datetime | None = None,
    reporter: ProgressReporter | None = None,
) -> DigestsSent:
    """generate_digest's work: each account's digest of `day` (today by default), or one account's,
    and the operators'; planned in one transaction, then sent."""
    now, reporter = now or datetime.now(UTC), reporter or NullReporter()
    the_day = day or now.date()
    with session_factory() as session:
        ids = plan_digests(
            session=session,
            day=the_day,
            now=now,
            operators=operators,
            accounts=[account] if account else None,
            message_id=message_id,
        )
    reporter.progress(0.3, f"sending {len(ids)} digest(s)")
    report = delivery.send(ids)
    report.raise_for_outcome()
    return DigestsSent(the_day, report)
