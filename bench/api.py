"""`POST /api/v1/tasks` under concurrent callers: `python -m bench.api [--clients 1 16 32] [--tasks N]`.

`tickwork api` runs as a user runs it (its own process, PostgreSQL ledger, its own vhost); each
client is a thread with its own keep-alive HTTP connection sending `monitor_jobs` tasks one request
at a time. A 201 means confirmed by RabbitMQ and recorded in the ledger, so the run ends by checking
that every returned id is in the queue and the ledger exactly once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench import rabbit
from bench.database import throwaway_database
from bench.procs import BIN, ROOT, free_port
from bench.run import say

TASK = {"actor": "monitor_jobs", "parameters": {}}
QUEUE = "notifications"  # monitor_jobs's queue


def submit_rate(url: str, token: str, *, clients: int, tasks: int) -> dict[str, Any]:
    """`tasks` submissions shared by `clients` threads; the rate, latency percentiles and ids."""
    share = tasks // clients
    latencies: list[list[float]] = [[] for _ in range(clients)]
    ids: list[list[str]] = [[] for _ in range(clients)]
    failures: list[str] = []
    start = threading.Barrier(clients + 1)

    def work(index: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            http.get("/healthz")
            start.wait()
            for _ in range(share):
                before = time.perf_counter()
                reply = http.post("/api/v1/tasks", json=TASK)
                latencies[index].append(time.perf_counter() - before)
                if reply.status_code == 201:
                    ids[index].append(reply.json()["task_id"])
                else:
                    failures.append(f"{reply.status_code} {reply.text[:200]}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = sorted(latency for run in latencies for latency in run)
    sent = [task_id for run in ids for task_id in run]
    return {
        "clients": clients,
        "tasks": len(sent),
        "rate": len(sent) / elapsed,
        "p50_ms": 1000 * statistics.median(every),
        "p99_ms": 1000 * every[int(0.99 * (len(every) - 1))],
        "failures": failures,
        "ids": sent,
    }


def check_exactly_once(connection: rabbit.Rabbit, database_url: str, ids: list[str]) -> None:
    """Every returned id once in the ledger, and the queue holding exactly that many messages."""
    from sqlmodel import col, func, select

    from services.storage.db import session_scope
    from services.storage.models import Task

    with session_scope(database_url) as session:
        rows = session.exec(select(func.count()).where(col(Task.message_id).in_(ids))).one()
    ready = connection.depth(QUEUE)[0]
    if rows != len(set(ids)) or len(set(ids)) != len(ids) or ready != len(ids):
        raise RuntimeError(f"{len(ids)} ids returned, {rows} in the ledger, {ready} in the queue")
    connection.purge(QUEUE)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 32])
    parser.add_argument("--tasks", type=int, default=2000)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="tickwork-bench-api-"))
    vhost, url = rabbit.create_vhost()
    results = []
    try:
        with throwaway_database("postgresql", scratch) as database_url:
            results = run(args, url, database_url, scratch)
    finally:
        rabbit.delete_vhost(vhost)
        shutil.rmtree(scratch, ignore_errors=True)
    for result in results:
        say(
            f"POST /api/v1/tasks, {result['clients']:>2} clients: {result['rate']:,.0f} tasks/s, "
            f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, {len(result['failures'])} failed"
        )


def run(args: argparse.Namespace, url: str, database_url: str, scratch: Path) -> list[dict[str, Any]]:
    from services.api.tokens import create_token
    from services.storage.db import session_scope

    with session_scope(database_url) as session:
        # monitor_jobs is a notifications actor: its tasks need the notify scope too
        _, token = create_token(session=session, name="bench", scopes=["create", "notify"])
    port = free_port()
    env = dict(os.environ, DATABASE_URL=database_url, RABBITMQ_URL=url, TICKWORK_LOG_LEVEL="WARNING")
    with (scratch / "api.log").open("ab") as log:
        server = subprocess.Popen(
            [str(BIN / "tickwork"), "api", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            api_url = f"http://127.0.0.1:{port}"
            _wait_ready(api_url, server)
            connection = rabbit.Rabbit(url)
            results = []
            for clients in args.clients:
                tasks = args.tasks if clients > 1 else args.tasks // 4
                result = submit_rate(api_url, token, clients=clients, tasks=tasks)
                if result["failures"]:
                    raise RuntimeError(f"{len(result['failures'])} submissions failed: {result['failures'][0]}")
                check_exactly_once(connection, database_url, result.pop("ids"))
                results.append(result)
                say(f"{clients} clients: {result['rate']:,.0f} tasks/s, p99 {result['p99_ms']:.1f} ms")
            connection.close()
            return results
        finally:
            server.terminate()
            server.wait(timeout=20)


def _wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"tickwork api exited with {server.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("tickwork api did not answer within 60 s")


if __name__ == "__main__":
    main()
