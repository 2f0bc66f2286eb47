"""Prometheus' and Alertmanager's shipped configuration is what its templates render for compose,
checked by their own tools; a test rendering differs only in addresses and timing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ops.monitoring.render import (
    ALERTMANAGER_YML,
    COMPOSE,
    PROMETHEUS_YML,
    RULES_YML,
    Stack,
    WorkerGroup,
    render,
    rules_with_short_for,
)

REGENERATE = "run `python ops/monitoring/render.py` after changing ops/monitoring/*.j2"


def tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    found = shutil.which(name)
    assert found, f"{name} is missing: ops/scripts/test-packages.sh installs it"
    return subprocess.run([found, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_committed_files_are_the_templates_rendered_for_compose():
    files = render(COMPOSE)
    assert PROMETHEUS_YML.read_text() == files["prometheus.yml"], REGENERATE
    assert ALERTMANAGER_YML.read_text() == files["alertmanager.yml"], REGENERATE


def test_amtool_accepts_the_alertmanager_config():
    result = tool("amtool", "check-config", ALERTMANAGER_YML.name, cwd=ALERTMANAGER_YML.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_scrapes_every_process_and_sends_alerts_to_the_api_receiver():
    prometheus = yaml.safe_load(PROMETHEUS_YML.read_text())
    jobs = {job["job_name"] for job in prometheus["scrape_configs"]}
    assert jobs == {
        "workers-orders",
        "workers-general",
        "workers-maintenance",
        "scheduler",
        "api",
        "rabbitmq",
        "rabbitmq-queues",
    }
    assert prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    alertmanager = yaml.safe_load(ALERTMANAGER_YML.read_text())
    [webhook] = alertmanager["receivers"][0]["webhook_configs"]
    assert webhook["url"] == "http://api:8000/api/v1/notifications/alertmanager" and webhook["send_resolved"]
    assert webhook["http_config"]["authorization"]["credentials_file"] == COMPOSE.token_file


def test_a_local_rendering_lists_its_targets_and_passes_promtool(tmp_path):
    local = Stack(
        groups=[WorkerGroup("orders", "orders", "127.0.0.1", 19191)],
        schedulers=["127.0.0.1:19194"],
        api="127.0.0.1:18000",
        rabbitmq="127.0.0.1:15692",
        alertmanager="127.0.0.1:19093",
        token_file=str(tmp_path / "token"),
        purpose="For a test.",
        vhost="tickwork-test-1",
        scrape_interval="1s",
    )
    files = render(local)
    (tmp_path / "prometheus.yml").write_text(files["prometheus.yml"])
    (tmp_path / "alerts.yml").write_text(rules_with_short_for(RULES_YML.read_text(), 5))
    result = tool("promtool", "check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    config = yaml.safe_load(files["prometheus.yml"])
    orders = next(job for job in config["scrape_configs"] if job["job_name"] == "workers-orders")
    assert orders["static_configs"] == [{"targets": ["127.0.0.1:19191"]}] and "dns_sd_configs" not in orders
    queues = next(job for job in config["scrape_configs"] if job["job_name"] == "rabbitmq-queues")
    assert queues["params"]["vhost"] == ["tickwork-test-1"]


def test_shortened_rules_change_only_their_for():
    shipped = yaml.safe_load(RULES_YML.read_text())
    short = yaml.safe_load(rules_with_short_for(RULES_YML.read_text(), 5))
    pairs = [
        (a, b)
        for group_a, group_b in zip(shipped["groups"], short["groups"], strict=True)
        for a, b in zip(group_a["rules"], group_b["rules"], strict=True)
    ]
    assert all({**a, "for": None} == {**b, "for": None} for a, b in pairs)
    assert {b["for"] for a, b in pairs if "for" in a} == {"5s"}
    assert not any("for" in b for a, b in pairs if "for" not in a)


@pytest.mark.parametrize("name", ["prometheus.yml", "alertmanager.yml"])
def test_each_rendered_file_says_it_is_rendered(name):
    assert "edit the template, not this file" in render(COMPOSE)[name].splitlines()[1]
