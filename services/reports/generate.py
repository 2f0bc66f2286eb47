"""generate_reports: for each portfolio, read the period's rows, compute its figures, write the HTML
and CSV files and upsert the catalog row.

Files go to `<reports_dir>/<kind>/<portfolio id>/<period label>.html|.csv` (e.g.
`weekly/7/2026-W47.csv`); the catalog names them relative to the reports folder, which is the name
`send_email` takes as an attachment. Each file is written to a hidden temporary name in the same folder
and renamed over the old one, so a reader (or a mail being built) never sees half a report. The catalog
is keyed by (portfolio, kind, period start): a re-run overwrites both the files and the row.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from services.engine.progress import NullReporter, ProgressReporter, stop_if_cancelled
from services.errors import PortfolioNotFound, TickworkError
from services.portfolio.snapshots import SNAPSHOTS, day_bounds, market_day
from services.reports.csv import render_csv
from services.reports.figures import (
    CashMove,
    DayValue,
    Kind,
    Period,
    PortfolioFacts,
    ReportFigures,
    TradeRow,
    compute_figures,
    default_day,
    period_containing,
)
from services.reports.html import render_html
from services.reports.rows import METRICS
from services.storage.db import SessionFactory, as_utc
from services.storage.models import (
    CashFlow,
    DailyBar,
    Instrument,
    Portfolio,
    PortfolioMetrics,
    Report,
    Trade,
)
from services.storage.upsert import dialect_insert

PORTFOLIOS = Portfolio.__table__  # type: ignore[attr-defined]
TRADES = Trade.__table__  # type: ignore[attr-defined]
CASH_FLOWS = CashFlow.__table__  # type: ignore[attr-defined]
INSTRUMENTS = Instrument.__table__  # type: ignore[attr-defined]
BARS = DailyBar.__table__  # type: ignore[attr-defined]
METRICS_TABLE = PortfolioMetrics.__table__  # type: ignore[attr-defined]
REPORTS = Report.__table__  # type: ignore[attr-defined]
METRIC_FIELDS = ("as_of", "window_days", "observations", "benchmark", *(name for name, _ in METRICS))


class ReportsFailed(TickworkError):
    """Raised when some portfolios' reports could not be written (the others were)."""


@dataclass(frozen=True)
class Written:
    report_id: int
    portfolio_id: int
    html_path: str  # relative to the reports folder
    csv_path: str


@dataclass
class ReportsRun:
    kind: Kind
    period: Period | None = None
    written: list[Written] = field(default_factory=list)

    def summary(self) -> str:
        label = self.period.label if self.period else "-"
        return f"{len(self.written)} {self.kind} reports for {label}"


def generate_reports(
    *,
    session_factory: SessionFactory,
    kind: Kind,
    as_of: date | None,
    portfolio_ids: Sequence[int] | None,
    reports_dir: Path,
    reporter: ProgressReporter | None = None,
    now: datetime | None = None,
) -> ReportsRun:
    """Write the `kind` report of the period holding `as_of` (by default: today for daily reports, the
    last ended week or month otherwise) for each portfolio (every one when `portfolio_ids` is None).
    A portfolio that fails is logged and skipped; ReportsFailed then names every one that failed."""
    now, reporter = now or datetime.now(UTC), reporter or NullReporter()
    today = market_day(now)
    period = period_containing(kind, as_of or default_day(kind, today))
    with session_factory() as session:
        connection = session.connection()
        query = select(PORTFOLIOS.c.id).order_by(PORTFOLIOS.c.id)
        if portfolio_ids is not None:
            query = query.where(PORTFOLIOS.c.id.in_(list(portfolio_ids)))
        ids = list(connection.scalars(query))
    if portfolio_ids is not None and len(ids) < len(set(portfolio_ids)):
        missing = sorted(set(portfolio_ids) - set(ids))
        raise PortfolioNotFound(f"no portfolio {', '.join(map(str, missing))}")
    run, failures = ReportsRun(kind, period), []
    for number, portfolio_id in enumerate(ids):
        if number % 20 == 0:
            stop_if_cancelled(reporter)
            reporter.progress(number / max(len(ids), 1), f"{kind} reports {number}/{len(ids)}")
        try:
            with session_factory() as session:
                figures = read_figures(session.connection(), portfolio_id, period, today=today)
            html_path, csv_path = write_files(figures, reports_dir)
            with session_factory() as session:
                report_id = record(session.connection(), figures, reports_dir, html_path, csv_path, now=now)
            run.written.append(Written(report_id, portfolio_id, html_path, csv_path))
        except (OSError, TickworkError) as error:
            failures.append(f"portfolio {portfolio_id}: {error}")
            reporter.log(f"portfolio={portfolio_id} report not written: {error}")
    reporter.progress(1.0, run.summary())
    if failures:
        raise ReportsFailed(f"{len(failures)} report(s) not written: " + "; ".join(failures[:5]))
    return run


def read_figures(connection: Connection, portfolio_id: int, period: Period, *, today: date) -> ReportFigures:
    """Read what the period's figures rest on, and compute them."""
    portfolio = connection.execute(select(PORTFOLIOS).where(PORTFOLIOS.c.id == portfolio_id)).one()
    starts, ends = day_bounds(period.start)[0], day_bounds(period.end)[1]
    snapshots = SNAPSHOTS.c
    opening_row = connection.execute(
        select(snapshots.day, snapshots.total_value)
        .where(snapshots.portfolio_id == portfolio_id, snapshots.day < period.start)
        .order_by(snapshots.day.desc())
        .limit(1)
    ).first()
    points = [
        DayValue(day, Decimal(value))
        for day, value in connection.execute(
            select(snapshots.day, snapshots.total_value)
            .where(snapshots.portfolio_id == portfolio_id, snapshots.day.between(period.start, period.end))
            .order_by(snapshots.day)
        )
    ]
    current = period.start <= today <= period.end
    if current and today not in {p.day for p in points} and portfolio.valued_at is not None:
        points.append(DayValue(today, Decimal(portfolio.total_value), "valuation"))
    history = [
        TradeRow(t.id, t.portfolio_id, t.instrument_id, t.side, t.quantity, t.price, t.fee, as_utc(t.executed_at))
        for t in connection.execute(
            select(TRADES)
            .where(TRADES.c.portfolio_id == portfolio_id, TRADES.c.executed_at < ends)
            .order_by(TRADES.c.executed_at, TRADES.c.id)
        )
    ]
    cash_moves = [
        CashMove(as_utc(at), Decimal(amount))
        for at, amount in connection.execute(
            select(CASH_FLOWS.c.at, CASH_FLOWS.c.amount).where(
                CASH_FLOWS.c.portfolio_id == portfolio_id, CASH_FLOWS.c.at < ends
            )
        )
    ]
    held = sorted({t.instrument_id for t in history})
    symbols: dict[int, str] = dict(
        connection.execute(select(INSTRUMENTS.c.id, INSTRUMENTS.c.symbol).where(INSTRUMENTS.c.id.in_(held))).all()
    )
    prices = _current_prices(connection, held) if period.end >= today else _closes_on(connection, held, period.end)
    return compute_figures(
        portfolio=PortfolioFacts(portfolio_id, portfolio.name, portfolio.account, portfolio.base_currency),
        period=period,
        bounds=(starts, ends),
        opening=DayValue(opening_row.day, Decimal(opening_row.total_value)) if opening_row else None,
        points=points,
        history=history,
        cash_moves=cash_moves,
        symbols=symbols,
        prices=prices,
        metrics=_metrics(connection, portfolio_id, period),
    )


def write_files(figures: ReportFigures, reports_dir: Path) -> tuple[str, str]:
    """Write the HTML and CSV files (atomically); returns their paths relative to `reports_dir`."""
    folder = Path(figures.period.kind) / str(figures.portfolio_id)
    name = figures.period.label
    html_path, csv_path = (folder / f"{name}.html").as_posix(), (folder / f"{name}.csv").as_posix()
    _write_atomically(reports_dir / html_path, render_html(figures))
    _write_atomically(reports_dir / csv_path, render_csv(figures))
    return html_path, csv_path


def record(
    connection: Connection, figures: ReportFigures, reports_dir: Path, html_path: str, csv_path: str, *, now: datetime
) -> int:
    """Upsert the catalog row of (portfolio, kind, period start); returns its id."""
    html_file, csv_file = reports_dir / html_path, reports_dir / csv_path
    row = {
        "portfolio_id": figures.portfolio_id,
        "kind": figures.period.kind,
        "period_start": figures.period.start,
        "period_end": figures.period.end,
        "created_at": now,
        "html_path": html_path,
        "csv_path": csv_path,
        "html_bytes": html_file.stat().st_size,
        "csv_bytes": csv_file.stat().st_size,
        "html_sha256": _sha256(html_file),
        "csv_sha256": _sha256(csv_file),
        "figures": figures.summary(),
    }
    key = ("portfolio_id", "kind", "period_start")
    insert = dialect_insert(connection.dialect.name, REPORTS)
    connection.execute(
        insert.on_conflict_do_update(
            index_elements=list(key), set_={c: insert.excluded[c] for c in row if c not in key}
        ).values(row)
    )
    report_id: int = connection.execute(select(REPORTS.c.id).where(*(REPORTS.c[c] == row[c] for c in key))).scalar_one()
    return report_id


def _current_prices(connection: Connection, instrument_ids: list[int]) -> dict[int, Decimal]:
    """The last good price we hold, as the current valuation uses."""
    rows = connection.execute(
        select(INSTRUMENTS.c.id, INSTRUMENTS.c.last_price).where(
            INSTRUMENTS.c.id.in_(instrument_ids), INSTRUMENTS.c.last_price.is_not(None)
        )
    )
    return {i: Decimal(p) for i, p in rows}


def _closes_on(connection: Connection, instrument_ids: list[int], day: date) -> dict[int, Decimal]:
    """Each instrument's last daily close on or before `day` (a past period's end)."""
    until = datetime.combine(day + timedelta(days=1), time(0), UTC)  # daily bars start at 00:00 UTC
    latest = (
        select(BARS.c.instrument_id, func.max(BARS.c.ts).label("ts"))
        .where(BARS.c.instrument_id.in_(instrument_ids), BARS.c.interval == "1d", BARS.c.ts < until)
        .group_by(BARS.c.instrument_id)
        .subquery()
    )
    rows = connection.execute(
        select(BARS.c.instrument_id, BARS.c.close).join(
            latest,
            (BARS.c.instrument_id == latest.c.instrument_id) & (BARS.c.ts == latest.c.ts) & (BARS.c.interval == "1d"),
        )
    )
    return {i: Decimal(close) for i, close in rows}


def _metrics(connection: Connection, portfolio_id: int, period: Period) -> dict[str, Any] | None:
    """The latest metrics row computed within the period (the longest window on that day)."""
    row = connection.execute(
        select(METRICS_TABLE)
        .where(METRICS_TABLE.c.portfolio_id == portfolio_id, METRICS_TABLE.c.as_of.between(period.start, period.end))
        .order_by(METRICS_TABLE.c.as_of.desc(), METRICS_TABLE.c.window_days.desc())
        .limit(1)
    ).first()
    return {name: getattr(row, name) for name in METRIC_FIELDS} if row else None


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")  # two runs never share one
    with partial.open("w", encoding="utf-8", newline="") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
