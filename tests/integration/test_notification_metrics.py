"""tickwork_notifications_total{channel,status} and tickwork_notification_seconds{channel}, as
outbox.deliver reports each row to its observer, against a local webhook receiver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry

from services.notifications.metrics import CHANNELS, STATUSES, NotificationMetrics
from services.notifications.outbox import Outgoing, SqlOutbox, deliver, enqueue
from services.notifications.ssrf import SsrfGuard
from services.notifications.webhooks import JsonPoster, WebhookChannel, WebhookConfig
from services.storage.db import session_factory, session_scope
from tests.support.webhook_receiver import SECRET, local_allow, webhook_receiver

LEASE = timedelta(minutes=10)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, labels)
    assert found is not None, (name, labels)
    return found


def test_every_series_exists_at_zero_before_any_send():
    registry = CollectorRegistry()
    NotificationMetrics(registry)
    for channel in CHANNELS:
        assert value(registry, "tickwork_notification_seconds_count", channel=channel) == 0
        for status in STATUSES:
            assert value(registry, "tickwork_notifications_total", channel=channel, status=status) == 0


def test_sent_failed_refused_and_duplicates_are_counted_and_each_send_timed(database_url):
    registry = CollectorRegistry()
    metrics = NotificationMetrics(registry)
    config = WebhookConfig(timeout_s=2, retries=0, backoff_s=0, max_redirects=0, secret=SECRET)
    with webhook_receiver(200, 503, 404) as receiver:
        channel = WebhookChannel(JsonPoster(SsrfGuard.from_setting(local_allow()), config))
        items = [
            Outgoing(f"m-{n}:webhook:x", "webhook", receiver.url(), "e", {"event": "e", "data": {}}) for n in range(3)
        ]
        with session_scope(database_url) as session:
            ids = enqueue(session=session, items=items, now=datetime.now(UTC))
        report = deliver(
            ids,
            outbox=SqlOutbox(session_factory(database_url)),
            channels={"webhook": channel},
            lease=LEASE,
            observer=metrics,
        )
        again = deliver(
            ids[:1],
            outbox=SqlOutbox(session_factory(database_url)),
            channels={"webhook": channel},
            lease=LEASE,
            observer=metrics,
        )
    assert (report.sent, list(report.deferred), list(report.refused), again.skipped) == (
        ids[:1],
        ids[1:2],
        ids[2:],
        ids[:1],
    )
    counts = {s: value(registry, "tickwork_notifications_total", channel="webhook", status=s) for s in STATUSES}
    assert counts == {"sent": 1, "failed": 1, "refused": 1, "skipped_duplicate": 1}
    assert value(registry, "tickwork_notification_seconds_count", channel="webhook") == 3  # a skip is no send
    assert value(registry, "tickwork_notifications_total", channel="email", status="sent") == 0
