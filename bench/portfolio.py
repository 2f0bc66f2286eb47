"""Portfolio revaluation figures: `python -m bench.portfolio [--portfolios N] [--positions M]
[--instruments K] [--database postgresql|sqlite] [--runs R]` (`make bench-portfolio`).

Fills a throw-away database with N generated portfolios of M positions over K generated coins (bulk
inserts; 5% of the prices stale, 1% missing), then times `revalue_portfolios` over all of them, R
times (each run rewrites every valuation column and account summary), and `create_snapshots`
(a revaluation plus one upserted snapshot per portfolio). Prints a markdown table for
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bench.database import server_version, throwaway_database
from bench.generated import create_generated_portfolios
from services.portfolio.revaluation import RevaluationReport, revalue_portfolios
from services.portfolio.snapshots import create_snapshots
from services.storage.db import make_engine, session_factory

TARGET_S = 10.0
MAX_AGE_S = 900.0
TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu(url: str) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend connected to the benchmark's database
    (the server's share of the work, whatever else the machine is doing)."""
    if not url.startswith("postgresql"):
        return {}
    with make_engine(url).connect() as connection:
        pids = connection.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars()
        used = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # not on this host, or gone
                continue
            used[pid] = (int(fields[11]) + int(fields[12])) / TICKS
        return used


@dataclass
class Timing:
    wall: float
    client_cpu: float
    server_cpu: float


def timed(url: str, work: Callable[[], object]) -> Timing:
    before, wall, cpu = backend_cpu(url), time.perf_counter(), time.process_time()
    work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = backend_cpu(url)
    return Timing(wall, cpu, sum(used - before.get(pid, 0.0) for pid, used in after.items()))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.portfolio")
    parser.add_argument("--portfolios", type=int, default=10_000)
    parser.add_argument("--positions", type=int, default=20)
    parser.add_argument("--instruments", type=int, default=2_000)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    command = (
        f"python -m bench.portfolio --portfolios {args.portfolios} --positions {args.positions} "
        f"--instruments {args.instruments} --database {args.database} --runs {args.runs}"
    )
    load = os.getloadavg()
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, load average before {load[0]:.2f}; `{command}`",
        "",
    ]
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as folder, throwaway_database(args.database, Path(folder)) as url:
        lines.append(f"Database: {server_version(url)}")
        started = time.perf_counter()
        book = create_generated_portfolios(
            url, portfolios=args.portfolios, positions_each=args.positions, instruments=args.instruments, now=now
        )
        fill_s = time.perf_counter() - started
        reports: list[RevaluationReport] = []
        runs = [
            timed(
                url,
                lambda: reports.append(
                    revalue_portfolios(session_factory=session_factory(url), max_age_seconds=MAX_AGE_S, now=now)
                ),
            )
            for _ in range(args.runs)
        ]
        snapshot = timed(
            url, lambda: create_snapshots(session_factory=session_factory(url), max_age_seconds=MAX_AGE_S, now=now)
        )
    report = reports[-1]
    median = statistics.median(r.wall for r in runs)
    verdict = "**pass**" if median < TARGET_S else "**FAIL**"
    load = os.getloadavg()
    lines += [
        f"Load average after: {load[0]:.2f}",
        "",
        "| step | portfolios | positions | wall s | client CPU s | server CPU s | positions/s | note |",
        "|---|---|---|---|---|---|---|---|",
        f"| fill (bulk inserts, not part of the target) | {len(book.portfolio_ids):,} | {book.positions:,} "
        f"| {fill_s:.1f} | | | | {book.instruments:,} instruments |",
        f"| revalue_portfolios, median of {len(runs)} | {report.portfolios:,} | {report.positions:,} | {median:.2f} "
        f"| {statistics.median(r.client_cpu for r in runs):.2f} | {statistics.median(r.server_cpu for r in runs):.2f} "
        f"| {report.positions / median:,.0f} | wall: {' / '.join(f'{r.wall:.2f}' for r in runs)} s; "
        f"{report.stale_positions:,} stale, {report.unpriced_positions:,} unpriced; target < {TARGET_S:.0f} s: "
        f"{verdict} |",
        f"| create_snapshots (revalue + upsert) | {report.portfolios:,} | {report.positions:,} | {snapshot.wall:.2f} "
        f"| {snapshot.client_cpu:.2f} | {snapshot.server_cpu:.2f} | {report.positions / snapshot.wall:,.0f} | |",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
