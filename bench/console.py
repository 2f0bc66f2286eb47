"""Console figures on a big ledger: `python -m bench.console [--rows N] [--runs R]` (`make bench-console`).

Fills a throw-away PostgreSQL database with N task rows (COPY; 30 days of history, states and actors
skewed as in production: most rows completed, a few actors most of the traffic), then renders the
tasks page through the whole console app (session cookie, routing, the ledger queries, Jinja2) R
times each: the first page, a state filter, an actor filter, an id lookup, and the second page of a
filter. Prints the median and p95 per render, then EXPLAIN ANALYZE of every query each render ran,
so that each can be seen to walk an index. Prints markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from bench import report
from bench.database import server_version, throwaway_database
from services.api.app import create_app
from services.api.tokens import create_token
from services.settings import Settings
from services.storage.db import make_engine, session_scope

TARGET_MS = 200.0
ACTORS = [  # (actor, queue, share of the rows)
    ("refresh_all_prices", "refresh", 0.40),
    ("update_positions", "refresh", 0.20),
    ("process_orders", "orders", 0.15),
    ("monitor_jobs", "notifications", 0.10),
    ("send_alert", "notifications", 0.05),
    ("fetch_market_data", "refresh", 0.04),
    ("run_bot", "bots", 0.03),
    ("create_portfolio_snapshot", "refresh", 0.02),
    ("cleanup_old_data", "maintenance", 0.01),
]
STATES = [
    ("completed", 0.93),
    ("failed", 0.02),
    ("cancelled", 0.02),
    ("skipped", 0.02),
    ("running", 0.005),
    ("pending", 0.005),
]
COLUMNS = (
    "message_id",
    "actor",
    "queue",
    "priority",
    "args",
    "state",
    "attempts",
    "progress",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
    "log_tail",
)


def fill(url: str, rows: int, seed: int = 7) -> str:
    """COPY `rows` tasks in; returns one task id (the id lookup's target)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    actors = rng.choices(ACTORS, weights=[a[2] for a in ACTORS], k=rows)
    states = rng.choices([s for s, _ in STATES], weights=[w for _, w in STATES], k=rows)
    target = ""
    engine = make_engine(url)
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        with cursor.copy(f"COPY tasks ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for n in range(rows):
                created = now - timedelta(seconds=rows - n) * (30 * 86400 / rows)
                actor, queue, _ = actors[n]
                state = states[n]
                task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                if n == rows // 2:
                    target = task_id
                finished = (
                    created + timedelta(milliseconds=rng.randint(5, 3000))
                    if state not in ("running", "pending")
                    else None
                )
                started = created + timedelta(milliseconds=2) if state != "pending" else None
                args = json.dumps({"symbols": [f"S{n % 500}"], "portfolio_id": n % 1000})
                copy.write_row(
                    (
                        task_id,
                        actor,
                        queue,
                        "normal",
                        args,
                        state,
                        1,
                        1.0 if finished else 0.3,
                        created,
                        finished or created,
                        started,
                        finished,
                        "",
                    )
                )
        connection.commit()
        cursor.execute("ANALYZE tasks")
        connection.commit()
    finally:
        connection.close()
    return target


class Statements:
    """The SQL each render sends, captured from the engine, to EXPLAIN afterwards."""

    def __init__(self, url: str) -> None:
        self.seen: list[tuple[str, Any]] = []
        event.listen(make_engine(url), "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if re.search(r"\bFROM tasks\b", statement) and statement.lstrip().upper().startswith("SELECT"):
            self.seen.append((statement, parameters))


def timed(browser: TestClient, path: str, runs: int) -> tuple[float, float, int]:
    for _ in range(3):
        browser.get(path, follow_redirects=False)
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        reply = browser.get(path, follow_redirects=False)
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    return statistics.median(took), took[max(0, int(len(took) * 0.95) - 1)], reply.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()
    load_before = report.load()
    with tempfile.TemporaryDirectory() as folder, throwaway_database("postgresql", Path(folder)) as url:
        started = time.perf_counter()
        target = fill(url, options.rows)
        filled_s = time.perf_counter() - started
        with session_scope(url) as session:
            _, token = create_token(session=session, name="bench", scopes=["read"])
        app = create_app(Settings(database_url=url))
        browser = TestClient(app, base_url="http://bench")
        form = browser.get("/console/login")
        nonce = re.search(r'name="nonce" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        browser.post("/console/login", data={"nonce": nonce, "token": token}, follow_redirects=False)
        first = browser.get("/console/tasks?state=failed").text
        cursor = re.search(r"after=([A-Za-z0-9_-]+)", first).group(1)  # type: ignore[union-attr]
        renders = [
            ("first page, newest 50 of all tasks", "/console/tasks"),
            ("state filter (failed)", "/console/tasks?state=failed"),
            ("actor filter (cleanup_old_data, 1% of rows)", "/console/tasks?actor=cleanup_old_data"),
            ("id lookup (find box: redirect to the task)", f"/console/tasks?q={target}"),
            ("the task's page", f"/console/tasks/{target}"),
            ("second page of the state filter (keyset)", f"/console/tasks?state=failed&after={cursor}"),
        ]
        capture = Statements(url)
        results, plans = [], []
        for label, path in renders:
            capture.seen.clear()
            median, p95, status = timed(browser, path, options.runs)
            results.append((label, path, median, p95, status))
            distinct = {statement: parameters for statement, parameters in capture.seen}
            lines = []
            with make_engine(url).connect() as connection:
                for statement, parameters in distinct.items():
                    plan = connection.exec_driver_sql("EXPLAIN ANALYZE " + statement, parameters).scalars().all()
                    lines += [line for line in plan if "Scan" in line or "Execution Time" in line]
            plans.append((label, lines))
        print(f"\n### Console: tasks page on {options.rows:,} ledger rows ({server_version(url)})\n")
        print(
            f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
            f"load average before the fill: {load_before} (1 / 5 / 15 min). Fill: {filled_s:.0f} s (COPY + ANALYZE).\n"
        )
        print("| render | median ms | p95 ms | status | target |")
        print("|---|---:|---:|---:|---|")
        for label, _path, median, p95, status in results:
            verdict = "ok" if p95 < TARGET_MS else f"over {TARGET_MS:.0f} ms"
            print(f"| {label} | {median:.1f} | {p95:.1f} | {status} | < {TARGET_MS:.0f} ms: {verdict} |")
        print("\nPlans (EXPLAIN ANALYZE of every ledger query of each render):\n")
        for label, lines in plans:
            print(f"- {label}:")
            for line in lines:
                print(f"    {line.strip()}")


if __name__ == "__main__":
    main()
