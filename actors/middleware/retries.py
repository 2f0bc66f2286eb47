"""Retries failed messages by the retry policy of their actor's task class.

Errors that cannot succeed on retry (`services.engine.retry_policy.NOT_RETRYABLE`: `NonRetryableError` and the
database's data errors; or the actor's `throws`) fail at once.
A sender may override the policy for one message with the `retry_policy` option.
"""

from __future__ import annotations

import logging
from typing import Any

from dramatiq.errors import Retry
from dramatiq.middleware import Middleware

from services.engine.error_text import error_traceback
from services.engine.retry_policy import RetryPolicy, is_retryable
from services.errors import RateLimited, TaskCancelled

log = logging.getLogger("tickwork.retries")
# The longest a provider's Retry-After can push a retry back (Stooq's daily limit lasts until midnight).
MAX_RETRY_AFTER_S = 24 * 3600.0


class RetryPolicyMiddleware(Middleware):
    """Actor options `retry_policy` (a RetryPolicy) and `throws` (never-retried exceptions)."""

    def __init__(self, *, default: RetryPolicy | None = None) -> None:
        self.default = default or RetryPolicy()

    @property
    def actor_options(self) -> set[str]:
        return {"retry_policy", "throws"}

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        if exception is None:
            return
        if isinstance(exception, TaskCancelled):
            return  # a cancelled task is neither retried nor dead-lettered
        actor = broker.get_actor(message.actor_name)
        throws = actor.options.get("throws") or ()
        if not is_retryable(exception) or (throws and isinstance(exception, throws)):
            log.info(
                "not_retryable task_id=%s actor=%s error=%s",
                message.message_id,
                message.actor_name,
                type(exception).__name__,
            )
            message.fail()
            return

        policy = actor.options.get("retry_policy", self.default).overridden(message.options.get("retry_policy"))
        retries = message.options.get("retries", 0)
        if retries >= policy.max_retries:
            log.warning(
                "retries_exhausted task_id=%s actor=%s retries=%d", message.message_id, message.actor_name, retries
            )
            message.fail()
            return

        message.options["retries"] = retries + 1
        message.options["traceback"] = error_traceback(exception)
        if isinstance(exception, Retry) and exception.delay is not None:
            delay_ms = int(exception.delay)
        else:
            delay_ms = int(policy.delay_s(retries) * 1000)
        if isinstance(exception, RateLimited):
            # A provider said when to come back: retrying sooner would only be refused (or get the IP banned).
            delay_ms = max(delay_ms, int(min(exception.retry_after_s, MAX_RETRY_AFTER_S) * 1000))
        log.info(
            "retry_scheduled task_id=%s actor=%s retry=%d delay_ms=%d",
            message.message_id,
            message.actor_name,
            retries + 1,
            delay_ms,
        )
        broker.enqueue(message, delay=delay_ms)
