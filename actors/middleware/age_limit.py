"""Dead-letters a message that waited longer than its actor's age limit, with the reason recorded."""

from __future__ import annotations

from typing import Any

from dramatiq.common import current_millis
from dramatiq.middleware import Middleware

from actors.middleware.validation import reject
from services.errors import MessageRejected


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
            reject(message, MessageRejected("too_old", f"{age / 1000:.0f} s old, limit {max_age / 1000:.0f} s"))
