"""Maintenance figures: `python -m bench.maintenance [--rows N] [--backup-gb G]` (`make bench-maintenance`).

1. cleanup_old_data on N finished ledger rows past retention (archived, then deleted in batches),
   on a throw-away PostgreSQL database, and the restore of its archive;
2. backup_data's pieces on a PostgreSQL database grown to G GB: dump (inside an exported snapshot),
   verification by restoring into a scratch database, and the file size.
Prints a markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from bench.database import server_version, throwaway_database
from services.maintenance.backups import create_backup, verify_backup
from services.maintenance.cleanup import cleanup_old_data, default_policies, restore_archive
from services.storage.db import make_engine, session_factory, session_scope

COLUMNS = (
    "message_id, actor, queue, priority, args, state, attempts, progress, created_at, finished_at, updated_at, log_tail"
)


def fill(url: str, rows: int, *, age_days: float, payload_bytes: int, prefix: str) -> None:
    """COPY `rows` finished tasks into the ledger, `age_days` old, each with `payload_bytes` of args."""
    at = (datetime.now(UTC) - timedelta(days=age_days)).isoformat()
    note = "x" * payload_bytes
    raw = make_engine(url).raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY tasks ({COLUMNS}) FROM STDIN") as copy:
            buffer = io.StringIO()
            for n in range(rows):
                buffer.write(
                    f'{prefix}{n}\tbench\trefresh\tlow\t{{"note": "{note}"}}\tcompleted\t1\t1\t{at}\t{at}\t{at}\tdone\n'
                )
                if buffer.tell() > 8 << 20:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        raw.commit()
    finally:
        raw.close()


def database_bytes(url: str) -> int:
    with make_engine(url).connect() as connection:
        return int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.maintenance")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backup-gb", type=float, default=1.0)
    args = parser.parse_args()
    command = f"python -m bench.maintenance --rows {args.rows} --backup-gb {args.backup_gb}"
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores; `{command}`", ""]
    with tempfile.TemporaryDirectory() as folder, throwaway_database("postgresql", Path(folder)) as url:
        lines.append(f"Database: {server_version(url)}")
        fill(url, args.rows, age_days=400, payload_bytes=40, prefix="old-")
        fill(url, 1000, age_days=1, payload_bytes=40, prefix="new-")
        policies = default_policies(ledger_days=30, log_days=7)
        started = time.perf_counter()
        report = cleanup_old_data(
            policies, session_factory=session_factory(url), archive_dir=Path(folder) / "archive", kinds=["task_ledger"]
        )
        cleanup_s = time.perf_counter() - started
        [ledger] = report.kinds
        archive = Path(ledger.archive or "")
        data = archive.with_name(archive.name.replace(".manifest.json", ".jsonl.gz"))
        started = time.perf_counter()
        with session_scope(url) as session:
            restored = restore_archive(archive, session=session)
        restore_s = time.perf_counter() - started
        lines += [
            "",
            "| step | rows | seconds | rows/s | note |",
            "|---|---|---|---|---|",
            f"| cleanup (archive + delete, batches of 5,000) | {ledger.deleted:,} | {cleanup_s:.1f} "
            f"| {ledger.deleted / cleanup_s:,.0f} | archive {data.stat().st_size / 1e6:.1f} MB gzip |",
            f"| restore of that archive | {restored:,} | {restore_s:.1f} | {restored / restore_s:,.0f} | |",
        ]
        target = int(args.backup_gb * 1e9)
        while database_bytes(url) < target:
            fill(url, 100_000, age_days=1, payload_bytes=2000, prefix=f"big-{time.time_ns()}-")
        size = database_bytes(url)
        started = time.perf_counter()
        record = create_backup(engine=make_engine(url), folder=Path(folder) / "backups")
        dump_s = time.perf_counter() - started
        started = time.perf_counter()
        verify_backup(record.id or 0, engine=make_engine(url))
        verify_s = time.perf_counter() - started
        lines += [
            "",
            "| backup step | database | seconds | note |",
            "|---|---|---|---|",
            f"| pg_dump in an exported snapshot | {size / 1e9:.2f} GB | {dump_s:.1f} "
            f"| file {record.size_bytes / 1e6:.0f} MB (custom format, -Z6) |",
            f"| verify: restore into a scratch database + row counts | {size / 1e9:.2f} GB | {verify_s:.1f} "
            f"| {sum(record.row_counts.values()):,} rows matched |",
        ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
