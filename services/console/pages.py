"""Rendering console pages: one Jinja2 environment (autoescape on for every template) and its filters."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.console.session import Viewer
from services.storage.db import as_utc

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,  # every template, whatever its name: arguments and errors are untrusted text
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def ago(at: datetime | None, now: datetime | None = None) -> str:
    """'3 min ago', 'in 2 h', or '—'."""
    if at is None:
        return "—"
    seconds = ((now or datetime.now(UTC)) - as_utc(at)).total_seconds()
    text = duration(abs(seconds))
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if 0 < seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def milliseconds(seconds: float | None) -> str:
    """A latency: 0.1824 reads 182 ms, 1.5 reads 1,500 ms."""
    return "—" if seconds is None else f"{seconds * 1000:,.0f} ms"


def stamp(at: datetime | None, zone: str = "UTC") -> str:
    if at is None:
        return "—"
    return as_utc(at).strftime("%Y-%m-%d %H:%M:%S UTC")


def number(value: Any, places: int = 0) -> str:
    """A Decimal exactly as stored (never through a float, never rounded), with thousands separators
    and its trailing zeros dropped down to `places`: a quantity 0.5000000000 reads 0.5, 10 reads 10."""
    if value is None:
        return "—"
    whole, _, fraction = f"{value:,f}".partition(".")
    fraction = fraction.rstrip("0").ljust(places, "0")
    return f"{whole}.{fraction}" if fraction else whole


def price(value: Any) -> str:
    """A price or an amount of money, to the cent at least: 97310.5000000000 reads 97,310.50."""
    return number(value, 2)


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
environment.filters.update(
    ago=ago, duration=duration, stamp=stamp, pretty=pretty, price=price, number=number, milliseconds=milliseconds
)


def render(
    request: Request, template: str, viewer: Viewer | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    page = environment.get_template(template).render(
        request=request,
        viewer=viewer,
        path=request.url.path,
        notice=request.query_params.get("notice"),
        now=datetime.now(UTC),
        **context,
    )
    headers = {
        # Nothing but our own scripts, styles and this origin's fetches; no framing.
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }
    return HTMLResponse(page, status_code=status_code, headers=headers)
