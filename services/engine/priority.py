"""Priority levels and their AMQP numbers.

Queues are declared with `x-max-priority: 3`; RabbitMQ delivers higher numbers first.
A message published with no `priority` property counts as 0 in RabbitMQ, which is `low`.
"""

from __future__ import annotations

from enum import StrEnum

MAX_PRIORITY = 3


class Priority(StrEnum):
    """A message's priority level, as senders name it."""

    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def amqp(self) -> int:
        """The AMQP `priority` property: higher is delivered first."""
        return _AMQP[self]

    @property
    def worker_rank(self) -> int:
        """Dramatiq's actor `priority`, which orders a worker's prefetched messages: lower runs first."""
        return MAX_PRIORITY - self.amqp

    @classmethod
    def from_amqp(cls, value: int | None) -> Priority:
        """The level of an AMQP priority number; None (no property) and 0 are `low`."""
        return _BY_AMQP[min(max(value or 0, 0), MAX_PRIORITY)]


_AMQP = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.CRITICAL: 3}
_BY_AMQP = {amqp: level for level, amqp in _AMQP.items()}
