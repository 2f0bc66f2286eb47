"""What the server hands a provider module, and what it gets back: no HTTP machinery in the formats."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    """One GET below a provider's prefix: `path` is the live path (e.g. /v8/finance/chart/AAPL)."""

    provider: str
    path: str
    query: Mapping[str, list[str]]
    now: float  # the sandbox's clock, epoch seconds

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    # Compact like the live APIs; no NaN/Infinity, which no JSON parser accepts.
    text = json.dumps(body, separators=(",", ":"), allow_nan=False)
    return Response(status, text.encode(), "application/json;charset=utf-8", dict(headers or {}))


def text_response(status: int, text: str, content_type: str = "text/plain", headers: dict[str, str] | None = None):
    return Response(status, text.encode(), content_type, dict(headers or {}))


# What a corporate proxy or captive portal puts in front of an API: an HTML page with status 200.
PROXY_PAGE = (
    "<!DOCTYPE html><html><head><title>Service Unavailable</title></head>"
    "<body><h1>Service Unavailable</h1><p>The upstream server is temporarily unable to answer."
    " Please try again later.</p><hr><address>proxy</address></body></html>"
)
