"""Submissions through the API: `tickwork api` on the benchmark's vhost and ledger database, called
with httpx by one client, as the issue's table measures it: `monitor_jobs` tasks, each answer a
201 (confirmed by RabbitMQ and recorded `pending`).

- `POST /api/v1/tasks/batch`, 1,000 tasks per request (target ≥ 10,000 tasks/s);
- `POST /api/v1/tasks`, one task per request, one client, for comparison;
- `POST /api/v1/tasks` from 32 concurrent clients, each a thread with its own keep-alive connection
  (target ≥ 2,000 tasks/s, p99 < 50 ms): the requests share the API's client and commits.

Every task answered must be in the `notifications` queue (fewer is a loss); the queue is purged
after each. Alone, on a small size: `python -m bench.api_submit --tasks 2000`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench import procs, rabbit
from bench.context import Context
from bench.database import throwaway_database

BATCH = 1_000
SINGLES = 1_000  # single submissions measured (at ~100/s, more would only lengthen the run)
CLIENTS = 32
QUEUE = "notifications"  # monitor_jobs' queue
TASK = {"actor": "monitor_jobs"}


def batches(ctx: Context, n: int) -> dict[str, float]:
    """`n` tasks in requests of BATCH."""
    with _api(ctx) as call:
        sizes = [min(BATCH, n - first) for first in range(0, n, BATCH)]
        return _timed(ctx, call, "/api/v1/tasks/batch", [{"tasks": [TASK] * size} for size in sizes], sizes)


def singles(ctx: Context, n: int) -> dict[str, float]:
    """`min(n, SINGLES)` tasks, one per request."""
    count = min(n, SINGLES)
    with _api(ctx) as call:
        return _timed(ctx, call, "/api/v1/tasks", [TASK] * count, [1] * count)


def concurrent(ctx: Context, n: int, clients: int = CLIENTS) -> dict[str, float]:
    """`n` tasks (at least 20 per client), one per request, from `clients` threads at once."""
    share = max(n // clients, 20)
    seconds: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    with _api(ctx) as first:
        first.post("/api/v1/tasks", json=TASK).raise_for_status()  # first look-ups: not timed
        ctx.rabbit.purge(QUEUE)
        start = threading.Barrier(clients + 1)

        def caller(index: int) -> None:
            with httpx.Client(base_url=first.base_url, headers=first.headers, timeout=60) as call:
                call.get("/healthz")
                start.wait()
                for _ in range(share):
                    before = time.perf_counter()
                    reply = call.post("/api/v1/tasks", json=TASK)
                    seconds[index].append(time.perf_counter() - before)
                    if reply.status_code != 201:
                        failures.append(f"{reply.status_code} {reply.text[:200]}")

        threads = [threading.Thread(target=caller, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        start.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} of {share * clients} requests failed: {failures[0]}")
    every = sorted(s for run in seconds for s in run)
    return {
        **_summary(ctx, "/api/v1/tasks", share * clients, elapsed, every),
        "p99_s": every[int(0.99 * (len(every) - 1))],
    }


def _timed(ctx: Context, call: httpx.Client, path: str, bodies: list[Any], sizes: list[int]) -> dict[str, float]:
    call.post(path, json=bodies[0]).raise_for_status()  # connections, first look-ups: not timed
    ctx.rabbit.purge(QUEUE)
    seconds = []
    started = time.perf_counter()
    for body in bodies:
        before = time.perf_counter()
        reply = call.post(path, json=body)
        seconds.append(time.perf_counter() - before)
        if reply.status_code != 201:
            raise RuntimeError(f"{path}: {reply.status_code} {reply.text[:200]}")
    return _summary(ctx, path, sum(sizes), time.perf_counter() - started, seconds)


def _summary(ctx: Context, path: str, tasks: int, elapsed: float, seconds: list[float]) -> dict[str, float]:
    """Rate and request times of `tasks` answered tasks, once each is counted in the queue (then purged)."""
    ready = ctx.rabbit.depth(QUEUE)[0]
    if ready < tasks:
        raise RuntimeError(f"{path}: {ready} messages in {QUEUE}, {tasks} answered")
    ctx.rabbit.purge(QUEUE)
    return {
        "rate": tasks / elapsed,
        "p50_s": statistics.median(seconds),
        "slowest_s": max(seconds),
        "duplicates": ready - tasks,
    }


class _api:
    """`tickwork api` on a free port with a `notify` token; an httpx client to it; stopped after."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def __enter__(self) -> httpx.Client:
        from services.api.tokens import create_token
        from services.storage.db import session_scope

        port = procs.free_port()
        stamps, marks = self.ctx.new_run("api")
        env = self.ctx.env(stamps, marks, procs.free_port(), {"TICKWORK_API_PORT": str(port)})
        self.group = procs.Group("api", [str(procs.BIN / "tickwork"), "api"], env, self.ctx.scratch)
        self.group.wait_healthz(port)
        with session_scope(self.ctx.database_url) as session:
            _, token = create_token(session=session, name="bench", scopes=["notify"])
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        return self.client

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.group.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_submit", description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks per measurement")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    scratch = Path(tempfile.mkdtemp(prefix="tickwork-bench-api-"))
    vhost, url = rabbit.create_vhost()
    try:
        with throwaway_database(args.database, scratch) as database_url:
            connection = rabbit.Rabbit(url)
            try:
                ctx = Context(url, database_url, scratch, connection)
                for name, measure in (("batch", batches), ("single", singles), ("concurrent", concurrent)):
                    result = measure(ctx, args.tasks)
                    print(f"{name}: " + ", ".join(f"{key} {value:,.4g}" for key, value in result.items()), flush=True)
            finally:
                connection.close()
    finally:
        procs.stop_all()
        rabbit.delete_vhost(vhost)
    return 0


if __name__ == "__main__":
    sys.exit(main())
