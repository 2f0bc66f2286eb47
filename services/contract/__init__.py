"""The message contract: for every actor, its name, queue, default priority, failure policy and payload.

This is the one source of truth. Actors declare themselves from it, the client publishes from it,
the worker validates incoming messages against it and `tickwork contract export` publishes it as
JSON Schema for other services.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from services.contract.maintenance import MAINTENANCE_ACTORS
from services.contract.notifications import NOTIFICATION_ACTORS
from services.contract.refresh import REFRESH_ACTORS
from services.contract.spec import ActorSpec, Payload
from services.contract.trading import TRADING_ACTORS
from services.errors import UnknownActor


class Contract:
    """The set of actor specs, looked up by actor name."""

    def __init__(self, specs: Iterable[ActorSpec]) -> None:
        self._specs: dict[str, ActorSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: ActorSpec) -> ActorSpec:
        """Add an actor; a name can be registered once (re-registering the same spec is harmless)."""
        existing = self._specs.get(spec.name)
        if existing is not None and existing != spec:
            raise ValueError(f"actor {spec.name!r} is already in the contract with another spec")
        self._specs[spec.name] = spec
        return spec

    def get(self, actor_name: str) -> ActorSpec:
        """The spec of `actor_name`; raises UnknownActor."""
        try:
            return self._specs[actor_name]
        except KeyError:
            raise UnknownActor(actor_name) from None

    def __contains__(self, actor_name: object) -> bool:
        return actor_name in self._specs

    def __iter__(self) -> Iterator[ActorSpec]:
        return iter(sorted(self._specs.values(), key=lambda s: (s.queue, s.name)))

    def __len__(self) -> int:
        return len(self._specs)


CONTRACT = Contract([*REFRESH_ACTORS, *TRADING_ACTORS, *MAINTENANCE_ACTORS, *NOTIFICATION_ACTORS])

__all__ = ["CONTRACT", "ActorSpec", "Contract", "Payload"]
