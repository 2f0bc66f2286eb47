"""revalue_portfolios (refresh_portfolio, and every portfolio after a price refresh): the valuation
columns of positions and each portfolio's account summary, written from the prices we hold.

Built for 10,000 portfolios of 20 positions in seconds: prices are read once (every portfolio is
valued against the same prices), then portfolios go in chunks, each chunk one transaction: one
SELECT of its positions, the valuation in Python (`value_portfolio`), and bulk UPDATEs of its
positions and portfolios. Re-running overwrites the same values: it is idempotent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.engine import Connection

from services.engine.progress import NullReporter, ProgressReporter, stop_if_cancelled
from services.portfolio.valuation import Holding, PortfolioValue, value_portfolio
from services.storage.bulk_update import bulk_update
from services.storage.db import SessionFactory, as_utc
from services.storage.models import Instrument, Portfolio, Position

CHUNK = 500  # portfolios per transaction: ~10,000 positions, a fraction of a second of locks

POSITIONS = Position.__table__  # type: ignore[attr-defined]
PORTFOLIOS = Portfolio.__table__  # type: ignore[attr-defined]
INSTRUMENTS = Instrument.__table__  # type: ignore[attr-defined]
POSITION_COLUMNS = ("price", "price_at", "price_stale", "market_value", "unrealized_pnl", "weight", "valued_at")
PORTFOLIO_COLUMNS = (
    "cash",
    "market_value",
    "total_value",
    "cost_basis",
    "unrealized_pnl",
    "stale_positions",
    "unpriced_positions",
    "valued_at",
)


@dataclass
class RevaluationReport:
    portfolios: int = 0
    positions: int = 0
    stale_positions: int = 0
    unpriced_positions: int = 0

    def summary(self) -> str:
        return (
            f"revalued {self.portfolios} portfolios, {self.positions} positions "
            f"({self.stale_positions} stale, {self.unpriced_positions} unpriced)"
        )


@dataclass(frozen=True, slots=True)
class _Price:
    asset_class: str
    price: Decimal | None
    price_at: datetime | None


def revalue_portfolios(
    *,
    session_factory: SessionFactory,
    max_age_seconds: float,
    portfolio_ids: Sequence[int] | None = None,
    now: datetime | None = None,
    reporter: ProgressReporter | None = None,
    chunk: int = CHUNK,
) -> RevaluationReport:
    """Value `portfolio_ids` (every portfolio when None) at `now` and store the results."""
    now, reporter = now or datetime.now(UTC), reporter or NullReporter()
    report = RevaluationReport()
    with session_factory() as session:
        connection = session.connection()
        ids = _portfolio_ids(connection, portfolio_ids)
        prices = _prices(connection, ids if portfolio_ids is not None else None)
    for start in range(0, len(ids), chunk):
        stop_if_cancelled(reporter)
        reporter.progress(start / max(len(ids), 1), f"revaluing portfolios {start}/{len(ids)}")
        with session_factory() as session:
            _revalue_chunk(session.connection(), ids[start : start + chunk], prices, now, max_age_seconds, report)
    reporter.progress(1.0, report.summary())
    return report


def _portfolio_ids(connection: Connection, wanted: Sequence[int] | None) -> list[int]:
    query = select(PORTFOLIOS.c.id).order_by(PORTFOLIOS.c.id)
    if wanted is not None:
        query = query.where(PORTFOLIOS.c.id.in_(list(wanted)))
    return list(connection.execute(query).scalars())


def _prices(connection: Connection, portfolio_ids: list[int] | None) -> dict[int, _Price]:
    """The last price of every instrument the portfolios hold, read once."""
    held = select(POSITIONS.c.instrument_id)
    if portfolio_ids is not None:
        held = held.where(POSITIONS.c.portfolio_id.in_(portfolio_ids))
    query = select(
        INSTRUMENTS.c.id, INSTRUMENTS.c.asset_class, INSTRUMENTS.c.last_price, INSTRUMENTS.c.last_price_at
    ).where(INSTRUMENTS.c.id.in_(held.distinct()))
    return {
        row.id: _Price(row.asset_class, row.last_price, as_utc(row.last_price_at) if row.last_price_at else None)
        for row in connection.execute(query)
    }


def _revalue_chunk(
    connection: Connection,
    ids: list[int],
    prices: dict[int, _Price],
    now: datetime,
    max_age_seconds: float,
    report: RevaluationReport,
) -> None:
    # Locking the chunk's portfolio rows (in id order) keeps rebuild_positions from changing a
    # quantity between the read below and the write of its valuation.
    locked = select(PORTFOLIOS.c.id, PORTFOLIOS.c.cash).where(PORTFOLIOS.c.id.in_(ids)).order_by(PORTFOLIOS.c.id)
    cash: dict[int, Decimal] = {pid: amount for pid, amount in connection.execute(locked.with_for_update())}
    rows = connection.execute(
        select(
            POSITIONS.c.id,
            POSITIONS.c.portfolio_id,
            POSITIONS.c.instrument_id,
            POSITIONS.c.quantity,
            POSITIONS.c.average_cost,
        ).where(POSITIONS.c.portfolio_id.in_(ids))
    ).all()  # one fetch: iterating the result would fetch row by row
    holdings: dict[int, list[Holding]] = defaultdict(list)
    unknown = _Price("", None, None)
    for position_id, portfolio_id, instrument_id, quantity, average_cost in rows:
        known = prices.get(instrument_id, unknown)
        holdings[portfolio_id].append(
            Holding(position_id, instrument_id, known.asset_class, quantity, average_cost, known.price, known.price_at)
        )
    position_rows: list[tuple] = []
    portfolio_rows: list[tuple] = []
    for portfolio_id in ids:
        if portfolio_id not in cash:  # deleted since the ids were read
            continue
        value = value_portfolio(
            holdings.get(portfolio_id, []), cash=cash[portfolio_id], now=now, max_age_seconds=max_age_seconds
        )
        position_rows.extend(
            (p.position_id, p.price, p.price_at, p.stale, p.market_value, p.unrealized_pnl, p.weight, now)
            for p in value.positions
        )
        portfolio_rows.append(_summary_row(portfolio_id, value, now))
        report.portfolios += 1
        report.positions += len(value.positions)
        report.stale_positions += value.stale_positions
        report.unpriced_positions += value.unpriced_positions
    bulk_update(connection, POSITIONS, "id", POSITION_COLUMNS, position_rows, within=("portfolio_id", ids))
    bulk_update(connection, PORTFOLIOS, "id", PORTFOLIO_COLUMNS, portfolio_rows)


def _summary_row(portfolio_id: int, value: PortfolioValue, now: datetime) -> tuple:
    return (
        portfolio_id,
        value.cash,
        value.market_value,
        value.total_value,
        value.cost_basis,
        value.unrealized_pnl,
        value.stale_positions,
        value.unpriced_positions,
        now,
    )
