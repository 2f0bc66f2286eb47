"""Skips a message that waited longer than its actor's age limit: it is too late to matter.

The message is acknowledged, not dead-lettered, and recorded as `skipped` with its age.
"""

from __future__ import annotations

from typing import Any

from dramatiq.common import current_millis
from dramatiq.middleware import Middleware, SkipMessage

TOO_OLD = "tickwork_too_old"


class AgeLimit(Middleware):
    """Actor option `max_age` (milliseconds since the message was first sent)."""

    @property
    def actor_options(self) -> set[str]:
        return {"max_age"}

    def before_process_message(self, broker: Any, message: Any) -> None:
        actor = broker.get_actor(message.actor_name)
        max_age = actor.options.get("max_age")
        if not max_age:
            return
        age = current_millis() - message.message_timestamp
        if age >= max_age:
            message.options[TOO_OLD] = f"{age / 1000:.0f} s old, limit {max_age / 1000:.0f} s"
            raise SkipMessage(message.options[TOO_OLD])
