"""How domain code reports progress without knowing who listens (the ledger, a CLI, a test)."""

from __future__ import annotations

from typing import Protocol

from services.errors import TaskCancelled


class ProgressReporter(Protocol):
    """What a long-running service function receives as its `reporter=` collaborator."""

    def progress(self, fraction: float, step: str | None = None) -> None:
        """Report how far along the work is (0..1) and what it is doing; may raise TaskCancelled."""

    def log(self, line: str) -> None:
        """Keep one line in the task's log."""

    def cancelled(self) -> bool:
        """Whether an operator asked this task to stop (check between units of work)."""


class NullReporter:
    """A reporter that records nothing (scripts, unit tests)."""

    def progress(self, fraction: float, step: str | None = None) -> None:
        return None

    def log(self, line: str) -> None:
        return None

    def cancelled(self) -> bool:
        return False


def stop_if_cancelled(reporter: ProgressReporter) -> None:
    """Raise TaskCancelled if the task was asked to stop."""
    if reporter.cancelled():
        raise TaskCancelled("cancelled by request")
