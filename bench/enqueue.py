"""Enqueue rate through TickworkClient with publisher confirms (persistent, mandatory).

`send` returns only once RabbitMQ confirmed its message, so one thread sends one message per confirm
round trip; `send_many` keeps up to 256 confirms in flight. `send` from 8 threads sharing one client
(threads share its confirm stream: a group commit) is the web app's case. Two further rows say where
the limits are, and are not targets:
- `send` from several threads, each with its own client;
- a ceiling: the same bytes and properties from raw pika, 256 in flight, confirms taken as they come.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pika

from bench.context import Context
from services.contract.envelope import encode, new_message
from services.engine.client import Send, TickworkClient

THREADS = 8
WINDOW = 256  # unconfirmed messages in flight in the pipelined ceiling
BATCH = 1_000  # messages per send_many call, as a bulk sender would hand them over


def _calls(ctx: Context, n: int, per_call: int, call: Callable[[TickworkClient, int], Any]) -> dict[str, float]:
    """Time `call(client, k)` over `n` messages in calls of `per_call`, one thread, one client."""
    slowest = 0.0
    with TickworkClient(url=ctx.url) as client:
        client.send("bench_noop", {})  # connection and topology declaration, not timed
        started = time.perf_counter()
        for first in range(0, n, per_call):
            before = time.perf_counter()
            call(client, min(per_call, n - first))
            slowest = max(slowest, time.perf_counter() - before)
        elapsed = time.perf_counter() - started
    return {"rate": n / elapsed, "slowest_s": slowest, "duplicates": _count_and_purge(ctx, n + 1)}


def client_send_many(ctx: Context, n: int) -> dict[str, float]:
    return _calls(ctx, n, BATCH, lambda client, k: client.send_many([Send("bench_noop", {}) for _ in range(k)]))


def client_one_thread(ctx: Context, n: int) -> dict[str, float]:
    return _calls(ctx, n, 1, lambda client, _: client.send("bench_noop", {}))


def client_threads(ctx: Context, n: int, threads: int = THREADS, *, shared: bool = False) -> dict[str, float]:
    """`send` from `threads` threads, each with its own client or (`shared`) all through one."""
    clients = (
        [TickworkClient(url=ctx.url)] * threads if shared else [TickworkClient(url=ctx.url) for _ in range(threads)]
    )
    for client in set(clients):
        client.send("bench_noop", {})
    share = n // threads
    barrier = threading.Barrier(threads + 1)
    slowest = [0.0] * threads

    def work(index: int) -> None:
        barrier.wait()
        for _ in range(share):
            before = time.perf_counter()
            clients[index].send("bench_noop", {})
            slowest[index] = max(slowest[index], time.perf_counter() - before)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    for client in set(clients):
        client.close()
    duplicates = _count_and_purge(ctx, share * threads + len(set(clients)))
    return {"rate": share * threads / elapsed, "slowest_s": max(slowest), "duplicates": duplicates}


def pipelined_ceiling(ctx: Context, n: int) -> dict[str, float]:
    """Raw pika, asynchronous: publish while fewer than WINDOW are unconfirmed."""
    from bench.contract import NOOP

    body = encode(new_message(NOOP, {}))
    properties = pika.BasicProperties(content_type="application/json", delivery_mode=2, priority=NOOP.priority.amqp)
    state: dict[str, Any] = {"sent": 0, "started": 0.0, "elapsed": None, "error": None}
    pending: set[int] = set()  # delivery tags not confirmed yet (at most WINDOW)

    def pump(channel: Any) -> None:
        while state["sent"] < n and len(pending) < WINDOW:
            channel.basic_publish("", "refresh", body, properties)
            state["sent"] += 1
            pending.add(state["sent"])

    def on_confirm(channel: Any, frame: Any) -> None:
        method = frame.method
        if isinstance(method, pika.spec.Basic.Nack):
            state["error"] = "nacked"
        tag = method.delivery_tag
        pending.difference_update([t for t in pending if t <= tag] if method.multiple else [tag])
        if state["sent"] >= n and not pending:
            state["elapsed"] = time.perf_counter() - state["started"]
            channel.connection.close()
        else:
            pump(channel)

    def on_channel(channel: Any) -> None:
        def start(_: Any) -> None:
            state["started"] = time.perf_counter()
            pump(channel)

        channel.confirm_delivery(lambda frame: on_confirm(channel, frame), callback=start)

    connection = pika.SelectConnection(
        pika.URLParameters(ctx.url),
        on_open_callback=lambda conn: conn.channel(on_open_callback=on_channel),
        on_open_error_callback=lambda conn, error: (state.update(error=error), conn.ioloop.stop()),
        on_close_callback=lambda conn, reason: conn.ioloop.stop(),
    )
    connection.ioloop.start()
    if state["elapsed"] is None:
        raise RuntimeError(f"pipelined publish did not finish: {state['error']!r}")
    return {"rate": n / state["elapsed"], "slowest_s": 0.0, "duplicates": _count_and_purge(ctx, n)}


def _count_and_purge(ctx: Context, expected: int) -> int:
    """Messages beyond `expected` in the queue: a message published again after a lost or late confirm
    arrives twice (the client allows it; every actor is idempotent). Fewer than expected is a loss."""
    ready = ctx.rabbit.depth("refresh")[0]
    if ready < expected:
        raise RuntimeError(f"enqueue lost messages: {ready} in refresh, expected {expected}")
    ctx.rabbit.purge("refresh")
    return ready - expected
