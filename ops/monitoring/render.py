"""Prometheus' and Alertmanager's configuration, rendered from one template each for two places:
the compose stack (the files committed under ops/prometheus/ and ops/alertmanager/) and the live
monitoring test (local ports, in a temporary folder). What differs is only where things listen and
how long Alertmanager waits, so the test runs the configuration the stack ships.

    python ops/monitoring/render.py          # rewrites the compose files after a template change

tests/unit/test_monitoring_config.py fails when the committed files differ from the templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import yaml

HERE = Path(__file__).resolve().parent
OPS = HERE.parent
PROMETHEUS_YML = OPS / "prometheus" / "prometheus.yml"
ALERTMANAGER_YML = OPS / "alertmanager" / "alertmanager.yml"
RULES_YML = OPS / "prometheus" / "alerts.yml"
HEADER = "Rendered by ops/monitoring/render.py from ops/monitoring/{name}.j2: edit the template, not this file."


@dataclass(frozen=True)
class WorkerGroup:
    name: str  # scrape job workers-<name>
    queues: str  # what `dramatiq actors -Q` it runs
    host: str
    port: int


@dataclass(frozen=True)
class Stack:
    """Where each process of the stack listens, and Alertmanager's timing."""

    groups: list[WorkerGroup]
    schedulers: list[str]  # host:port
    api: str  # host:port of `tickwork api`
    rabbitmq: str  # host:port of rabbitmq_prometheus
    alertmanager: str  # host:port
    token_file: str  # the API token Alertmanager sends
    purpose: str  # the first line of each file: where it runs
    dns: bool = False  # worker replicas found through DNS (compose) rather than listed
    vhost: str | None = None  # only this vhost's queues (a test's throw-away vhost)
    rules: str = "alerts.yml"
    scrape_interval: str = "15s"
    timing: dict[str, str] = field(
        default_factory=lambda: {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}
    )


GROUP_QUEUES = {"orders": "orders", "general": "refresh bots notifications", "maintenance": "maintenance"}

COMPOSE = Stack(
    groups=[WorkerGroup(name, queues, f"worker-{name}", 9191) for name, queues in GROUP_QUEUES.items()],
    schedulers=["scheduler-a:9192", "scheduler-b:9192"],
    api="api:8000",
    rabbitmq="rabbitmq:15692",
    alertmanager="alertmanager:9093",
    token_file="/etc/alertmanager-secrets/api-token",
    purpose="For the compose stack: docker-compose.yml mounts this folder into the container.",
    dns=True,
)


def render(stack: Stack) -> dict[str, str]:
    """The text of prometheus.yml and alertmanager.yml for `stack`."""
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE), undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    quoted = [f'"{target}"' for target in stack.schedulers]
    prometheus = templates.get_template("prometheus.yml.j2").render(
        purpose=stack.purpose,
        header=HEADER.format(name="prometheus.yml"),
        groups=stack.groups,
        schedulers=quoted,
        api=[f'"{stack.api}"'],
        rabbitmq=stack.rabbitmq,
        alertmanager=[f'"{stack.alertmanager}"'],
        dns=stack.dns,
        vhost=stack.vhost,
        rules=stack.rules,
        scrape_interval=stack.scrape_interval,
    )
    alertmanager = templates.get_template("alertmanager.yml.j2").render(
        purpose=stack.purpose,
        header=HEADER.format(name="alertmanager.yml"),
        api=f"http://{stack.api}",
        token_file=stack.token_file,
        **stack.timing,
    )
    return {"prometheus.yml": prometheus, "alertmanager.yml": alertmanager}


def rules_with_short_for(rules: str, seconds: int) -> str:
    """The shipped rules with every `for:` cut to `seconds`, and every `[1h]`-style window kept: the
    live test waits seconds for what the stack waits minutes for, on the same expressions."""
    document = yaml.safe_load(rules)
    for group in document["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = f"{seconds}s"
    return yaml.safe_dump(document, sort_keys=False)


def main() -> None:
    files = render(COMPOSE)
    PROMETHEUS_YML.write_text(files["prometheus.yml"])
    ALERTMANAGER_YML.write_text(files["alertmanager.yml"])
    print(f"wrote {PROMETHEUS_YML.relative_to(OPS.parent)} and {ALERTMANAGER_YML.relative_to(OPS.parent)}")


if __name__ == "__main__":
    main()
