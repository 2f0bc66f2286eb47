"""Caps how long a worker holds a delayed message, whatever its sender asked for.

Dramatiq keeps a delayed message unacknowledged in memory until its `eta`; RabbitMQ closes a channel
that holds one past `consumer_timeout`. A message due later than the hold limit is held only that
long: its real due time goes to `due_at_ms`, and the broker parks it again when it is released (see
`services.engine.delays` and `TickworkBroker.enqueue`).
"""

from __future__ import annotations

from typing import Any

from dramatiq.common import current_millis
from dramatiq.middleware import Middleware

from services.engine.delays import DUE_AT


class LongDelays(Middleware):
    """Rewrites a far `eta` to now + `hold_ms`, keeping the real due time."""

    def __init__(self, *, hold_ms: int) -> None:
        self.hold_ms = hold_ms

    def before_delay_message(self, broker: Any, message: Any) -> None:
        eta = message.options.get("eta")
        now = current_millis()
        if isinstance(eta, int | float) and eta - now > self.hold_ms:
            message.options.setdefault(DUE_AT, int(eta))
            message.options["eta"] = now + self.hold_ms
