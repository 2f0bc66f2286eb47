"""What an actor uses while it runs: `current_task().progress(0.65, "Processing data")`.

The context is a `services.engine.progress.ProgressReporter`, so actors pass it on to service functions as
their `reporter=`; neither knows that the ledger stores what it reports.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.engine.ledger.states import TaskState
from services.engine.ledger.writer import LedgerWriter
from services.engine.progress import NullReporter, ProgressReporter
from services.errors import TaskCancelled

_local = threading.local()


@dataclass
class TaskContext:
    """The running task of this worker thread."""

    message_id: str
    identity: dict[str, Any]
    writer: LedgerWriter | None
    is_cancelled: Callable[[str], bool]

    def progress(self, fraction: float, step: str | None = None) -> None:
        """Record progress (0..1) and the current step; raises TaskCancelled if cancelled."""
        if self.writer is not None:
            fields = {**self.identity, "state": TaskState.RUNNING.value, "progress": min(max(fraction, 0.0), 1.0)}
            if step is not None:
                fields["current_step"] = step[:200]
            self.writer.record(self.message_id, fields)
        if self.cancelled():
            raise TaskCancelled("cancelled by request")

    def log(self, line: str) -> None:
        """Keep one line in the task's log (logging calls in the task's thread land there too)."""
        if self.writer is not None:
            self.writer.log(self.message_id, line)

    def cancelled(self) -> bool:
        """Whether an operator asked this task to stop."""
        return self.is_cancelled(self.message_id)


def current_task() -> TaskContext:
    """The task this thread is running; raises RuntimeError outside one."""
    context = getattr(_local, "context", None)
    if context is None:
        raise RuntimeError("current_task() called outside a running task")
    return context


def bound_task() -> TaskContext | None:
    return getattr(_local, "context", None)


def bind(context: TaskContext | None) -> None:
    _local.context = context


def reporter() -> ProgressReporter:
    """The running task's reporter, or one that records nothing when the ledger is off."""
    return bound_task() or NullReporter()
