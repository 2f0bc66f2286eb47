"""Hand-written fakes of the collaborators use cases take (Protocols in services/): a session factory
that only counts its units of work, a reporter that keeps what it was told, and a sender that
confirms every message at once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from services.engine.client import Send, SentMessage
from services.engine.priority import Priority


class FakeSession:
    """Stands in for a Session the use case only hands on to (faked) data-access functions."""


class FakeSessions:
    """A SessionFactory: each call is one unit of work, committed when its block ends without error.
    `events` (shared with other fakes when given) records "begin", "commit" and "rollback"."""

    def __init__(self, events: list[Any] | None = None) -> None:
        self.events = events if events is not None else []
        self.session = FakeSession()
        self.in_transaction = False

    @contextmanager
    def __call__(self) -> Iterator[Any]:
        assert not self.in_transaction, "a use case opened a unit of work inside another"
        self.in_transaction = True
        self.events.append("begin")
        try:
            yield self.session
        except BaseException:
            self.events.append("rollback")
            raise
        else:
            self.events.append("commit")
        finally:
            self.in_transaction = False

    @property
    def units_of_work(self) -> int:
        return self.events.count("begin")


class RecordingReporter:
    """A ProgressReporter that keeps the progress it was told and never cancels."""

    def __init__(self) -> None:
        self.steps: list[tuple[float, str | None]] = []
        self.lines: list[str] = []

    def progress(self, fraction: float, step: str | None = None) -> None:
        self.steps.append((fraction, step))

    def log(self, line: str) -> None:
        self.lines.append(line)

    def cancelled(self) -> bool:
        return False


class ConfirmingSender:
    """Confirms every send at once, like RabbitMQ would (for routes that only send)."""

    def __init__(self) -> None:
        self.sent: list[Send] = []

    def send_many(self, requests: Iterable[Send]) -> list[SentMessage]:
        requests = list(requests)
        self.sent += requests
        return [SentMessage(r.message_id or "", r.actor, "maintenance", Priority.NORMAL, None) for r in requests]
