"""What sends outbox rows on a worker, as the notification use cases see it: `send` the rows a task
wrote, `sweep` the rows earlier tasks left behind. `OutboxDelivery` is the real one (the outbox
table, the channels, the lease, the address book, the metrics), built once per task from the settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from services.notifications.addresses import AddressBook
from services.notifications.channels import lease
from services.notifications.metrics import DeliveryObserver, notification_metrics
from services.notifications.outbox import (
    NO_METRICS,
    Addresses,
    Channel,
    DeliveryReport,
    OutboxRows,
    SqlOutbox,
    deliver,
    deliver_orphans,
)
from services.settings import Settings, revealed
from services.storage.db import SessionFactory


class Delivery(Protocol):
    """Sends outbox rows (services.notifications.outbox says how each is sent once)."""

    def send(self, ids: Iterable[int], *, urls: Iterable[str] = ()) -> DeliveryReport:
        """Send these rows; `urls`: the running task's own destinations, which the outbox keeps redacted."""

    def sweep(self, now: datetime) -> DeliveryReport:
        """Send the rows whose own task died or gave up for now."""


@dataclass(frozen=True)
class OutboxDelivery:
    outbox: OutboxRows
    channels: Mapping[str, Channel]
    lease: timedelta
    addresses: Callable[[Iterable[str]], Addresses]  # the task's own URLs -> where addresses are found
    observer: DeliveryObserver = NO_METRICS

    @classmethod
    def from_settings(
        cls, settings: Settings, *, session_factory: SessionFactory, channels: Mapping[str, Channel]
    ) -> OutboxDelivery:
        def addresses(urls: Iterable[str]) -> Addresses:
            return AddressBook.with_urls(session_factory, revealed(settings.tickwork_operator_slack_url), urls)

        return cls(SqlOutbox(session_factory), channels, lease(settings), addresses, notification_metrics())

    def send(self, ids: Iterable[int], *, urls: Iterable[str] = ()) -> DeliveryReport:
        return deliver(
            list(ids),
            outbox=self.outbox,
            channels=self.channels,
            lease=self.lease,
            addresses=self.addresses(urls),
            observer=self.observer,
        )

    def sweep(self, now: datetime) -> DeliveryReport:
        return deliver_orphans(
            outbox=self.outbox,
            channels=self.channels,
            lease=self.lease,
            now=now,
            addresses=self.addresses(()),
            observer=self.observer,
        )
