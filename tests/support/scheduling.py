"""Test doubles for the scheduler's edges: a simulated clock and a sender that records."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from periodiq import cron

from services.contract import CONTRACT
from services.engine.client import Send, SentMessage
from services.errors import PublishFailed
from services.scheduling.cadence import Cron
from services.scheduling.jobs import Job, MarketGate


class SimulatedClock:
    """`now()` and `sleep()` for Scheduler.run: sleeping advances time; past `end`, it stops."""

    def __init__(self, start: datetime, end: datetime, stop: threading.Event) -> None:
        self.at, self.end, self.stop = start, end, stop

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)
        if self.at > self.end:
            self.stop.set()


class RecordingSender:
    """Stands in for TickworkClient.send_many; fails the first `failures` calls."""

    def __init__(self, clock: SimulatedClock | None = None, failures: int = 0) -> None:
        self.sent: list[tuple[Send, datetime | None]] = []
        self.clock, self.failures = clock, failures
        self.lock = threading.Lock()

    def __call__(self, requests: list[Send]) -> list[SentMessage]:
        with self.lock:
            if self.failures:
                self.failures -= 1
                raise PublishFailed("broker unreachable (simulated)")
            results = []
            for request in requests:
                self.sent.append((request, self.clock.now() if self.clock else None))
                spec = CONTRACT.get(request.actor)
                results.append(SentMessage(request.message_id or "", spec.name, spec.queue, spec.priority, None))
            return results

    def ticks(self, job: str) -> list[datetime]:
        return [send.schedule.scheduled_at for send, _ in self.sent if send.schedule and send.schedule.job == job]


def job(
    name: str,
    spec: str,
    *,
    actor: str = "monitor_jobs",
    tz: str = "UTC",
    grace: timedelta = timedelta(seconds=50),
    overdue_after: timedelta = timedelta(minutes=5),
    gate: MarketGate = MarketGate.ALWAYS,
) -> Job:
    return Job(name, actor, Cron(spec, cron(spec), ZoneInfo(tz)), grace=grace, overdue_after=overdue_after, gate=gate)
