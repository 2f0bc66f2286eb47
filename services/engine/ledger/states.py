"""Task states, from the task API's vocabulary.

    pending -> running -> completed | failed
    running -> retrying -> running
    pending | running | retrying -> cancelled
    pending -> skipped       (too late to matter: the message outlived its actor's age limit)

`failed` means retries are exhausted or the error is not retryable: the message is in the .XQ.
"""

from __future__ import annotations

from enum import StrEnum


class TaskState(StrEnum):
    """Where a task is in its life."""

    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


FINAL = frozenset({TaskState.COMPLETED, TaskState.FAILED, TaskState.CANCELLED, TaskState.SKIPPED})
WAITING = frozenset({TaskState.PENDING, TaskState.RETRYING})
CANCELLABLE = frozenset({TaskState.PENDING, TaskState.RUNNING, TaskState.RETRYING})
