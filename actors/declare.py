"""Declares a Dramatiq actor from its entry in the contract, so that name, queue, priority, time
limit, age limit and retry policy are written once, in `services.contract`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dramatiq

from services.contract import CONTRACT, Contract
from services.errors import NonRetryableError


def contract_actor(
    fn: Callable[..., Any] | None = None, *, name: str | None = None, contract: Contract = CONTRACT
) -> Any:
    """`@contract_actor` on a function named like a contract entry (or `name=`)."""

    def declare(function: Callable[..., Any]) -> Any:
        spec = contract.get(name or function.__name__)
        return dramatiq.actor(
            function,
            actor_name=spec.name,
            queue_name=spec.queue,
            priority=spec.priority.worker_rank,
            time_limit=int(spec.time_limit * 1000),
            max_age=int(spec.age_limit * 1000) if spec.age_limit else None,
            retry_policy=spec.retry,
            throws=(NonRetryableError,),
        )

    return declare(fn) if fn is not None else declare
