"""How CLI commands print: a readable table by default, JSON with --json."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def emit(rows: Sequence[dict[str, Any]], columns: Sequence[str], *, as_json: bool) -> None:
    """Print `rows` as a table of `columns`, or every field as JSON lines."""
    if as_json:
        click.echo(json.dumps(list(rows), default=str, indent=2))
        return
    if not rows:
        click.echo("(none)")
        return
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        click.echo("  ".join(v[:60].ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def emit_one(record: dict[str, Any], *, as_json: bool) -> None:
    """Print one record as `field: value` lines, or as JSON."""
    if as_json:
        click.echo(json.dumps(record, default=str, indent=2))
        return
    width = max(len(k) for k in record)
    for key, value in record.items():
        text = _cell(value) if not isinstance(value, dict | list) else json.dumps(value, default=str)
        click.echo(f"{key.ljust(width)}  {text}")
