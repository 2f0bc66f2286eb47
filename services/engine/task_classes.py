"""Task classes: the failure policy shared by actors of one kind (DESIGN.md, "Reliability rules").

An actor picks a class in the contract and may override any field there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.engine.retry_policy import RetryPolicy


@dataclass(frozen=True)
class TaskClass:
    """Retry policy, time limit and age limit for one kind of work."""

    name: str
    time_limit_s: float = 300.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # A message older than this (since it was first sent) is dead-lettered unrun; None = no limit.
    age_limit_s: float | None = None


DEFAULT = TaskClass("default")
REFRESH = TaskClass("refresh", time_limit_s=600.0, age_limit_s=3600.0)
REPORTS = TaskClass("reports", time_limit_s=1800.0)
MAINTENANCE = TaskClass("maintenance", time_limit_s=3600.0)
# Orders are re-checked every few seconds: a retry a minute later is already stale, and an
# order check older than five minutes is superseded by newer ones.
REALTIME = TaskClass(
    "realtime",
    time_limit_s=60.0,
    retry=RetryPolicy(max_retries=3, first_delay_s=1.0, max_delay_s=30.0),
    age_limit_s=300.0,
)

TASK_CLASSES = {c.name: c for c in (DEFAULT, REFRESH, REPORTS, MAINTENANCE, REALTIME)}
