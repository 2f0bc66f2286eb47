"""RabbitMQ topology: the queues, their delay and dead-letter companions, and their arguments.

Both the workers (through Dramatiq) and the client declare queues from here, so their arguments
always agree (RabbitMQ refuses a re-declaration with different arguments).
"""

from __future__ import annotations

from typing import Any

from services.engine.priority import MAX_PRIORITY

QUEUES = ("orders", "refresh", "bots", "maintenance", "notifications")


def delay_queue(queue: str) -> str:
    """Dramatiq's delay queue for `queue`."""
    return f"{queue}.DQ"


def dead_letter_queue(queue: str) -> str:
    """Dramatiq's dead-letter queue for `queue`."""
    return f"{queue}.XQ"


def canonical_queue(name: str) -> str:
    """The work queue a delay or dead-letter queue belongs to."""
    return name[:-3] if name.endswith((".DQ", ".XQ")) else name


def work_queue_arguments(queue: str) -> dict[str, Any]:
    """Arguments of a work queue and of its delay queue."""
    return {
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": dead_letter_queue(canonical_queue(queue)),
        "x-max-priority": MAX_PRIORITY,
    }


def dead_letter_queue_arguments() -> dict[str, Any]:
    """Dead letters never expire: they stay until replayed or purged (the backlog alert watches them)."""
    return {}
