"""Benchmark actors on Tickwork's full stack: `dramatiq bench.tickwork_noop -p 2 -t 8`.

`import actors` comes first, as in production: it builds the Tickwork broker from the environment
(RABBITMQ_URL, METRICS_PORT, TICKWORK_METRICS_DIR) with every middleware (validation, metrics,
age and time limits, retries, priorities, prefetch) and makes it Dramatiq's global broker.
"""

from __future__ import annotations

import time

import actors  # noqa: F401  (must precede the actor declarations below)
import bench.contract  # noqa: F401  (registers bench_noop, bench_sleep, bench_order)
from actors.declare import contract_actor
from bench.stamps import mark, stamp


@contract_actor
def bench_noop() -> None:
    stamp()


@contract_actor
def bench_sleep(tag: str, sleep_ms: int = 0) -> None:
    mark(tag)
    if sleep_ms:
        time.sleep(sleep_ms / 1000)


@contract_actor
def bench_order(tag: str, sleep_ms: int = 0) -> None:
    mark(tag)
    if sleep_ms:
        time.sleep(sleep_ms / 1000)
