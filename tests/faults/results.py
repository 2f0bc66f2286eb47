"""Figures of the fault tests, written by each test and rendered into docs/reliability.md by
`python -m tests.faults.render`."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(os.environ.get("TICKWORK_FAULT_RESULTS", Path(tempfile.gettempdir()) / "tickwork-faults"))


def write_result(name: str, figures: dict[str, Any]) -> Path:
    """Keep one test's figures (overwriting its previous run's)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    figures = {"test": name, "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), **figures}
    path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"fault results {name}: {json.dumps(figures, sort_keys=True)}")
    return path


def read_results() -> list[dict[str, Any]]:
    if not RESULTS_DIR.exists():
        return []
    return [json.loads(p.read_text()) for p in sorted(RESULTS_DIR.glob("*.json"))]
