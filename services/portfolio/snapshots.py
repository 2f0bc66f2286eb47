"""create_portfolio_snapshot: one row per portfolio and day holding that day's values.

A snapshot is taken from a fresh valuation: the portfolios are revalued first (at the same `now`),
because a summary left by the last refresh may be hours old or predate the last trades. The row is
upserted on (portfolio, day), so running it again the same day overwrites it with the latest values:
idempotent per day, and the last run of the day (the one after the close) is the one that stays.

A "day" is a New York calendar date (the market's day, as the benchmark's daily bars are keyed):
`as_of` defaults to today's date in New York at `now`, and the day's net external flow is the sum of
the cash flows whose time falls on that date in New York.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from services.engine.progress import NullReporter, ProgressReporter
from services.errors import NonRetryableError
from services.portfolio.money import money
from services.portfolio.revaluation import PORTFOLIOS, POSITIONS, revalue_portfolios
from services.scheduling.market_hours import NEW_YORK
from services.storage.db import SessionFactory
from services.storage.models import CashFlow, PortfolioSnapshot
from services.storage.upsert import dialect_insert

SNAPSHOTS = PortfolioSnapshot.__table__  # type: ignore[attr-defined]
CASH_FLOWS = CashFlow.__table__  # type: ignore[attr-defined]
CHUNK = 2000


@dataclass(frozen=True)
class SnapshotReport:
    day: date
    snapshots: int

    def summary(self) -> str:
        return f"{self.snapshots} snapshots for {self.day.isoformat()}"


class SnapshotDayInvalid(NonRetryableError):
    """Raised when a snapshot is asked for a day other than today's market day."""


def market_day(now: datetime) -> date:
    """The New York calendar date at `now`."""
    return now.astimezone(NEW_YORK).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants at which the New York date `day` starts and the next one starts."""
    start = datetime.combine(day, time(0), NEW_YORK)
    end = datetime.combine(day + timedelta(days=1), time(0), NEW_YORK)
    return start.astimezone(UTC), end.astimezone(UTC)


def create_snapshots(
    *,
    session_factory: SessionFactory,
    max_age_seconds: float,
    as_of: date | None = None,
    portfolio_ids: Sequence[int] | None = None,
    now: datetime | None = None,
    reporter: ProgressReporter | None = None,
) -> SnapshotReport:
    """Revalue, then upsert one snapshot per portfolio (every one when `portfolio_ids` is None).
    Only today's (New York) day can be snapshotted: the values are today's, and writing them under a
    past day would overwrite that day's real figures."""
    now, reporter = now or datetime.now(UTC), reporter or NullReporter()
    day = market_day(now)
    if as_of is not None and as_of != day:
        raise SnapshotDayInvalid(f"as_of {as_of} is not today ({day}): past values cannot be rebuilt from today's")
    revalue_portfolios(
        session_factory=session_factory,
        max_age_seconds=max_age_seconds,
        portfolio_ids=portfolio_ids,
        now=now,
        reporter=reporter,
    )
    starts, ends = day_bounds(day)
    with session_factory() as session:
        connection = session.connection()
        summary = select(PORTFOLIOS).order_by(PORTFOLIOS.c.id)
        held = select(POSITIONS.c.portfolio_id, func.count()).group_by(POSITIONS.c.portfolio_id)
        flows = (
            select(CASH_FLOWS.c.portfolio_id, func.sum(CASH_FLOWS.c.amount))
            .where(CASH_FLOWS.c.at >= starts, CASH_FLOWS.c.at < ends)
            .group_by(CASH_FLOWS.c.portfolio_id)
        )
        if portfolio_ids is not None:
            wanted = list(portfolio_ids)
            summary = summary.where(PORTFOLIOS.c.id.in_(wanted))
            held = held.where(POSITIONS.c.portfolio_id.in_(wanted))
            flows = flows.where(CASH_FLOWS.c.portfolio_id.in_(wanted))
        positions: dict[int, int] = {pid: count for pid, count in connection.execute(held)}
        net_flows: dict[int, Any] = {pid: total for pid, total in connection.execute(flows)}
        rows = [
            {
                "portfolio_id": p.id,
                "day": day,
                "taken_at": now,
                "cash": p.cash,
                "market_value": p.market_value,
                "total_value": p.total_value,
                "cost_basis": p.cost_basis,
                "unrealized_pnl": p.unrealized_pnl,
                "net_flow": money(Decimal(str(net_flows.get(p.id) or 0))),
                "positions": positions.get(p.id, 0),
                "stale_positions": p.stale_positions,
            }
            for p in connection.execute(summary)
        ]
        for start in range(0, len(rows), CHUNK):
            insert = dialect_insert(connection.dialect.name, SNAPSHOTS)
            replace = {c: insert.excluded[c] for c in rows[0] if c not in ("portfolio_id", "day")}
            connection.execute(
                insert.on_conflict_do_update(index_elements=["portfolio_id", "day"], set_=replace),
                rows[start : start + CHUNK],
            )
    report = SnapshotReport(day, len(rows))
    reporter.progress(1.0, report.summary())
    return report
