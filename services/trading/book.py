"""What a fill does to the books: a `trades` row, cash, and the position, in the caller's transaction.

The arithmetic is the positions rebuild's (services/portfolio/positions.py `replay`): the held lot is
replayed as an opening buy at its average cost, then the fill's trade, so the new average cost and the
realized P&L are exactly what a full rebuild from the trade history gives. Cash moves by the fill's
own amount (buy: -(quantity x price + fee); sell: quantity x price - fee), rounded to money once per
fill. A rebuild rounds the sum once, so the two agree whenever each fill's amount has at most 4
places (a product of prices and quantities with more places can differ by a rounding unit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, cast

from sqlalchemy import insert
from sqlmodel import Session, col, select

from services.portfolio.money import WIDE, ZERO
from services.portfolio.positions import replay
from services.storage.among import among
from services.storage.models import Portfolio, Position, Trade


class _Trade(NamedTuple):
    """A `trades` row, with the fields replay reads."""

    portfolio_id: int
    instrument_id: int
    side: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    executed_at: datetime
    external_id: str

    @property
    def id(self) -> str:  # what replay's errors name a trade by
        return self.external_id


class _Opening(NamedTuple):
    id: None
    portfolio_id: int
    instrument_id: int
    side: str
    quantity: Decimal
    price: Decimal
    fee: Decimal


@dataclass
class Books:
    """The portfolios and positions one processing transaction touches, locked and loaded once, and
    the trades it records, inserted together by `write_trades` (plain rows: nothing reads them back
    in the transaction, and an ORM object per trade cost more than the rest of its fill)."""

    portfolios: dict[int, Portfolio] = field(default_factory=dict)
    positions: dict[tuple[int, int], Position] = field(default_factory=dict)
    trades: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, *, session: Session, pairs: set[tuple[int, int]]) -> Books:
        """Lock the portfolios of `pairs` (portfolio, instrument) in id order (so two workers never
        deadlock on them) and read their positions in those instruments."""
        books = cls()
        portfolio_ids = sorted({portfolio for portfolio, _ in pairs})
        if not portfolio_ids:
            return books
        rows = session.exec(
            select(Portfolio)
            .where(among(session, col(Portfolio.id), portfolio_ids))
            .order_by(col(Portfolio.id))
            .with_for_update()
        ).all()
        books.portfolios = {row.id or 0: row for row in rows}
        instrument_ids = sorted({instrument for _, instrument in pairs})
        held = session.exec(
            select(Position).where(
                among(session, col(Position.portfolio_id), portfolio_ids),
                among(session, col(Position.instrument_id), instrument_ids),
            )
        ).all()
        books.positions = {(row.portfolio_id, row.instrument_id): row for row in held}
        return books

    def held(self, portfolio_id: int, instrument_id: int) -> Decimal:
        position = self.positions.get((portfolio_id, instrument_id))
        return position.quantity if position else ZERO

    def cash(self, portfolio_id: int) -> Decimal:
        return self.portfolios[portfolio_id].cash

    def record(
        self,
        *,
        session: Session,
        portfolio_id: int,
        instrument_id: int,
        side: str,
        quantity: Decimal,
        price: Decimal,
        fee: Decimal,
        executed_at: datetime,
        external_id: str,
    ) -> Decimal:
        """Record the trade, move cash and the position; returns the P&L the trade realized."""
        trade = _Trade(portfolio_id, instrument_id, side, quantity, price, fee, executed_at, external_id)
        key = (portfolio_id, instrument_id)
        position = self.positions.get(key)
        history = [cast(Trade, trade)]
        opening_cost = ZERO
        if position is not None and position.quantity > 0:
            # The fields replay reads, without building (and validating) a second ORM object.
            opening = _Opening(None, portfolio_id, instrument_id, "buy", position.quantity, position.average_cost, ZERO)
            history.insert(0, cast(Trade, opening))
            opening_cost = WIDE.multiply(position.quantity, position.average_cost)
        # Cash flows of the opening cost cancel the opening buy: what is left is this trade's amount.
        book = replay(history, [opening_cost])
        portfolio = self.portfolios[portfolio_id]
        portfolio.cash += book.cash
        portfolio.valued_at = None  # the account summary no longer holds until revalued
        lot = book.lots.get(instrument_id)
        if lot is None and position is not None:
            session.delete(position)
            del self.positions[key]
        elif lot is not None and position is None:
            position = Position(
                portfolio_id=portfolio_id,
                instrument_id=instrument_id,
                quantity=lot.quantity,
                average_cost=lot.average_cost,
            )
            self.positions[key] = position
            session.add(position)
        elif lot is not None and position is not None:
            position.quantity, position.average_cost = lot.quantity, lot.average_cost
            position.valued_at = None  # valued again by the next revaluation (as a rebuild does)
            session.add(position)
        self.trades.append(trade._asdict())
        session.add(portfolio)
        return book.realized_pnl

    def write_trades(self, *, session: Session) -> None:
        """Insert the trades recorded since the last call, in one statement."""
        if self.trades:
            session.execute(insert(Trade.__table__), self.trades)  # type: ignore[attr-defined]
            self.trades = []
