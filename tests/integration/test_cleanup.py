"""cleanup_old_data on SQLite and PostgreSQL: exactly what the policy says goes, and its archive
restores the rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from services.engine.ledger.tasks import record_submitted
from services.maintenance import cleanup as cleanup_module
from services.maintenance.cleanup import cleanup_old_data, default_policies, restore_archive
from services.storage.db import as_utc, session_factory, session_scope
from services.storage.models import Task

pytestmark = pytest.mark.both_databases
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
POLICIES = default_policies(ledger_days=30, log_days=7)


def seed(database_url):
    """Tasks finished 1, 10 and 40 days ago in each final state, plus old unfinished ones."""
    rows = []
    with session_scope(database_url) as session:
        for age in (1, 10, 40):
            for state in ("completed", "failed", "cancelled", "skipped", "running", "pending"):
                for n in range(4):
                    task_id = f"{state}-{age}-{n}"
                    record_submitted(
                        session=session,
                        message_id=task_id,
                        actor="probe_record",
                        queue="refresh",
                        priority="low",
                        args={"tag": task_id},
                    )
                    rows.append((task_id, state, age))
        session.flush()
        for task_id, state, age in rows:
            task = session.get(Task, task_id)
            task.state, task.log_tail = state, f"log of {task_id}\n"
            task.created_at = NOW - timedelta(days=age + 1)
            task.finished_at = NOW - timedelta(days=age) if state not in ("running", "pending") else None
    return rows


def restore(manifest: Path, database_url: str) -> int:
    with session_scope(database_url) as session:
        return restore_archive(manifest, session=session)


def remaining(database_url):
    with session_scope(database_url) as session:
        return {t.message_id: t for t in session.exec(select(Task))}


def test_the_ledger_policy_archives_and_deletes_exactly_the_old_final_tasks(database_url, tmp_path, monkeypatch):
    monkeypatch.setattr(cleanup_module, "BATCH", 7)  # several batches
    rows = seed(database_url)
    expected_gone = {t for t, state, age in rows if age == 40 and state not in ("running", "pending")}
    before = remaining(database_url)
    report = cleanup_old_data(
        POLICIES, session_factory=session_factory(database_url), archive_dir=tmp_path, kinds=["task_ledger"], now=NOW
    )
    [ledger, runs] = report.kinds
    assert (runs.table, runs.deleted) == ("scheduled_runs", 0)
    assert (ledger.archived, ledger.deleted) == (len(expected_gone), len(expected_gone)) == (16, 16)
    left = remaining(database_url)
    assert set(before) - set(left) == expected_gone
    # a second run finds nothing more
    again = cleanup_old_data(
        POLICIES, session_factory=session_factory(database_url), archive_dir=tmp_path, kinds=["task_ledger"], now=NOW
    )
    assert again.kinds[0].deleted == 0 and again.kinds[0].archive is None
    # the archive puts the very rows back
    assert restore(Path(ledger.archive), database_url) == 16
    restored = remaining(database_url)
    assert set(restored) == set(before)
    for task_id in expected_gone:
        old, new = before[task_id], restored[task_id]
        assert (new.state, new.args, new.log_tail) == (old.state, old.args, old.log_tail)
        assert as_utc(new.finished_at) == as_utc(old.finished_at)


def test_the_log_policy_empties_old_logs_and_keeps_the_rows(database_url, tmp_path):
    rows = seed(database_url)
    report = cleanup_old_data(
        POLICIES, session_factory=session_factory(database_url), archive_dir=tmp_path, kinds=["task_logs"], now=NOW
    )
    finished_old = {t for t, state, age in rows if age >= 10 and state not in ("running", "pending")}
    assert report.kinds[0].cleared == len(finished_old) == 32
    left = remaining(database_url)
    assert len(left) == len(rows)
    assert {t for t, task in left.items() if task.log_tail == ""} == finished_old


def test_dry_run_counts_and_changes_nothing(database_url, tmp_path):
    seed(database_url)
    before = {t: task.log_tail for t, task in remaining(database_url).items()}
    report = cleanup_old_data(
        POLICIES, session_factory=session_factory(database_url), archive_dir=tmp_path / "archive", dry_run=True, now=NOW
    )
    by_kind = {k.kind: k for k in report.kinds}
    ledger = [k for k in report.kinds if k.table == "tasks" and k.kind == "task_ledger"]
    assert ledger[0].deleted == 16 and by_kind["task_logs"].cleared == 32
    assert (by_kind["intraday_bars"].deleted, by_kind["intraday_bars"].note) == (0, "")
    assert {t: task.log_tail for t, task in remaining(database_url).items()} == before
    assert not (tmp_path / "archive").exists()


def test_market_data_policies_archive_old_bars_and_snapshots_and_keep_the_rest(database_url, tmp_path):
    from decimal import Decimal

    from sqlalchemy import func
    from sqlalchemy import select as core_select

    from services.storage.models import DailyBar, Instrument, IntradayBar, Portfolio, PortfolioSnapshot

    # Given intraday bars 10 and 40 days old, daily bars 1 and 3 years old, snapshots 1 and 3 years old
    with session_scope(database_url) as session:
        instrument = Instrument(symbol="AAPL", asset_class="equity", providers=["yahoo"])
        portfolio = Portfolio(name="p", account="a", created_at=NOW)
        session.add_all([instrument, portfolio])
        session.flush()
        for days in (10, 40):
            at = NOW - timedelta(days=days)
            session.add(IntradayBar(instrument_id=instrument.id, interval="1m", ts=at, close=Decimal(1), source="t"))
        for years in (1, 3):
            at = NOW - timedelta(days=365 * years)
            session.add(DailyBar(instrument_id=instrument.id, interval="1d", ts=at, close=Decimal(1), source="t"))
            zero = Decimal(0)
            session.add(
                PortfolioSnapshot(
                    portfolio_id=portfolio.id,
                    day=at.date(),
                    taken_at=at,
                    cash=zero,
                    market_value=zero,
                    total_value=zero,
                    cost_basis=zero,
                    unrealized_pnl=zero,
                )
            )

    # When the market-data kinds are cleaned up
    kinds = ["intraday_bars", "daily_bars", "snapshots"]
    report = cleanup_old_data(
        POLICIES, session_factory=session_factory(database_url), archive_dir=tmp_path, kinds=kinds, now=NOW
    )

    # Then exactly the old row of each table is archived and deleted, and the archives restore them
    assert [(k.kind, k.archived, k.deleted) for k in report.kinds] == [(kind, 1, 1) for kind in kinds]

    def count(table):
        with session_scope(database_url) as session:
            return session.execute(core_select(func.count()).select_from(table)).scalar()

    assert [count(t) for t in (IntradayBar, DailyBar, PortfolioSnapshot)] == [1, 1, 1]
    for kind in report.kinds:
        assert restore(Path(kind.archive), database_url) == 1
    assert [count(t) for t in (IntradayBar, DailyBar, PortfolioSnapshot)] == [2, 2, 2]
