"""Start latency of urgent messages while workers are busy: `critical` behind the 5 ms backlog on
`refresh`, and `orders` while every `refresh` thread runs a 5-second task.

Start latency = the time the actor starts (it writes time.time() first thing) minus the time taken
just before `TickworkClient.send` (so it includes the publisher-confirm round trip). Both clocks are
this machine's. Probes are spaced by a random 20-80 ms so that they land at any phase of the work
already running; two warm-up probes per scenario are not counted.
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path
from typing import Any

from bench.context import Context
from bench.procs import DRAMATIQ, Group
from bench.stamps import MarkReader
from services.contract.envelope import encode, new_message
from services.engine.client import TickworkClient

WARMUP = 2
MIN_WAITING = 160  # backlog messages that must wait at send time for a critical probe to count
REFRESH_GROUP = [DRAMATIQ, "bench.tickwork_noop", "-Q", "refresh", "-p", "2", "-t", "8"]
# As docker-compose.yml's worker-orders service: its own group, so orders never wait behind refresh work.
ORDERS_GROUP = [DRAMATIQ, "bench.tickwork_noop", "-Q", "orders", "-p", "1", "-t", "4"]


def percentiles(samples: list[float]) -> dict[str, float]:
    # Linear interpolation between order statistics: with 50 tries, p99 lies between the two slowest.
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": cuts[49], "p99": cuts[98], "max": max(samples), "n": len(samples)}


def shell(command: list[str]) -> str:
    return " ".join([Path(command[0]).name, *command[1:]])


def _start(ctx: Context, name: str, command: list[str], queue: str, processes: int, stamps: Path, marks: Path) -> Group:
    group, port = ctx.start(name, command, stamps, marks)
    group.wait_healthz(port)
    ctx.rabbit.wait_consumers(queue, processes)
    return group


def _load_sleepers(ctx: Context, count: int, sleep_ms: int, tag: str, *, wait: bool = True) -> None:
    from bench.contract import SLEEP

    bodies = (encode(new_message(SLEEP, {"tag": tag, "sleep_ms": sleep_ms})) for _ in range(count))
    ctx.rabbit.preload("refresh", bodies, priority=SLEEP.priority.amqp, wait=wait)


def _wait_for(reader: MarkReader, tag: str, group: Group, timeout: float = 30) -> dict[str, Any]:
    """The probe's row; only rows appended since the last poll are looked at (the backlog's are many)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for row in reader.poll():
            if row["tag"] == tag:
                return row
        group.check_alive()
        time.sleep(0.002)
    raise RuntimeError(f"probe {tag} did not start within {timeout} s")


def _started(reader: MarkReader, tag: str) -> int:
    reader.poll()
    return sum(1 for row in reader.rows if row["tag"] == tag)


def critical_behind_backlog(ctx: Context, backlog: int, tries: int) -> dict[str, Any]:
    """`critical` messages on `refresh` while 2 x 8 threads work through 5 ms `low` messages."""
    ctx.rabbit.purge("refresh")
    stamps, marks = ctx.new_run("critical")
    # Enough to outlast the probes at the 16 threads' best pace (3,200 messages/s), so refills are rare.
    backlog = max(backlog, 400 * (tries + WARMUP))
    _load_sleepers(ctx, backlog, 5, "backlog")
    reader = MarkReader(marks)
    group = _start(ctx, "critical-refresh", REFRESH_GROUP, "refresh", 2, stamps, marks)
    client = TickworkClient(url=ctx.url)
    latencies: list[float] = []
    overtaken: list[int] = []
    waiting: list[int] = []
    try:
        for attempt in range(3 * (tries + WARMUP)):
            if len(latencies) == tries:
                break
            ready = ctx.rabbit.depth("refresh")[0]
            if ready < backlog // 4:
                # The workers drain it while it is published (RabbitMQ takes it in asynchronously).
                _load_sleepers(ctx, backlog, 5, "backlog", wait=False)
                ready = ctx.rabbit.depth("refresh")[0]
            time.sleep(random.uniform(0.02, 0.08))
            tag = f"critical-{attempt}"
            reader.poll()
            seen = len(reader.rows)
            sent = time.time()
            client.send("bench_sleep", {"tag": tag}, priority="critical")
            row = _wait_for(reader, tag, group)
            time.sleep(0.01)  # backlog starts stamped just before the probe may land in the file just after
            reader.poll()
            ahead = sum(1 for r in reader.rows[seen:] if r["tag"] == "backlog" and sent <= r["t"] < row["t"])
            # A probe counts after the warm-up, and only behind a real backlog (>= 10 per thread).
            if attempt >= WARMUP and ready >= MIN_WAITING:
                latencies.append(row["t"] - sent)
                overtaken.append(ahead)
                waiting.append(ready)
        if len(latencies) < tries:
            raise RuntimeError(f"only {len(latencies)} probes found at least {MIN_WAITING} messages waiting")
    finally:
        client.close()
        group.stop()
        ctx.rabbit.purge("refresh")
    shares = [ahead / ready for ahead, ready in zip(overtaken, waiting, strict=True)]
    return {
        **percentiles(latencies),
        "backlog_started_first_median": statistics.median(overtaken),
        "backlog_started_first_max": max(overtaken),
        "backlog_waiting_min": min(waiting),
        "backlog_waiting_median": statistics.median(waiting),
        # Of the backlog waiting at send time, the share that still started first (FIFO: all of it).
        "overtaken_share_max": max(shares),
    }


def orders_while_refresh_saturated(ctx: Context, tries: int) -> dict[str, Any]:
    """`orders` messages on their own group while every `refresh` thread sleeps in a 5 s task."""
    threads = 16
    ctx.rabbit.purge("refresh", "orders")
    stamps, marks = ctx.new_run("orders")
    reader = MarkReader(marks)
    refresh = _start(ctx, "orders-refresh", REFRESH_GROUP, "refresh", 2, stamps, marks)
    orders = _start(ctx, "orders-orders", ORDERS_GROUP, "orders", 1, stamps, marks)
    client = TickworkClient(url=ctx.url)
    latencies, waiting = [], []
    try:
        # 16 running plus 4 rounds waiting: enough 5 s work to outlast the probes.
        _load_sleepers(ctx, threads * 5, 5000, "slow", wait=False)
        deadline = time.monotonic() + 30
        while _started(reader, "slow") < threads:
            if time.monotonic() > deadline:
                raise RuntimeError("the refresh group did not get busy")
            time.sleep(0.02)
        for i in range(WARMUP + tries):
            waiting.append(ctx.rabbit.depth("refresh")[0])
            time.sleep(random.uniform(0.02, 0.08))
            tag = f"order-{i}"
            reader.poll()
            sent = time.time()
            client.send("bench_order", {"tag": tag})
            row = _wait_for(reader, tag, orders)
            if i >= WARMUP:
                latencies.append(row["t"] - sent)
        if ctx.rabbit.depth("refresh")[0] == 0:
            raise RuntimeError("refresh was no longer saturated at the end of the orders run")
    finally:
        client.close()
        orders.stop()
        # Stop the refresh group without waiting for its 5-second tasks: they are thrown away.
        ctx.rabbit.purge("refresh")
        refresh.stop(timeout=15)
    return {**percentiles(latencies), "refresh_waiting_min": min(waiting[WARMUP:])}
