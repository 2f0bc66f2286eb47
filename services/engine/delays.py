"""Long delays that survive RabbitMQ's consumer_timeout.

Dramatiq holds a delayed message unacknowledged in worker memory until its eta. RabbitMQ closes a
channel whose delivery stays unacknowledged past consumer_timeout, so a message is never held longer
than `hold_ms`: it is parked with eta = now + hold and its real due time in `due_at_ms`; when the
worker releases it early, the broker parks it again until it is due.
"""

from __future__ import annotations

from typing import Any

DUE_AT = "due_at_ms"


def parked_options(*, due_at_ms: int, now_ms: int, hold_ms: int) -> dict[str, Any]:
    """The options of a message due at `due_at_ms`, held at most `hold_ms` per parking."""
    return {"eta": min(due_at_ms, now_ms + hold_ms), DUE_AT: due_at_ms}


def remaining_ms(options: dict[str, Any], now_ms: int) -> int:
    """Milliseconds until a released message is really due (0 if it is due now)."""
    due = options.get(DUE_AT)
    return max(int(due) - now_ms, 0) if isinstance(due, int | float) else 0
