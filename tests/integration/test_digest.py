"""The daily digest: what it says (values and changes, the day's alerts, failed tasks), one per
account, day and recipient, and the mail it renders into."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlmodel import select

from services.engine.ledger.tasks import record_submitted
from services.notifications.alert_records import raise_alert, resolve_alert
from services.notifications.digest import build_digest, plan_digests
from services.notifications.dispatch import Operators
from services.notifications.email import EmailChannel, SmtpConfig, SmtpMailer
from services.notifications.outbox import SqlOutbox, deliver
from services.storage.db import session_factory, session_scope
from services.storage.models import Notification, NotificationRecipient, Portfolio, PortfolioSnapshot, Task
from tests.support.mail import smtp_server

DAY = date(2026, 3, 10)
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def snapshot(portfolio_id: int, day: date, total: str, flow: str = "0") -> PortfolioSnapshot:
    return PortfolioSnapshot(
        portfolio_id=portfolio_id,
        day=day,
        taken_at=NOON,
        cash=Decimal(0),
        market_value=Decimal(total),
        total_value=Decimal(total),
        cost_basis=Decimal(0),
        unrealized_pnl=Decimal(0),
        net_flow=Decimal(flow),
    )


def failed_task(session, message_id: str, actor: str, args: dict, finished: datetime) -> None:
    record_submitted(session=session, message_id=message_id, actor=actor, queue="refresh", priority="normal", args=args)
    session.flush()
    task = session.get(Task, message_id)
    task.state, task.finished_at = "failed", finished
    task.error_type, task.error_message = "ProviderError", "yahoo: 503 <Service Unavailable>"


def seed(database_url: str) -> int:
    with session_scope(database_url) as session:
        growth = Portfolio(name="Growth & Income", account="acme", created_at=NOON)
        other = Portfolio(name="Other", account="zeta", created_at=NOON)
        session.add_all([growth, other])
        session.flush()
        session.add_all(
            [
                snapshot(growth.id, DAY - timedelta(days=1), "100000"),
                snapshot(growth.id, DAY, "106000", flow="5000"),  # +1,000 earned, 5,000 deposited
                snapshot(other.id, DAY, "5000"),
            ]
        )
        raise_alert(
            session=session, key="rule:1:portfolio:1", kind="drawdown", severity="warning",
            title="Growth: drawdown 12.0%", detail="d", now=NOON, account="acme",
        )  # fmt: skip
        raise_alert(
            session=session, key="job_overdue:x", kind="job_overdue", severity="warning",
            title="Job x is overdue", detail="d", now=NOON,
        )  # fmt: skip
        session.flush()
        resolve_alert(session=session, key="job_overdue:x", now=NOON + timedelta(hours=2))
        failed_task(session, "t-mine", "refresh_portfolio", {"portfolio_id": growth.id}, NOON)
        failed_task(session, "t-other", "refresh_portfolio", {"portfolio_id": other.id}, NOON)
        failed_task(session, "t-yesterday", "refresh_portfolio", {"portfolio_id": growth.id}, NOON - timedelta(days=1))
        session.add(NotificationRecipient(account="acme", channel="email", address="ann@acme.test", created_at=NOON))
        session.add(
            NotificationRecipient(
                account="acme", channel="email", address="no@acme.test", digest=False, created_at=NOON
            )
        )
        return growth.id


def test_the_digest_has_values_changes_net_of_flows_alerts_and_failed_tasks(database_url):
    seed(database_url)
    with session_scope(database_url) as session:
        digest = build_digest(session=session, account="acme", day=DAY)
        operators = build_digest(session=session, account="operators", day=DAY)
    [line] = digest.portfolios
    assert (line.name, line.value, line.change, round(line.change_pct, 4)) == (
        "Growth & Income",
        Decimal("106000"),
        Decimal("1000"),
        0.01,
    )
    assert digest.alerts == ["[warning] Growth: drawdown 12.0% (raised 12:00 UTC, still open)"]
    assert digest.failed_tasks == ["refresh_portfolio t-mine: ProviderError: yahoo: 503 <Service Unavailable>"]
    assert operators.alerts == ["[warning] Job x is overdue (raised 12:00 UTC, resolved 14:00 UTC)"]
    assert [t.split(":")[0] for t in operators.failed_tasks] == [
        "refresh_portfolio t-mine",
        "refresh_portfolio t-other",
    ]


def test_one_digest_per_account_day_and_recipient_rendered_into_an_escaped_email(database_url, tmp_path: Path):
    seed(database_url)
    ops = Operators(("ops@tickwork.test",))
    with session_scope(database_url) as session:
        first = plan_digests(session=session, day=DAY, now=NOON, operators=ops)
    with session_scope(database_url) as session:
        again = plan_digests(session=session, day=DAY, now=NOON, operators=ops)
        rows = session.exec(select(Notification).order_by(Notification.id)).all()
    assert first == again and len(first) == 2
    assert [(r.recipient, r.subject) for r in rows] == [
        ("ann@acme.test", "Tickwork digest for acme, 2026-03-10"),
        ("ops@tickwork.test", "Tickwork digest for operators, 2026-03-10"),
    ]
    with smtp_server() as (inbox, port):
        config = SmtpConfig("127.0.0.1", port, "none", "tickwork@example.com", 5.0)
        email = EmailChannel(SmtpMailer(config), tmp_path)
        report = deliver(
            first,
            outbox=SqlOutbox(session_factory(database_url)),
            channels={"email": email},
            lease=timedelta(minutes=10),
        )
    assert len(report.sent) == 2
    message = next(m for to, m in inbox.messages if to == ["ann@acme.test"])
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "<td>Growth &amp; Income</td><td>106,000.00</td><td>+1,000.00</td><td>+1.00%</td>" in html
    assert "&lt;Service Unavailable&gt;" in html and "<Service Unavailable>" in text
    assert "- Growth & Income: 106,000.00 +1,000.00 +1.00%" in text
