"""Slack (and Slack-compatible) incoming webhooks: `text` for notifications and clients without
blocks, `blocks` for the formatted message. Sent through the SSRF guard, unsigned (Slack
authenticates by the secret URL), with the webhooks' retry rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.notifications.webhooks import JsonPoster
from services.storage.models import Notification

ICONS = {"info": ":information_source:", "warning": ":warning:", "critical": ":rotating_light:"}


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: &, < and > are control characters (links, mentions)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(*, title: str, message: str, severity: str, resolved: bool = False) -> dict[str, Any]:
    """An incoming-webhook payload: a header line, the message, and a context line."""
    icon = ":white_check_mark:" if resolved else ICONS.get(severity, "")
    state = "resolved" if resolved else severity
    headline = f"{icon} [{state}] {title}".strip()
    return {
        "text": escape(f"[{state}] {title}: {message}")[:3000],
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": escape(message)[:3000] or "-"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Tickwork · severity *{severity}*"}]},
        ],
    }


@dataclass
class SlackChannel:
    """Delivers an outbox row of channel `slack`: payload {text, blocks}."""

    poster: JsonPoster

    def send(self, notification: Notification) -> str:
        return self.poster.post(notification.recipient, notification.payload)
