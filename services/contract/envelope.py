"""The message envelope: Dramatiq's JSON body, built by the client and checked by the worker.

    {"queue_name", "actor_name", "args", "kwargs", "options", "message_id", "message_timestamp"}

Tickwork reads these `options` (all optional for a sender):
    broker_priority  int 0..3, the AMQP priority (the client sets it from the priority level)
    retry_policy     {"max_retries", "first_delay_s", "max_delay_s", "jitter"}: overrides for one message
    time_limit       milliseconds, overrides the actor's time limit for one message
    job              the timetable job a scheduled run belongs to
    scheduled_at     ISO-8601 time of the run's tick (periodiq's option name)
    skip_after_ms    Unix milliseconds: a first delivery later than this is skipped as outdated
                     (a retry is not: it is late by design)
It writes `retries`, `traceback`, `due_at_ms` and, in a dead-letter queue, `dead_letter`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.contract.spec import ActorSpec
from services.engine.priority import Priority
from services.engine.retry_policy import RetryPolicy
from services.errors import MessageRejected, PayloadInvalid

ENVELOPE_FIELDS = {
    "queue_name": str,
    "actor_name": str,
    "args": list,
    "kwargs": dict,
    "options": dict,
    "message_id": str,
    "message_timestamp": int,
}


@dataclass(frozen=True)
class ScheduleStamp:
    """Marks a message as one run of a periodic job."""

    job: str
    scheduled_at: datetime
    skip_after: datetime | None = None

    def as_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"job": self.job, "scheduled_at": self.scheduled_at.isoformat()}
        if self.skip_after is not None:
            options["skip_after_ms"] = int(self.skip_after.timestamp() * 1000)
        return options


def new_message(
    spec: ActorSpec,
    kwargs: dict[str, Any],
    *,
    priority: Priority | str | None = None,
    retry: dict[str, Any] | None = None,
    time_limit_s: float | None = None,
    message_id: str | None = None,
    schedule: ScheduleStamp | None = None,
) -> dict[str, Any]:
    """A contract-checked envelope for `spec`; raises PayloadInvalid before anything is sent."""
    payload = spec.validate(kwargs)
    level = Priority(priority) if priority is not None else spec.priority
    options: dict[str, Any] = {"broker_priority": level.amqp}
    if retry:
        try:
            options["retry_policy"] = spec.retry.overridden(retry).as_options()
        except (TypeError, ValueError) as error:
            raise PayloadInvalid(f"retry_policy: {error}") from None
    if time_limit_s is not None:
        if not 0 < time_limit_s <= 24 * 3600:
            raise PayloadInvalid("time_limit must be between 0 and 86400 seconds")
        options["time_limit"] = int(time_limit_s * 1000)
    if schedule is not None:
        options.update(schedule.as_options())
    return {
        "queue_name": spec.queue,
        "actor_name": spec.name,
        "args": [],
        "kwargs": payload.model_dump(mode="json", exclude_unset=True),
        "options": options,
        "message_id": message_id or str(uuid.uuid4()),
        "message_timestamp": int(time.time() * 1000),
    }


def encode(envelope: dict[str, Any]) -> bytes:
    """The envelope's wire form (compact UTF-8 JSON, as Dramatiq writes it)."""
    return json.dumps(envelope, separators=(",", ":")).encode("utf-8")


def check_envelope(data: Any) -> dict[str, Any]:
    """`data` if it is a well-formed envelope; raises MessageRejected('malformed_envelope')."""
    if not isinstance(data, dict):
        raise MessageRejected("malformed_envelope", f"expected a JSON object, got {type(data).__name__}")
    missing = sorted(set(ENVELOPE_FIELDS) - set(data))
    extra = sorted(set(data) - set(ENVELOPE_FIELDS))
    if missing or extra:
        parts = ([f"missing {missing}"] if missing else []) + ([f"unexpected {extra}"] if extra else [])
        raise MessageRejected("malformed_envelope", "; ".join(parts))
    for field, kind in ENVELOPE_FIELDS.items():
        value = data[field]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise MessageRejected("malformed_envelope", f"{field} must be a JSON {kind.__name__}")
    return data


def check_options(options: dict[str, Any]) -> None:
    """Refuse option values that would break the worker later; raises PayloadInvalid."""
    priority = options.get("broker_priority")
    if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool) or priority < 0):
        raise PayloadInvalid("options.broker_priority must be a non-negative integer")
    policy = options.get("retry_policy")
    if policy is not None:
        try:
            RetryPolicy().overridden(policy)
        except (TypeError, ValueError) as error:
            raise PayloadInvalid(f"options.retry_policy: {error}") from None
    limit = options.get("time_limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0):
        raise PayloadInvalid("options.time_limit must be a positive number of milliseconds")
    skip_after = options.get("skip_after_ms")
    if skip_after is not None and (not isinstance(skip_after, int) or isinstance(skip_after, bool)):
        raise PayloadInvalid("options.skip_after_ms must be Unix milliseconds")
