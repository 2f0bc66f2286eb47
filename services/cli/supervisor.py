"""Runs the main job: every worker group, the scheduler and the API as child processes, restarted when
one exits and stopped together (see child_processes)."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

from services.cli.child_processes import ChildSpec, Supervisor
from services.cli.demo import start_demo
from services.cli.worker_groups import WORKER_GROUPS, metrics_ports
from services.sandbox.launch import plan_sandbox
from services.settings import Settings
from services.storage.migrate import upgrade

# Metrics servers (worker groups' and the scheduler's) listen on every interface.
METRICS_HOST = "0.0.0.0"


def run_worker_groups(settings: Settings, *, first_metrics_port: int) -> int:
    """Start every child and keep them running (see child_processes); return 0 on SIGINT/SIGTERM, or
    non-zero when a child is in a crash loop."""
    upgrade(settings.database_url)
    dramatiq = shutil.which("dramatiq") or str(Path(sys.executable).with_name("dramatiq"))
    tickwork = shutil.which("tickwork") or str(Path(sys.executable).with_name("tickwork"))
    supervisor = Supervisor(say=_say)
    # First, where prices come from: by default a simulated market, which must be said before anything.
    plan = plan_sandbox(settings.tickwork_market_data, settings.tickwork_sandbox_url, tickwork=tickwork)
    _say(plan.line)
    if plan.command:
        supervisor.start(ChildSpec("sandbox", plan.command))
    _say(f"broker {_redact(settings.rabbitmq_url)}, database {_redact(settings.database_url)}")
    ports = metrics_ports(first_metrics_port, settings.tickwork_scheduler_metrics_port)
    for group in WORKER_GROUPS:
        port = ports[group.name]
        env = {**os.environ, "METRICS_PORT": str(port)}
        supervisor.start(ChildSpec(f"worker group {group.name}", group.command(dramatiq), env))
        _say(
            f"worker group {group.name:12} queues={','.join(group.queues):32} "
            f"{group.processes}x{group.threads} threads  metrics http://{METRICS_HOST}:{port}/metrics"
        )

    scheduler_env = {**os.environ, "TICKWORK_SCHEDULER_METRICS_PORT": str(ports["scheduler"])}
    supervisor.start(ChildSpec("scheduler", [tickwork, "scheduler"], scheduler_env))
    _say(f"scheduler            metrics http://{METRICS_HOST}:{ports['scheduler']}/metrics")
    supervisor.start(ChildSpec("API", [tickwork, "api"]))
    _say(
        f"REST API             http://{settings.tickwork_api_host}:{settings.tickwork_api_port}/docs "
        "(tokens: tickwork tokens create NAME --scope read)"
    )

    if settings.tickwork_market_data == "sandbox":
        _say(f"demo data: {start_demo(settings)}")

    signal.signal(signal.SIGINT, lambda *_: supervisor.stop())
    signal.signal(signal.SIGTERM, lambda *_: supervisor.stop())
    return supervisor.run()


def _say(line: str) -> None:
    print(f"tickwork: {line}", flush=True)


def _redact(url: str) -> str:
    """The URL without its password."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
