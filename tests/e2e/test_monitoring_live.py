"""The monitoring stack, live (issue 17): `tickwork run`, Debian's Prometheus and Alertmanager on
local ports with the project's own configuration (ops/monitoring/render.py: the compose files'
templates, with local addresses and `for:` cut to seconds), a workload that provokes the alerts' conditions,
and then: each provoked alert fires at Prometheus and reaches the operators' inbox through the API's
Alertmanager receiver, and every dashboard query is asked of Prometheus, its result count printed.

Conditions, in two phases (the scheduler serves the overdue and stale gauges, so it stays up for
the first): dead letters (a message that is not JSON), stale prices (the sandbox stopped, a short
maximum age), an overdue job (its row made older than its first due run), failing notifications
(the operators' Slack URL at a closed port); then a worker group and the scheduler stopped
(SIGSTOP: their scrapes fail) and a backlog on `orders` behind the stopped group.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pika
import pytest
from sqlalchemy import text
from sqlmodel import create_engine

from ops.monitoring.render import GROUP_QUEUES, RULES_YML, Stack, WorkerGroup, render, rules_with_short_for
from services.cli.worker_groups import WORKER_GROUPS
from tests.e2e.test_main_job_endpoints import ANNOUNCED, get
from tests.support.mail import smtp_server
from tests.support.ports import free_port, free_port_run
from tests.support.processes import child_matching, descendants
from tests.support.workers import ROOT, wait_for

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow, pytest.mark.postgres]
BIN = Path(sys.executable).parent
DASHBOARDS = ROOT / "ops" / "grafana" / "dashboards"
FOR_S = 3  # every rule's `for:` in this test
OPERATOR = "ops@example.com"
FIRST_PHASE = {
    "TickworkDeadLettered",
    "TickworkStalePrices",
    "TickworkJobOverdue",
    "TickworkNotificationsFailing",
    "TickworkTaskFailureRatioHigh",
}
SECOND_PHASE = {
    "TickworkWorkerGroupDown",
    "TickworkOrdersBacklog",
    "TickworkSchedulerDown",
    "TickworkSchedulerStandbyLost",
}


def need(command: str) -> str:
    found = shutil.which(command)
    assert found, f"{command} is missing: ops/scripts/test-packages.sh installs it"
    return found


def pause(pid: int) -> list[int]:
    tree = descendants(pid)
    for each in tree:
        os.kill(each, signal.SIGSTOP)
    return tree


def carry_on(tree: list[int]) -> None:
    for each in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(each, signal.SIGCONT)


class Prometheus:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, **params: str) -> Any:
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as reply:
            return json.loads(reply.read())["data"]

    def count(self, expr: str) -> int:
        return len(self.get("/api/v1/query", query=expr)["result"])

    def firing(self) -> dict[str, dict[str, Any]]:
        return {a["labels"]["alertname"]: a for a in self.get("/api/v1/alerts")["alerts"] if a["state"] == "firing"}


def call(port: int, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", json.dumps(body).encode() if body is not None else None, method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def panel_queries() -> Iterator[tuple[str, str, str]]:
    """(dashboard, panel, expression) of every target of every committed dashboard."""
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                expr = target["expr"].replace("$__rate_interval", "1m").replace("$queue", ".*")
                yield dashboard["title"], panel["title"], expr


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        carry_on(descendants(process.pid))
        process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_provoked_alerts_fire_and_reach_the_operators_and_every_panel_is_asked(
    worker_env, database_url, rabbit_url, tmp_path, started
):
    prometheus_bin, alertmanager_bin = need("prometheus"), need("prometheus-alertmanager")
    assert get(15692, "/metrics")[0] == 200, (
        "RabbitMQ's prometheus plugin is off: ops/scripts/ensure-services.sh enables it"
    )
    with smtp_server() as (inbox, smtp_port):
        first = free_port_run(len(WORKER_GROUPS) + 4)  # the groups, the scheduler, the API, Prometheus, Alertmanager
        api_port, prometheus_port, alertmanager_port = range(
            first + len(WORKER_GROUPS) + 1, first + len(WORKER_GROUPS) + 4
        )
        env = {
            **worker_env,
            "METRICS_PORT": str(first),
            "TICKWORK_SCHEDULER_METRICS_PORT": str(first + len(WORKER_GROUPS)),
            "TICKWORK_API_PORT": str(api_port),
            "TICKWORK_SANDBOX_URL": f"http://127.0.0.1:{free_port()}",
            "TICKWORK_PRICE_MAX_AGE_SECONDS": "5",
            "TICKWORK_OPERATOR_EMAILS": OPERATOR,
            "TICKWORK_SMTP_HOST": "127.0.0.1",
            "TICKWORK_SMTP_PORT": str(smtp_port),
            "TICKWORK_SMTP_SECURITY": "none",
            "TICKWORK_OPERATOR_SLACK_URL": f"http://127.0.0.1:{(closed := free_port())}/services/T/B/x",
            "TICKWORK_SSRF_ALLOW": f"127.0.0.1:{closed}",
        }
        env.pop("TICKWORK_CONTRACT_MODULES")

        # Given Alertmanager's token, made the way compose makes it
        token_file = tmp_path / "api-token"
        subprocess.run(
            [str(BIN / "tickwork"), "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120
        )
        subprocess.run(
            [str(BIN / "tickwork"), "tokens", "create", "alertmanager", "--scope", "notify",
             "--secret-file", str(token_file)],
            cwd=ROOT, env=env, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        # ... the monitoring configuration rendered for these ports, from the compose files' templates
        vhost = urllib.parse.unquote(rabbit_url.rsplit("/", 1)[1])
        stack = Stack(
            groups=[
                WorkerGroup(g.name, GROUP_QUEUES[g.name], "127.0.0.1", first + i) for i, g in enumerate(WORKER_GROUPS)
            ],
            schedulers=[f"127.0.0.1:{first + len(WORKER_GROUPS)}"],
            api=f"127.0.0.1:{api_port}",
            rabbitmq="127.0.0.1:15692",
            alertmanager=f"127.0.0.1:{alertmanager_port}",
            token_file=str(token_file),
            purpose="For the live monitoring test.",
            vhost=vhost,
            scrape_interval="1s",
            timing={"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
        )
        for name, content in render(stack).items():
            (tmp_path / name).write_text(content)
        (tmp_path / "alerts.yml").write_text(rules_with_short_for(RULES_YML.read_text(), FOR_S))
        logs = {name: (tmp_path / f"{name}.log").open("w") for name in ("prometheus", "alertmanager", "main")}
        # ... and the main job
        output: list[str] = []
        main = subprocess.Popen(
            [str(BIN / "tickwork"), "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(main)

        def read_output() -> None:
            for line in iter(main.stdout.readline, ""):
                output.append(line)
                logs["main"].write(line)
                logs["main"].flush()

        threading.Thread(target=read_output, daemon=True).start()
        wait_for(
            lambda: len([line for line in output if ANNOUNCED.search(line)]) == len(WORKER_GROUPS) + 1,
            90,
            "the main job",
        )
        endpoints = [*range(first, first + len(WORKER_GROUPS) + 1), api_port]
        wait_for(lambda: all(get(port, "/metrics")[0] == 200 for port in endpoints), 120, "every /metrics answering")
        # ... then Prometheus and Alertmanager (started earlier, they would alert on the start-up itself)
        started.append(subprocess.Popen(
            [alertmanager_bin, f"--config.file={tmp_path / 'alertmanager.yml'}", f"--storage.path={tmp_path / 'am'}",
             f"--web.listen-address=127.0.0.1:{alertmanager_port}", "--cluster.listen-address="],
            stdout=logs["alertmanager"], stderr=subprocess.STDOUT, text=True,
        ))  # fmt: skip
        started.append(subprocess.Popen(
            [prometheus_bin, f"--config.file={tmp_path / 'prometheus.yml'}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{prometheus_port}"],
            stdout=logs["prometheus"], stderr=subprocess.STDOUT, text=True,
        ))  # fmt: skip
        prometheus = Prometheus(prometheus_port)
        wait_for(lambda: get(prometheus_port, "/-/ready")[0] == 200, 60, "Prometheus ready", interval=0.5)
        wait_for(lambda: get(alertmanager_port, "/-/ready")[0] == 200, 60, "Alertmanager ready", interval=0.5)

        health: dict[str, str] = {}

        def targets_up() -> bool:
            active = prometheus.get("/api/v1/targets")["activeTargets"]
            health.update({t["scrapePool"]: t["health"] + " " + t["lastError"] for t in active})
            return len(active) == 7 and all(t["health"] == "up" for t in active)

        try:
            wait_for(targets_up, 120, "every target up", interval=1)
        except AssertionError:
            raise AssertionError(f"targets not all up: {health}\n{''.join(output)[-3000:]}") from None

        # When the first phase's conditions are provoked
        with pika.BlockingConnection(pika.URLParameters(rabbit_url)) as connection:
            channel = connection.channel()
            channel.basic_publish("", "refresh", b"{not json", pika.BasicProperties(message_id="live-bad-json"))
        sandbox = pause(child_matching(main.pid, r"tickwork sandbox"))
        engine = create_engine(database_url)
        with engine.begin() as db:
            db.execute(
                text("UPDATE scheduled_jobs SET created_at = :at WHERE name = 'portfolio-metrics'"),
                {"at": datetime.now(UTC) - timedelta(days=10)},
            )
        engine.dispose()
        notify = token_file.read_text().strip()
        for n in range(6):  # sends on both operator channels: email delivered, Slack refused
            alert = {"title": f"live {n}", "message": "m", "severity": "info"}
            assert (
                call(api_port, notify, "POST", "/api/v1/tasks", {"actor": "send_alert", "parameters": alert})[0] == 201
            )
        # ... tasks that fail for good: webhooks to a closed port, not retried (the failure ratio)
        hook = {"url": f"http://127.0.0.1:{closed}/hook", "event": "live.test", "data": {}}
        for _ in range(25):
            task = {"actor": "webhook_callback", "parameters": hook, "retry_policy": {"max_retries": 0}}
            assert call(api_port, notify, "POST", "/api/v1/tasks", task)[0] == 201
        # ... with trading: an order left working, one rejected, and a risk limit the next check breaches
        admin_file = tmp_path / "admin-token"
        subprocess.run(
            [str(BIN / "tickwork"), "tokens", "create", "live", "--scope", "admin", "--secret-file", str(admin_file)],
            cwd=ROOT, env=env, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        admin = admin_file.read_text().strip()
        with engine.begin() as db:
            portfolio = db.execute(text("SELECT min(id) FROM portfolios")).scalar_one()
        order = {"portfolio_id": portfolio, "symbol": "AAPL", "side": "buy", "type": "limit", "quantity": "1"}
        assert call(api_port, admin, "POST", "/api/v1/orders", {**order, "limit_price": "1.00"})[0] == 201
        assert (
            call(api_port, admin, "POST", "/api/v1/orders", {**order, "limit_price": "1.00", "quantity": "1000000000"})[
                0
            ]
            == 422
        )
        limits = {"max_position_weight": 0.01}
        assert call(api_port, admin, "PUT", f"/api/v1/risk/portfolios/{portfolio}", limits)[0] == 200
        assert call(api_port, admin, "POST", "/api/v1/jobs/risk-limits/trigger")[0] == 202

        # Then each fires at Prometheus
        wait_for(lambda: prometheus.firing().keys() >= FIRST_PHASE, 150, f"{FIRST_PHASE} firing", interval=1)
        first_firing = prometheus.firing()

        # When a worker group is killed, the main job restarts it (in seconds: too short for an alert)
        group = child_matching(main.pid, r"dramatiq .*-Q maintenance")
        metrics_process = json.loads(get(first + 2, "/healthz")[1])["pid"]  # the group's metrics server
        worker = next(pid for pid in descendants(group)[1:] if pid != metrics_process)
        os.kill(worker, signal.SIGKILL)  # a worker process: Dramatiq stops the group, the main job restarts it
        wait_for(
            lambda: any("worker group maintenance" in line and "restart" in line for line in output), 60, "the restart"
        )
        # Prometheus records the failed scrapes, then (its newest sample, not the one before the kill) the group back
        down = 'min_over_time(up{job="workers-maintenance"}[2m]) == 0'
        wait_for(lambda: prometheus.count(down) == 1, 30, "the group seen down", interval=0.5)
        wait_for(lambda: prometheus.count('up{job="workers-maintenance"} == 1') == 1, 90, "the group back", interval=1)

        # When a worker group and the scheduler stop answering, with a backlog behind the group
        orders = pause(child_matching(main.pid, r"dramatiq .*-Q orders"))
        scheduler = pause(child_matching(main.pid, r"tickwork scheduler"))
        with pika.BlockingConnection(pika.URLParameters(rabbit_url)) as connection:
            channel = connection.channel()
            for n in range(150):
                channel.basic_publish("", "orders", b"{not json", pika.BasicProperties(message_id=f"backlog-{n}"))
        try:
            wait_for(lambda: prometheus.firing().keys() >= SECOND_PHASE, 120, f"{SECOND_PHASE} firing", interval=1)
            firing = {**first_firing, **prometheus.firing()}
        finally:
            for tree in (orders, scheduler, sandbox):
                carry_on(tree)

        # ... and every dashboard query has data once everything is back (the scheduler serves some)
        wait_for(targets_up, 120, "every target up again", interval=1)
        time.sleep(3)  # a few samples of each again
        counts = [(board, panel, prometheus.count(expr)) for board, panel, expr in panel_queries()]

        # ... and each alert reaches the operators' inbox through Alertmanager and the API's receiver,
        # but "standby lost", which Alertmanager holds back while "no scheduler" fires (inhibit_rules)
        def delivered() -> set[str]:
            subjects = [str(message["Subject"]) for to, message in inbox.messages if OPERATOR in to]
            return {
                name for name, alert in firing.items() if any(alert["annotations"]["summary"] in s for s in subjects)
            }

        wanted = FIRST_PHASE | SECOND_PHASE - {"TickworkSchedulerStandbyLost"}
        try:
            wait_for(lambda: wanted <= delivered(), 90, "every provoked alert in the inbox", interval=1)
        finally:
            print("\nalerts (state at Prometheus; delivered by email):")
            for name in sorted(wanted | firing.keys()):
                state = "firing" if name in firing else "not firing"
                print(f"  {name:36} {state:11} {'delivered' if name in delivered() else '-'}")
            print("panels (dashboard / panel: series returned):")
            for board, panel, count in counts:
                print(f"  {board} / {panel}: {count}")

    empty = [(board, panel) for board, panel, count in counts if count == 0]
    assert not empty, f"panels with no data: {empty}"
