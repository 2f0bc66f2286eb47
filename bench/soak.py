"""Soak: the main job under mixed load for a long time, `python -m bench.soak [--minutes 60]` (`make soak`).

`tickwork run` starts as the README's run command starts it (sandbox market, demo portfolios, the
worker groups, the scheduler, the API) on a throw-away PostgreSQL database and vhost. A load thread
sends, every second, market-data and portfolio refreshes, job monitoring, alert evaluation and order
processing through the client; every few seconds a paper order through the API; every minute the
maintenance actors. The resident memory (RSS) of every process of the main job is read from /proc
each minute; a process's growth is its last sample against its first after the warm-up. Not in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx

from bench import rabbit
from bench.database import throwaway_database
from bench.procs import BIN, ROOT, free_port, free_port_run
from bench.run import say
from tests.support.processes import cmdline, descendants

EVERY_SECOND: list[tuple[str, dict[str, Any]]] = [
    ("fetch_market_data", {"symbols": ["AAPL", "MSFT", "BTC-USD"]}),
    ("refresh_portfolio", {"portfolio_id": 1}),
    ("monitor_jobs", {}),
    ("evaluate_alerts", {}),
    ("process_orders", {}),
    ("check_risk_limits", {}),
]
EVERY_MINUTE: list[tuple[str, dict[str, Any]]] = [
    ("cleanup_old_data", {}),
    ("optimize_database", {}),
    ("generate_reports", {}),
]
ORDER_EVERY_S = 5


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def sample(main: int) -> dict[str, int]:
    """RSS (KiB) of every process under the main job, keyed by its command line (and a counter for
    the worker processes that share one)."""
    seen: dict[str, int] = {}
    found = {}
    for pid in descendants(main):
        command = " ".join(cmdline(pid).split()[1:])[:120] or str(pid)
        seen[command] = seen.get(command, 0) + 1
        kib = rss_kib(pid)
        if kib is not None:
            found[f"{command} #{seen[command]}"] = kib
    return found


class Load(threading.Thread):
    """Sends the mixed load until stopped; counts what it sent and what failed."""

    def __init__(self, env: dict[str, str], api_url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.env, self.api_url, self.token = env, api_url, token
        self.stopping = threading.Event()
        self.sent = self.orders = 0
        self.failures: list[str] = []

    def run(self) -> None:
        from services.engine.client import TickworkClient
        from services.settings import Settings
        from services.storage.db import session_factory

        settings = Settings(rabbitmq_url=self.env["RABBITMQ_URL"], database_url=self.env["DATABASE_URL"])
        headers = {"Authorization": f"Bearer {self.token}"}
        with (
            TickworkClient(settings=settings, ledger=session_factory(settings.database_url)) as client,
            httpx.Client(base_url=self.api_url, headers=headers, timeout=30) as api,
        ):
            tick = 0
            while not self.stopping.wait(1.0):
                tick += 1
                due = EVERY_SECOND + (EVERY_MINUTE if tick % 60 == 0 else [])
                for actor, kwargs in due:
                    try:
                        client.send(actor, kwargs)
                        self.sent += 1
                    except Exception as error:  # counted and reported, the soak goes on
                        self.failures.append(f"{actor}: {error}")
                if tick % ORDER_EVERY_S == 0:
                    side = "buy" if tick % (2 * ORDER_EVERY_S) else "sell"
                    order = {"portfolio_id": 1, "symbol": "AAPL", "side": side, "quantity": "1"}
                    reply = api.post("/api/v1/orders", json=order)
                    if reply.status_code in (200, 201, 422):  # 422: a pre-trade check said no, as it may
                        self.orders += 1
                    else:
                        self.failures.append(f"order: {reply.status_code} {reply.text[:200]}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=3, help="minutes before the first counted sample")
    parser.add_argument("--out", type=Path, default=None, help="write the samples here as JSON")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="tickwork-soak-"))
    vhost, url = rabbit.create_vhost()
    try:
        with throwaway_database("postgresql", scratch) as database_url:
            result = soak(args, url, database_url, scratch)
    finally:
        rabbit.delete_vhost(vhost)
        shutil.rmtree(scratch, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    report(result)


def soak(args: argparse.Namespace, url: str, database_url: str, scratch: Path) -> dict[str, Any]:
    from services.api.tokens import create_token
    from services.storage.db import session_scope

    first = free_port_run(3)
    ports = {"METRICS_PORT": first, "TICKWORK_SCHEDULER_METRICS_PORT": free_port(), "TICKWORK_API_PORT": free_port()}
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKWORK_")}
    env.update({name: str(port) for name, port in ports.items()})
    env.update(
        RABBITMQ_URL=url,
        DATABASE_URL=database_url,
        TICKWORK_SANDBOX_URL=f"http://127.0.0.1:{free_port()}",
        TICKWORK_METRICS_DIR=str(scratch / "metrics"),
        TICKWORK_BACKUP_DIR=str(scratch / "backups"),
        TICKWORK_ARCHIVE_DIR=str(scratch / "archive"),
        TICKWORK_REPORTS_DIR=str(scratch / "reports"),
        TICKWORK_LOG_LEVEL="WARNING",
    )
    api_url = f"http://127.0.0.1:{ports['TICKWORK_API_PORT']}"
    with (scratch / "main.log").open("ab") as log:
        job = subprocess.Popen([str(BIN / "tickwork"), "run"], cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            _wait_ready(f"{api_url}/readyz", job)
            with session_scope(database_url) as session:
                _, token = create_token(session=session, name="soak", scopes=["create", "notify"])
            load = Load(env, api_url, token)
            load.start()
            samples: list[dict[str, Any]] = []
            started = time.monotonic()
            while (minute := (time.monotonic() - started) / 60) < args.minutes:
                if job.poll() is not None:
                    raise RuntimeError(f"the main job exited with {job.returncode}: see {scratch / 'main.log'}")
                samples.append({"minute": round(minute, 2), "rss_kib": sample(job.pid), "sent": load.sent})
                say(f"soak minute {minute:.1f}: {len(samples[-1]['rss_kib'])} processes, {load.sent:,} sent")
                time.sleep(max(0.0, 60 * (len(samples)) - (time.monotonic() - started)))
            load.stopping.set()
            load.join(timeout=30)
            return {
                "minutes": args.minutes,
                "warmup": args.warmup,
                "samples": samples,
                "sent": load.sent,
                "orders": load.orders,
                "failures": load.failures[:20],
                "failure_count": len(load.failures),
            }
        finally:
            job.terminate()
            job.wait(timeout=60)


def report(result: dict[str, Any]) -> None:
    counted = [s for s in result["samples"] if s["minute"] >= result["warmup"]]
    if len(counted) < 2:
        say("soak: too short to compare (fewer than two samples after the warm-up)")
        return
    first, last = counted[0], counted[-1]
    say(
        f"soak: {result['minutes']:g} min, {result['sent']:,} tasks and {result['orders']:,} orders sent, "
        f"{result['failure_count']} failed; RSS at minute {first['minute']:g} against minute {last['minute']:g}:"
    )
    worst = 0.0
    for name, before in sorted(first["rss_kib"].items()):
        after = last["rss_kib"].get(name)
        if after is None:
            say(f"  {name}: gone (restarted?)")
            continue
        growth = (after - before) / before
        worst = max(worst, growth)
        say(f"  {before / 1024:7.1f} -> {after / 1024:7.1f} MiB  {growth:+6.1%}  {name}")
    say(f"soak: largest growth {worst:+.1%} (target: under 10%)")


def _wait_ready(url: str, job: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if job.poll() is not None:
            raise RuntimeError(f"the main job exited with {job.returncode} before its API was ready")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the main job's API was not ready within 180 s")


if __name__ == "__main__":
    main()
