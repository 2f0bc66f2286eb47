"""Contract entries of the probe actors (importable without Dramatiq, as a sending service would)."""

from __future__ import annotations

from services.contract import CONTRACT, ActorSpec, Payload
from services.engine.priority import Priority
from services.engine.retry_policy import RetryPolicy

FAST_RETRY = RetryPolicy(max_retries=2, first_delay_s=0.5, max_delay_s=2.0, jitter=0.0)
# Long enough to outlast the fault tests' 30-second database outage.
OUTAGE_RETRY = RetryPolicy(max_retries=30, first_delay_s=1.0, max_delay_s=4.0, jitter=0.0)


class Probe(Payload):
    tag: str
    sleep_ms: int = 0


class Flaky(Payload):
    tag: str
    fail_times: int


class Steps(Payload):
    tag: str
    steps: int
    sleep_ms: int = 0


class Effect(Payload):
    tag: str
    sleep_ms: int = 0
    database: bool = False


class Busy(Payload):
    tag: str
    seconds: float


for spec in (
    ActorSpec("probe_record", "refresh", Probe, priority=Priority.LOW, idempotency="test probe"),
    ActorSpec("probe_order", "orders", Probe, priority=Priority.CRITICAL, idempotency="test probe"),
    ActorSpec("probe_flaky", "refresh", Flaky, retry_override=FAST_RETRY, idempotency="test probe"),
    ActorSpec("probe_fatal", "refresh", Probe, retry_override=FAST_RETRY, idempotency="test probe"),
    ActorSpec("probe_progress", "refresh", Steps, idempotency="test probe"),
    ActorSpec("probe_busy", "refresh", Busy, idempotency="test probe"),
    ActorSpec("probe_cooperative", "refresh", Busy, idempotency="test probe"),
    ActorSpec(
        "probe_effect",
        "refresh",
        Effect,
        retry_override=OUTAGE_RETRY,
        idempotency="one effect file per message id, created exclusively",
    ),
):
    CONTRACT.register(spec)
