"""Checks every message against the contract before its actor runs.

A message that names an actor outside the contract, sits on the wrong queue, passes positional
arguments or bad options, or whose keyword arguments fail the payload schema is dead-lettered at once
with the reason; it is never retried and the worker carries on.

The parsed payload is kept for the actor's call (see `actors/declare.py`): one validation per
message, and the message itself is left as it arrived, JSON, for retries and dead letters.
"""

from __future__ import annotations

import threading
from typing import Any

from dramatiq.common import q_name
from dramatiq.middleware import Middleware, SkipMessage

from actors.encoder import REJECTION
from services.contract import CONTRACT, Contract
from services.contract.envelope import check_options
from services.contract.spec import ActorSpec, Payload
from services.errors import MessageRejected, PayloadInvalid

# The last payload this worker thread validated: (actor name, the kwargs it came from, the payload).
_last = threading.local()


def validated_payload(spec: ActorSpec, kwargs: dict[str, Any]) -> Payload:
    """The payload of `spec` parsed from `kwargs`: the one this thread's message was validated into
    when the kwargs are that message's, else validated now (raises PayloadInvalid)."""
    last = getattr(_last, "payload", None)
    if last is not None and last[0] == spec.name and last[1] == kwargs:
        return last[2]
    return spec.validate(kwargs)


def reject(message: Any, rejection: MessageRejected) -> None:
    """Mark `message` for the dead-letter queue with its reason and stop its processing."""
    message.options[REJECTION] = {"reason": rejection.reason, "detail": rejection.detail}
    message.fail()
    raise SkipMessage(str(rejection))


class PayloadValidation(Middleware):
    """Rejects messages that break the contract (see module docstring)."""

    def __init__(self, *, contract: Contract = CONTRACT) -> None:
        self.contract = contract

    def before_process_message(self, broker: Any, message: Any) -> None:
        try:
            spec = self.contract.get(message.actor_name)
            if spec.queue != q_name(message.queue_name):
                raise PayloadInvalid(f"{spec.name} belongs on queue {spec.queue!r}, not {message.queue_name!r}")
            if message.args:
                raise PayloadInvalid(f"{spec.name} takes keyword arguments only, got {len(message.args)} positional")
            check_options(message.options)
            _last.payload = (spec.name, message.kwargs, spec.validate(message.kwargs))
        except MessageRejected as rejection:
            reject(message, rejection)
