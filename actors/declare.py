"""Declares a Dramatiq actor from its entry in the contract, so that name, queue, priority, time
limit, age limit and retry policy are written once, in `services.contract`.

The function runs with its payload's validated values (dates as `date`, defaults filled in), not the
JSON kwargs of the message: Dramatiq's worker calls `actor(*message.args, **message.kwargs)`, so the
declared actor is a small wrapper that swaps the raw kwargs for the parsed payload. In a worker it
reuses the payload `PayloadValidation` already parsed for this message (one pydantic validation per
message, as before); called directly (tests, another actor), it validates itself. On the hot path
the wrapper adds a thread-local read, a comparison of the message's few kwargs and one call frame:
a fraction of the one validation every message already had.

Why a wrapper rather than a middleware that overwrites `message.kwargs`: the message must stay JSON.
Retries re-enqueue it and rejections republish it to the `.XQ`, and the ledger and the metrics read
its kwargs in their hooks; all of them keep seeing the body as it arrived, and only the function sees
`date` objects.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import dramatiq

from actors.middleware.validation import validated_payload
from services.contract import CONTRACT, Contract
from services.errors import NonRetryableError, PayloadInvalid


def contract_actor(
    fn: Callable[..., Any] | None = None, *, name: str | None = None, contract: Contract = CONTRACT
) -> Any:
    """`@contract_actor` on a function named like a contract entry (or `name=`); its parameters
    are the payload's arguments (`ActorSpec.arguments`), a test holds them equal."""

    def declare(function: Callable[..., Any]) -> Any:
        spec = contract.get(name or function.__name__)
        arguments = spec.arguments
        # A model's __dict__ holds exactly its fields: the cheap way when the actor takes them all.
        takes_every_field = arguments == tuple(spec.payload.model_fields)

        @functools.wraps(function)
        def with_validated_payload(*args: Any, **kwargs: Any) -> Any:
            if args:
                raise PayloadInvalid(f"{spec.name} takes keyword arguments only, got {len(args)} positional")
            payload = validated_payload(spec, kwargs)
            if takes_every_field:
                return function(**payload.__dict__)
            return function(**{argument: getattr(payload, argument) for argument in arguments})

        # dramatiq's overloads type the decorator form, not a call with the function and options.
        return dramatiq.actor(  # type: ignore[call-overload]
            with_validated_payload,
            actor_name=spec.name,
            queue_name=spec.queue,
            priority=spec.priority.worker_rank,
            time_limit=int(spec.time_limit * 1000),
            max_age=int(spec.age_limit * 1000) if spec.age_limit else None,
            retry_policy=spec.retry,
            throws=(NonRetryableError,),
        )

    return declare(fn) if fn is not None else declare
