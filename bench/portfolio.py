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
from datetime import UTC, datetime
from pathlib import Path

from bench.database import server_version, throwaway_database
from services.portfolio.revaluation import revalue_portfolios
from services.portfolio.seed import create_generated_portfolios
from services.portfolio.snapshots import create_snapshots

TARGET_S = 10.0
MAX_AGE_S = 900.0


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
        runs = []
        for _ in range(args.runs):
            started = time.perf_counter()
            report = revalue_portfolios(url, max_age_seconds=MAX_AGE_S, now=now)
            runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        snapshots = create_snapshots(url, max_age_seconds=MAX_AGE_S, now=now)
        snapshot_s = time.perf_counter() - started
    median = statistics.median(runs)
    verdict = "**pass**" if median < TARGET_S else "**FAIL**"
    lines += [
        "",
        "| step | portfolios | positions | seconds | positions/s | note |",
        "|---|---|---|---|---|---|",
        f"| fill (bulk inserts, not part of the target) | {len(book.portfolio_ids):,} | {book.positions:,} "
        f"| {fill_s:.1f} | | {book.instruments:,} instruments |",
        f"| revalue_portfolios, median of {len(runs)} | {report.portfolios:,} | {report.positions:,} | {median:.2f} "
        f"| {report.positions / median:,.0f} | runs: {' / '.join(f'{r:.2f}' for r in runs)} s; "
        f"{report.stale_positions:,} stale, {report.unpriced_positions:,} unpriced; target < {TARGET_S:.0f} s: "
        f"{verdict} |",
        f"| create_snapshots (revalue + upsert) | {snapshots.snapshots:,} | {report.positions:,} | {snapshot_s:.2f} "
        f"| {report.positions / snapshot_s:,.0f} | |",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
