"""cleanup_old_data: a retention policy per kind of data; old rows are archived first when the policy
says so, then deleted in short batches (each its own transaction, so no lock is held for long).

An archive is a gzipped JSON-lines file of the rows plus a manifest (table, row count, columns,
checksum, cutoff); `restore_archive` puts the rows back.

Kinds whose tables do not exist yet (market data, notifications, snapshots arrive with their issues)
are reported as such and skipped.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Date, DateTime, Float, Numeric, Table, delete, func, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from services.engine.ledger.states import FINAL
from services.engine.progress import NullReporter, ProgressReporter
from services.storage.db import SessionFactory
from services.storage.models import metadata

BATCH = 5000


@dataclass(frozen=True)
class Retention:
    """Rows of `table` older than `keep` (by `age_column`) go; `archive` keeps a copy first.
    With `clear`, the rows stay and those columns are emptied instead (logs of kept tasks)."""

    kind: str
    table: str
    age_column: str
    keep: timedelta
    archive: bool
    final_tasks_only: bool = False
    clear: dict[str, Any] | None = None


@dataclass
class KindReport:
    kind: str
    table: str
    archived: int = 0
    deleted: int = 0
    cleared: int = 0
    archive: str | None = None
    note: str = ""


@dataclass
class CleanupReport:
    kinds: list[KindReport] = field(default_factory=list)

    def summary(self) -> str:
        parts = []
        for k in self.kinds:
            if k.note:
                parts.append(f"{k.kind}: {k.note}")
            else:
                parts.append(f"{k.kind} ({k.table}): archived {k.archived}, deleted {k.deleted}, cleared {k.cleared}")
        return "; ".join(parts)


def default_policies(*, ledger_days: float, log_days: float, market_data_days: float = 730) -> list[Retention]:
    """The retention policies: the ledger's from TICKWORK_LEDGER_RETENTION_DAYS and
    TICKWORK_TASK_LOG_RETENTION_DAYS; market data (bars, snapshots) after `market_data_days`."""
    return [
        Retention(
            "task_ledger", "tasks", "finished_at", timedelta(days=ledger_days), archive=True, final_tasks_only=True
        ),
        # The scheduler's run records go with the ledger: their tasks are gone by then.
        Retention("task_ledger", "scheduled_runs", "due_at", timedelta(days=ledger_days), archive=False),
        Retention(
            "task_logs",
            "tasks",
            "finished_at",
            timedelta(days=log_days),
            archive=False,
            final_tasks_only=True,
            clear={"log_tail": ""},
        ),
        Retention("intraday_bars", "intraday_bars", "ts", timedelta(days=30), archive=True),
        Retention("daily_bars", "daily_bars", "ts", timedelta(days=market_data_days), archive=True),
        Retention("notifications", "notifications", "created_at", timedelta(days=90), archive=False),
        Retention("snapshots", "portfolio_snapshots", "taken_at", timedelta(days=market_data_days), archive=True),
    ]


def cleanup_old_data(
    policies: Iterable[Retention],
    *,
    session_factory: SessionFactory,
    archive_dir: Path,
    kinds: Iterable[str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    reporter: ProgressReporter | None = None,
) -> CleanupReport:
    now, reporter = now or datetime.now(UTC), reporter or NullReporter()
    wanted = set(kinds) if kinds else None
    chosen = [p for p in policies if wanted is None or p.kind in wanted]
    report = CleanupReport()
    for number, policy in enumerate(chosen):
        reporter.progress(number / max(len(chosen), 1), f"cleaning {policy.kind}")
        table = metadata.tables.get(policy.table)
        if table is None:
            report.kinds.append(KindReport(policy.kind, policy.table, note="no such data yet"))
            continue
        report.kinds.append(_apply(session_factory, table, policy, archive_dir, now - policy.keep, dry_run, now))
    reporter.progress(1.0, "done")
    return report


def _apply(
    session_factory: SessionFactory,
    table: Table,
    policy: Retention,
    archive_dir: Path,
    cutoff: datetime,
    dry_run: bool,
    now: datetime,
) -> KindReport:
    result = KindReport(policy.kind, policy.table)
    age = table.c[policy.age_column]
    condition = [age < cutoff]
    if policy.final_tasks_only:
        condition.append(table.c.state.in_([s.value for s in FINAL]))
    if policy.clear:
        condition.append(table.c[next(iter(policy.clear))] != next(iter(policy.clear.values())))
    keys = list(table.primary_key.columns)
    if dry_run:  # count what would go, touch nothing
        with session_factory() as session:
            connection = session.connection()
            matching = connection.execute(select(func.count()).select_from(table).where(*condition)).scalar_one()
        if policy.clear:
            result.cleared = matching
        else:
            result.deleted = matching
        return result
    archive = _Archive(archive_dir, policy, cutoff, now) if policy.archive else None
    try:
        while True:
            with session_factory() as session:  # one short transaction per batch
                connection = session.connection()
                rows = connection.execute(select(table).where(*condition).limit(BATCH)).mappings().all()
                if not rows:
                    break
                if archive is not None:
                    archive.write(rows)
                    result.archived += len(rows)
                match = (
                    keys[0].in_([r[keys[0].name] for r in rows])
                    if len(keys) == 1
                    else tuple_(*keys).in_([tuple(r[k.name] for k in keys) for r in rows])
                )
                if policy.clear:
                    result.cleared += connection.execute(update(table).where(match).values(**policy.clear)).rowcount
                else:
                    result.deleted += connection.execute(delete(table).where(match)).rowcount
    finally:
        if archive is not None:
            result.archive = archive.close()
    return result


class _Archive:
    """One archive file, created when the first row arrives (a run with nothing to archive leaves none)."""

    def __init__(self, folder: Path, policy: Retention, cutoff: datetime, now: datetime) -> None:
        self.folder, self.policy, self.cutoff, self.now, self.rows = folder, policy, cutoff, now, 0
        self.path = folder / f"{policy.table}-{now:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:8]}.jsonl.gz"
        self.file: Any = None

    def write(self, rows: Iterable[Any]) -> None:
        if self.file is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.file = gzip.open(self.path, "wt", encoding="utf-8")  # noqa: SIM115 - closed by close()
        for row in rows:
            self.file.write(json.dumps(dict(row), default=_jsonable, separators=(",", ":")) + "\n")
            self.rows += 1

    def close(self) -> str | None:
        if self.file is None:
            return None
        self.file.close()
        manifest = {
            "table": self.policy.table,
            "kind": self.policy.kind,
            "rows": self.rows,
            "file": self.path.name,
            "sha256": hashlib.sha256(self.path.read_bytes()).hexdigest(),
            "cutoff": self.cutoff.isoformat(),
            "created_at": self.now.isoformat(),
        }
        manifest_path = self.path.with_name(self.path.name.replace(".jsonl.gz", ".manifest.json"))
        manifest_path.write_text(json.dumps(manifest, indent=2))
        return str(manifest_path)


def restore_archive(manifest_path: Path, *, session: Session) -> int:
    """Put an archive's rows back (rows still present are left alone), in `session`'s transaction;
    returns how many it read."""
    manifest = json.loads(manifest_path.read_text())
    data = manifest_path.with_name(manifest["file"])
    if hashlib.sha256(data.read_bytes()).hexdigest() != manifest["sha256"]:
        raise ValueError(f"archive {data.name}: checksum mismatch")
    table = metadata.tables[manifest["table"]]
    revive = {c.name: _reviver(c.type) for c in table.columns}
    connection = session.connection()
    insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(table)
    statement = insert.on_conflict_do_nothing(index_elements=[c.name for c in table.primary_key.columns])
    count = 0
    with gzip.open(data, "rt", encoding="utf-8") as lines:
        batch = []
        for line in lines:
            row = json.loads(line)
            batch.append({k: revive[k](v) if v is not None else v for k, v in row.items()})
            if len(batch) == BATCH:
                connection.execute(statement, batch)
                count, batch = count + len(batch), []
        if batch:
            connection.execute(statement, batch)
            count += len(batch)
    return count


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    if isinstance(value, Decimal):  # as text: exact, unlike a JSON number
        return str(value)
    raise TypeError(f"cannot archive a {type(value).__name__}")


def _reviver(column_type: Any) -> Any:
    """What turns an archived JSON value back into the column's Python type."""
    if isinstance(column_type, DateTime):
        return datetime.fromisoformat
    if isinstance(column_type, Date):
        return date.fromisoformat
    if isinstance(column_type, Numeric) and not isinstance(column_type, Float):
        return Decimal
    return lambda value: value
