"""Alertmanager's webhook, turned into Tickwork's own alerts.

Alertmanager (`ops/alertmanager/alertmanager.yml`) posts each group of firing or resolved alerts to
the API; every alert in it becomes one `send_alert`, so infrastructure alerts reach the same email,
Slack and webhook recipients as the domain's. Each is sent with a message id made of the alert's
fingerprint, its status and when it started: Alertmanager posts a group again on every
`repeat_interval`, after a timeout, and once from each member of a cluster, and the outbox (keyed by
message id and recipient) sends each of those only once. A new firing of the same alert starts at a
new time, so it is a new notification.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.engine.client import Send
from services.engine.priority import Priority

SEVERITIES = ("info", "warning", "critical")
MAX_ALERTS = 1000  # a larger group is refused: Alertmanager sends groups, not floods


class AlertmanagerAlert(BaseModel):
    """One alert of the webhook (Alertmanager's webhook_config payload, version 4)."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime  # Alertmanager's field names, as it posts them
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = Field(min_length=1, max_length=64)


class AlertmanagerWebhook(BaseModel):
    """The body Alertmanager posts to a webhook receiver."""

    model_config = ConfigDict(extra="ignore")

    version: str
    status: Literal["firing", "resolved"]
    receiver: str = ""
    alerts: list[AlertmanagerAlert] = Field(max_length=MAX_ALERTS)


def alerts_to_send(webhook: AlertmanagerWebhook) -> list[Send]:
    """One `send_alert` per alert of the group, each keyed so that a repeat of it is sent once."""
    return [_send_alert(alert) for alert in webhook.alerts]


def _send_alert(alert: AlertmanagerAlert) -> Send:
    name = alert.labels.get("alertname", "alert")
    severity = alert.labels.get("severity", "warning")
    if severity not in SEVERITIES:
        severity = "warning"
    summary = alert.annotations.get("summary") or name
    title = f"[{alert.status.upper()}] {summary}"[:200]
    return Send(
        "send_alert",
        {"title": title, "message": _message(alert, name)[:4000], "severity": severity},
        priority=Priority.HIGH if severity == "critical" and alert.status == "firing" else None,
        message_id=f"alertmanager:{alert.fingerprint}:{alert.status}:{alert.startsAt.isoformat()}"[:128],
    )


def _message(alert: AlertmanagerAlert, name: str) -> str:
    lines = [alert.annotations.get("description") or alert.annotations.get("summary") or name, ""]
    started = alert.startsAt.isoformat()
    if alert.status == "resolved" and alert.endsAt is not None:
        lines.append(f"Fired from {started} to {alert.endsAt.isoformat()}")
    else:
        lines.append(f"Firing since {started}")
    lines += [f"{key}: {value}" for key, value in sorted(alert.labels.items()) if key != "alertname"]
    if alert.generatorURL:
        lines.append(f"Source: {alert.generatorURL}")
    return "\n".join(lines)
