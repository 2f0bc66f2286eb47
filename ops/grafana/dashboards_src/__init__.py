"""Tickwork's Grafana dashboards as code, built with grafana-foundation-sdk.

ops/grafana/dashboards holds their output, which Grafana provisions; edit the Python here, then

    python -m ops.grafana.dashboards_src    # from the repository root: rewrites ops/grafana/dashboards/*.json

and commit both. tests/unit/test_dashboards.py fails while the committed JSON differs from the code's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from . import engine, market_data, trading

OUTPUT = Path(__file__).resolve().parents[1] / "dashboards"
DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "tickwork-engine.json": engine.dashboard,
    "tickwork-market-data.json": market_data.dashboard,
    "tickwork-trading.json": trading.dashboard,
}


def render() -> dict[str, str]:
    """Each dashboard's file name and JSON text."""
    return {name: json.dumps(build().build(), cls=JSONEncoder, indent=2) + "\n" for name, build in DASHBOARDS.items()}


def write(folder: Path = OUTPUT) -> list[Path]:
    """Write every dashboard into folder, and remove the JSON files there that no dashboard produces."""
    rendered = render()
    for stale in set(folder.glob("*.json")) - {folder / name for name in rendered}:
        stale.unlink()
    for name, text in rendered.items():
        (folder / name).write_text(text)
    return [folder / name for name in rendered]
