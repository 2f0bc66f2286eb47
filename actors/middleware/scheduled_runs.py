"""Skips a scheduled run delivered too late to matter, and lets its retries through.

periodiq's own PeriodiqMiddleware is not used: it skips any message whose `scheduled_at` is more
than 30 s old, and a retry keeps `scheduled_at`, so a periodic run that failed would never be
retried. Here the deadline travels with the message (`skip_after_ms`, set from the job's grace by
the scheduler) and applies to the first delivery only: a retry, or a redelivery after a worker died
mid-run, is late by design and runs.
"""

from __future__ import annotations

from typing import Any

from dramatiq.common import current_millis
from dramatiq.middleware import Middleware, SkipMessage

OUTDATED = "tickwork_outdated"


class ScheduledRuns(Middleware):
    def before_process_message(self, broker: Any, message: Any) -> None:
        skip_after = message.options.get("skip_after_ms")
        if not skip_after or message.options.get("retries", 0) > 0 or getattr(message, "redelivered", False):
            return
        late_ms = current_millis() - skip_after
        if late_ms > 0:
            message.options[OUTDATED] = (
                f"scheduled run of job {message.options.get('job', '?')} due {message.options.get('scheduled_at')} "
                f"started {late_ms / 1000:.1f} s after its deadline"
            )
            raise SkipMessage(message.options[OUTDATED])
