"""Webhook and Slack URLs are secrets (whoever holds a Slack incoming-webhook URL can post to the
channel; a webhook URL often carries a token in its path): what is stored in the outbox, logged,
listed or raised shows them redacted. The real URL is kept where it must be: the recipients table,
the settings (the operators' Slack), or the task's own message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from urllib.parse import urlsplit

URL_CHANNELS = ("webhook", "slack")


def redact_url(url: str) -> str:
    """A URL with its path and query hidden: "https://hooks.slack.com/…#1a2b3c4d". The host says
    where it goes; the short hash tells two URLs apart without revealing either."""
    parts = urlsplit(url)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not parts.scheme or not host:
        return "…#" + _fingerprint(url)
    shown = f":{port}" if port else ""
    host = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets, or the port is ambiguous
    return f"{parts.scheme}://{host}{shown}/…#{_fingerprint(url)}"


def is_redacted(address: str) -> bool:
    return "/…#" in address or address.startswith("…#")


def redact_address(channel: str, address: str) -> str:
    """How an address may be shown: email addresses as they are, URLs redacted (once)."""
    if channel not in URL_CHANNELS or is_redacted(address):
        return address
    return redact_url(address)


def redact_text(text: str | None, secrets: Mapping[str, str]) -> str | None:
    """`text` with each secret URL replaced by its redacted form, and its path on its own too (a
    request to the pinned address quotes the path without the host: the path is the secret)."""
    if text is None:
        return None
    for secret, shown in secrets.items():
        if not secret or is_redacted(secret):
            continue
        text = text.replace(secret, shown)
        path = urlsplit(secret).path
        if len(path) > 1:
            text = text.replace(path, "/…")
    return text


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]
