"""Runs the main job: every worker group, the scheduler and the API, as child processes stopped together."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from services.cli.demo import start_demo
from services.cli.worker_groups import WORKER_GROUPS
from services.sandbox.launch import plan_sandbox
from services.settings import Settings
from services.storage.migrate import upgrade


def run_worker_groups(settings: Settings, *, first_metrics_port: int) -> int:
    """Start the groups; return when one exits (its status) or on SIGINT/SIGTERM (0)."""
    upgrade(settings.database_url)
    dramatiq = shutil.which("dramatiq") or str(Path(sys.executable).with_name("dramatiq"))
    tickwork = shutil.which("tickwork") or str(Path(sys.executable).with_name("tickwork"))
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    # First, where prices come from: by default a simulated market, which must be said before anything.
    plan = plan_sandbox(settings.tickwork_market_data, settings.tickwork_sandbox_url, tickwork=tickwork)
    print(f"tickwork: {plan.line}", flush=True)
    if plan.command:
        children.append(("sandbox", subprocess.Popen(plan.command, start_new_session=True)))
    print(f"tickwork: broker {_redact(settings.rabbitmq_url)}, database {_redact(settings.database_url)}", flush=True)
    for offset, group in enumerate(WORKER_GROUPS):
        port = first_metrics_port + offset
        env = {**os.environ, "METRICS_PORT": str(port)}
        # Own session: Ctrl-C reaches only us, and we stop each group once, gracefully.
        children.append((group.name, subprocess.Popen(group.command(dramatiq), env=env, start_new_session=True)))
        print(
            f"tickwork: worker group {group.name:12} queues={','.join(group.queues):32} "
            f"{group.processes}x{group.threads} threads  metrics http://127.0.0.1:{port}/metrics",
            flush=True,
        )

    children.append(("scheduler", subprocess.Popen([tickwork, "scheduler"], start_new_session=True)))
    print(
        f"tickwork: scheduler            metrics http://127.0.0.1:{settings.tickwork_scheduler_metrics_port}/metrics",
        flush=True,
    )
    children.append(("api", subprocess.Popen([tickwork, "api"], start_new_session=True)))
    print(
        f"tickwork: REST API             http://{settings.tickwork_api_host}:{settings.tickwork_api_port}/docs "
        "(tokens: tickwork tokens create NAME --scope read)",
        flush=True,
    )

    if settings.tickwork_market_data == "sandbox":
        print(f"tickwork: demo data: {start_demo(settings)}", flush=True)

    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    status = 0
    while not stopping:
        exited = [(name, child.returncode) for name, child in children if child.poll() is not None]
        if exited:
            name, status = exited[0]
            print(f"tickwork: {name} exited with status {status}; stopping the others", flush=True)
            break
        time.sleep(0.5)
    for _, child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for _, child in children:
        child.wait()
    return status


def _redact(url: str) -> str:
    """The URL without its password."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
