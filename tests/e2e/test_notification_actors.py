"""The notification actors on a real worker: a redelivered send_email sends no second email, and a
webhook to an inner address is refused without retries."""

from __future__ import annotations

import pytest
from sqlmodel import select

from services.notifications.redaction import redact_url
from services.storage.db import session_scope
from services.storage.models import Notification
from tests.support.ledger import row, wait_state
from tests.support.mail import smtp_server
from tests.support.webhook_receiver import SECRET, webhook_receiver
from tests.support.workers import wait_for

pytestmark = pytest.mark.rabbitmq


def test_a_redelivered_send_email_message_sends_each_email_once(start_workers, client, database_url):
    with smtp_server() as (inbox, port):
        # Given a worker whose SMTP server is the local one
        start_workers(
            queues=["notifications"],
            TICKWORK_SMTP_HOST="127.0.0.1",
            TICKWORK_SMTP_PORT=str(port),
            TICKWORK_SMTP_SECURITY="none",
        )
        body = {"to": ["ann@example.com", "bob@example.com"], "subject": "Report", "template": "message"}
        sent = client.send("send_email", {**body, "context": {"body": "Your report is ready"}})
        first = wait_state(database_url, sent.message_id, "completed", timeout=60)
        assert "sent 2, skipped 0, deferred 0, refused 0" in first.result_summary
        # When the same message arrives again (a redelivery)
        client.send("send_email", {**body, "context": {"body": "Your report is ready"}}, message_id=sent.message_id)

        def ran_again():
            again = row(database_url, sent.message_id)
            return again.state == "completed" and again.started_at > first.started_at and again

        second = wait_for(ran_again, 60, "the redelivered send_email to run")
    # Then it skipped both recipients: one email each in all
    assert "sent 0, skipped 2, deferred 0, refused 0" in second.result_summary
    assert sorted(to for to, _ in inbox.messages) == [["ann@example.com"], ["bob@example.com"]]
    assert inbox.messages[0][1].get_body(("plain",)).get_content().startswith("Your report is ready")


def test_a_webhook_to_an_inner_address_fails_at_once_without_retries(start_workers, client, database_url):
    with webhook_receiver(200) as receiver:
        start_workers(queues=["notifications"], TICKWORK_WEBHOOK_SECRET=SECRET, TICKWORK_SSRF_ALLOW="")
        sent = client.send("webhook_callback", {"url": receiver.url(), "event": "order.filled", "data": {"id": 1}})
        task = wait_state(database_url, sent.message_id, "failed", timeout=60)
    assert task.attempts == 1 and task.error_type == "UnsafeDestination" and "loopback" in task.error_message
    assert receiver.requests == []
    with session_scope(database_url) as session:
        [notification] = session.exec(select(Notification)).all()
    assert notification.status == "failed" and notification.last_response.startswith("refused: 127.0.0.1 resolves")
    # The outbox keeps the URL redacted (the message holds it): host and fingerprint, not the path
    assert notification.recipient == redact_url(receiver.url()) and "/hook" not in notification.key


def test_evaluate_alerts_tells_the_account_once_through_its_signed_webhook(start_workers, client, database_url):
    import json
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from services.storage.models import NotificationRecipient, Portfolio, PortfolioSnapshot

    now = datetime.now(UTC)
    with webhook_receiver(200) as receiver:
        # Given a portfolio 20 % below its peak, whose account takes alerts by webhook
        with session_scope(database_url) as session:
            growth = Portfolio(name="Growth", account="acme", created_at=now, total_value=Decimal(80000), valued_at=now)
            session.add(growth)
            session.flush()
            money = {k: Decimal(0) for k in ("cash", "market_value", "cost_basis", "unrealized_pnl")}
            for days, total in [(3, 100000), (1, 80000)]:  # the peak, then yesterday's (no daily P&L today)
                day = now.date() - timedelta(days=days)
                session.add(
                    PortfolioSnapshot(
                        portfolio_id=growth.id,
                        day=day,
                        taken_at=now - timedelta(days=days),
                        total_value=Decimal(total),
                        **money,
                    )
                )
            session.add(
                NotificationRecipient(account="acme", channel="webhook", address=receiver.url(), created_at=now)
            )
        start_workers(
            queues=["notifications"],
            TICKWORK_WEBHOOK_SECRET=SECRET,
            TICKWORK_SSRF_ALLOW=f"127.0.0.1/32:{receiver.port}",
        )
        # When the rules run twice
        for _ in range(2):
            sent = client.send("evaluate_alerts", {})
            wait_state(database_url, sent.message_id, "completed", timeout=60)
    # Then the account heard once (the cooldown holds the second), signed
    [request] = receiver.requests
    body = json.loads(request.body)
    assert request.signature_ok and body["event"] == "alert.raised"
    assert body["data"]["title"] == "Growth: drawdown 20.0%" and body["data"]["account"] == "acme"
