"""Prometheus series of notification delivery, emitted by the workers that send them:

- `tickwork_notifications_total{channel,status}`: one per outbox row a worker handled, by outcome:
  `sent`, `failed` (a transient failure: tried again later, or given up after the last attempt),
  `refused` (given up at once: a 4xx, an SMTP 5xx, the SSRF guard, a certificate, an invalid row),
  `skipped_duplicate` (already sent or held by another worker: a redelivered message).
- `tickwork_notification_seconds{channel}`: the time of one send, whatever its outcome.

prometheus_client is imported when the series are first asked for, never at import time (see
services/lazy_series.py). Labels are
bounded: `channel` is one of CHANNELS, `status` one of STATUSES.
"""

from __future__ import annotations

from typing import Any, Protocol

from services.lazy_series import LazySeries

CHANNELS = ("email", "slack", "webhook")
STATUSES = ("sent", "failed", "refused", "skipped_duplicate")
SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class DeliveryObserver(Protocol):
    """What `outbox.deliver` tells about each row it handled."""

    def outcome(self, channel: str, status: str) -> None: ...

    def duration(self, channel: str, seconds: float) -> None: ...


class NoMetrics:
    """The observer of callers that keep no metrics (tests, the CLI)."""

    def outcome(self, channel: str, status: str) -> None:
        return None

    def duration(self, channel: str, seconds: float) -> None:
        return None


class NotificationMetrics:
    def __init__(self, registry: Any = None) -> None:
        import prometheus_client as prom

        r = registry or prom.REGISTRY
        self.total = prom.Counter(
            "tickwork_notifications",
            "Outbox rows handled by a worker, by channel and outcome",
            ["channel", "status"],
            registry=r,
        )
        self.seconds = prom.Histogram(
            "tickwork_notification_seconds",
            "Time of one notification send (SMTP or HTTP, retries inside the attempt included)",
            ["channel"],
            buckets=SECONDS_BUCKETS,
            registry=r,
        )
        # Every series at 0 from the start, so that rate() and increase() see the first event.
        self._outcomes = {(c, s): self.total.labels(c, s) for c in CHANNELS for s in STATUSES}
        self._durations = {c: self.seconds.labels(c) for c in CHANNELS}

    def outcome(self, channel: str, status: str) -> None:
        child = self._outcomes.get((channel, status))
        if child is not None:  # an unknown channel is refused by the outbox, not given a series
            child.inc()

    def duration(self, channel: str, seconds: float) -> None:
        child = self._durations.get(channel)
        if child is not None:
            child.observe(seconds)


# The process's notification series, created on first use (every child at 0).
notification_metrics = LazySeries(NotificationMetrics)


def declare_notification_series() -> None:
    """Create the series at worker boot, before any notification was sent: dashboards and alerts
    see them on every worker, and rate() sees the first event."""
    notification_metrics()
