"""outbox.deliver's claim → send → record flow, against an in-memory outbox and a fake channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from services.errors import DeliveryFailed, DeliveryRefused
from services.notifications.outbox import MAX_ATTEMPTS, Status, deliver, deliver_orphans
from services.storage.models import Notification

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
LEASE = timedelta(minutes=5)


@dataclass
class MemoryOutbox:
    """The outbox rows in a dict, claimed and finished by the same rules as the table's."""

    rows: dict[int, Notification] = field(default_factory=dict)

    def add(self, notification_id: int, *, channel: str = "email", status: Status = Status.QUEUED) -> int:
        self.rows[notification_id] = Notification(
            id=notification_id,
            key=f"m-1:{channel}:{notification_id}",
            channel=channel,
            recipient=f"user{notification_id}@example.com",
            subject="Fill",
            status=status,
            payload={},
            created_at=NOW,
            updated_at=NOW,
        )
        return notification_id

    def claim(self, notification_id: int, *, now: datetime, lease: timedelta) -> Notification | None:
        row = self.rows.get(notification_id)
        takeable = row is not None and (
            row.status == Status.QUEUED or (row.status == Status.SENDING and row.updated_at < now - lease)
        )
        if row is None or not takeable:
            return None
        row.status, row.attempts, row.updated_at = Status.SENDING, row.attempts + 1, now
        return row.model_copy()  # what the claim's own transaction read back

    def finish(self, notification_id: int, *, status: Status, response: str, now: datetime) -> None:
        row = self.rows[notification_id]
        row.status, row.last_response, row.updated_at = status, response, now
        if status == Status.SENT:
            row.sent_at = now

    def channel_of(self, notification_id: int) -> str:
        row = self.rows.get(notification_id)
        return row.channel if row is not None else "unknown"

    def orphans(self, *, now: datetime, lease: timedelta) -> list[int]:
        return [i for i, row in self.rows.items() if row.status == Status.QUEUED]


@dataclass
class FakeChannel:
    """Accepts every row unless told to fail it; `sent` lists the recipients it sent to."""

    fail_with: Exception | None = None
    sent: list[str] = field(default_factory=list)

    def send(self, notification: Notification) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(notification.recipient)
        return "250 accepted"


@dataclass
class Counts:
    outcomes: list[tuple[str, str]] = field(default_factory=list)

    def outcome(self, channel: str, status: str) -> None:
        self.outcomes.append((channel, status))

    def duration(self, channel: str, seconds: float) -> None:
        return None


def test_a_claimed_row_is_sent_once_and_a_second_delivery_skips_it():
    # Given two queued rows
    outbox, email, counts = MemoryOutbox(), FakeChannel(), Counts()
    ids = [outbox.add(1), outbox.add(2)]
    # When they are delivered, then delivered again (a redelivered task)
    first = deliver(ids, outbox=outbox, channels={"email": email}, lease=LEASE, clock=lambda: NOW, observer=counts)
    again = deliver(ids, outbox=outbox, channels={"email": email}, lease=LEASE, clock=lambda: NOW, observer=counts)
    # Then each recipient got one email, and the rows say so
    assert first.sent == ids and again.skipped == ids and again.sent == []
    assert email.sent == ["user1@example.com", "user2@example.com"]
    assert {row.status for row in outbox.rows.values()} == {Status.SENT} and outbox.rows[
        1
    ].last_response == "250 accepted"
    assert counts.outcomes == [("email", "sent")] * 2 + [("email", "skipped_duplicate")] * 2


def test_a_transient_failure_puts_the_row_back_and_the_task_retries():
    outbox = MemoryOutbox()
    ids = [outbox.add(1)]
    report = deliver(ids, outbox=outbox, channels={"email": FakeChannel(DeliveryFailed("421 try later"))}, lease=LEASE)
    assert list(report.deferred) == ids and outbox.rows[1].status == Status.QUEUED
    assert outbox.rows[1].attempts == 1 and outbox.rows[1].last_response == "421 try later"
    with pytest.raises(DeliveryFailed, match="421 try later"):  # the task retries
        report.raise_for_outcome()


def test_a_refused_row_fails_for_good_and_one_failing_too_often_is_given_up():
    outbox = MemoryOutbox()
    refused = outbox.add(1)
    worn_out = outbox.add(2)
    outbox.rows[worn_out].attempts = MAX_ATTEMPTS - 1
    no = deliver(
        [refused], outbox=outbox, channels={"email": FakeChannel(DeliveryRefused("550 no such user"))}, lease=LEASE
    )
    tired = deliver([worn_out], outbox=outbox, channels={"email": FakeChannel(DeliveryFailed("421"))}, lease=LEASE)
    assert list(no.refused) == [refused] and outbox.rows[refused].status == Status.FAILED
    assert isinstance(no.refusal, DeliveryRefused)
    assert list(tired.refused) == [worn_out] and outbox.rows[worn_out].status == Status.FAILED


def test_a_row_held_by_another_worker_is_left_alone_until_its_lease_runs_out():
    outbox, email = MemoryOutbox(), FakeChannel()
    ids = [outbox.add(1, status=Status.SENDING)]
    held = deliver(ids, outbox=outbox, channels={"email": email}, lease=LEASE, clock=lambda: NOW + timedelta(minutes=1))
    later = deliver(
        ids, outbox=outbox, channels={"email": email}, lease=LEASE, clock=lambda: NOW + timedelta(minutes=6)
    )
    assert held.skipped == ids and later.sent == ids and len(email.sent) == 1


def test_the_sweep_sends_what_earlier_tasks_left_queued():
    outbox, email = MemoryOutbox(), FakeChannel()
    outbox.add(1)
    outbox.add(2, status=Status.SENT)
    report = deliver_orphans(outbox=outbox, channels={"email": email}, lease=LEASE, now=NOW)
    assert report.sent == [1] and email.sent == ["user1@example.com"]
