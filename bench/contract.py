"""Contract entries of the benchmark actors, importable without Dramatiq (the runner sends with the
client, exactly as another service would)."""

from __future__ import annotations

from services.contract import CONTRACT, ActorSpec, Payload
from services.engine.priority import Priority

IDEMPOTENT = "benchmark probe: it only records a timestamp"


class Noop(Payload):
    pass


class Sleep(Payload):
    tag: str
    sleep_ms: int = 0


NOOP = CONTRACT.register(ActorSpec("bench_noop", "refresh", Noop, priority=Priority.NORMAL, idempotency=IDEMPOTENT))
# The 5 ms backlog and the saturating 5 s tasks; the critical probe is this actor with a per-message
# priority override, the harder case (the worker's local ordering does not know about it).
SLEEP = CONTRACT.register(ActorSpec("bench_sleep", "refresh", Sleep, priority=Priority.LOW, idempotency=IDEMPOTENT))
ORDER = CONTRACT.register(ActorSpec("bench_order", "orders", Sleep, priority=Priority.CRITICAL, idempotency=IDEMPOTENT))
