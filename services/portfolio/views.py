"""Portfolios as the API shows them: the account summary and each position's valuation, with the
price used, its time and its stale flag."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from services.errors import PortfolioNotFound
from services.market_data.staleness import is_stale
from services.storage.db import as_utc
from services.storage.models import Instrument, Portfolio, Position


@dataclass(frozen=True)
class PositionView:
    symbol: str
    quantity: Decimal
    average_cost: Decimal
    price: Decimal | None
    price_at: datetime | None
    price_stale: bool
    market_value: Decimal | None
    unrealized_pnl: Decimal | None
    weight: float | None


@dataclass(frozen=True)
class PortfolioView:
    id: int
    name: str
    account: str
    base_currency: str
    benchmark: str
    cash: Decimal
    market_value: Decimal
    total_value: Decimal
    cost_basis: Decimal
    unrealized_pnl: Decimal
    stale_positions: int  # as of valued_at in a list; as of now for one portfolio
    unpriced_positions: int
    valued_at: datetime | None
    positions: list[PositionView]


def list_portfolios(*, session: Session, account: str | None = None) -> list[PortfolioView]:
    """Every portfolio's summary (positions left out), by id."""
    query = select(Portfolio).order_by(col(Portfolio.id))
    if account:
        query = query.where(Portfolio.account == account)
    return [_view(portfolio, []) for portfolio in session.exec(query)]


def get_portfolio(*, session: Session, portfolio_id: int, now: datetime, max_age_s: float) -> PortfolioView:
    """One portfolio's summary and positions; raises PortfolioNotFound. A price is flagged stale by
    its age now, not only as of the last valuation: if revaluations stop, prices still age."""
    portfolio = session.get(Portfolio, portfolio_id)
    if portfolio is None:
        raise PortfolioNotFound(f"no portfolio {portfolio_id}")
    rows = session.exec(
        select(Position, Instrument.symbol, Instrument.asset_class)
        .join(Instrument, col(Instrument.id) == col(Position.instrument_id))
        .where(Position.portfolio_id == portfolio_id)
        .order_by(col(Instrument.symbol))
    ).all()
    positions = [
        PositionView(
            symbol=symbol,
            quantity=position.quantity,
            average_cost=position.average_cost,
            price=position.price,
            price_at=as_utc(position.price_at) if position.price_at else None,
            price_stale=position.price_stale
            or (position.price_at is not None and is_stale(asset_class, as_utc(position.price_at), now, max_age_s)),
            market_value=position.market_value,
            unrealized_pnl=position.unrealized_pnl,
            weight=position.weight,
        )
        for position, symbol, asset_class in rows
    ]
    view = _view(portfolio, positions)
    return replace(view, stale_positions=sum(p.price_stale for p in positions))


def _view(portfolio: Portfolio, positions: list[PositionView]) -> PortfolioView:
    return PortfolioView(
        id=portfolio.id or 0,
        name=portfolio.name,
        account=portfolio.account,
        base_currency=portfolio.base_currency,
        benchmark=portfolio.benchmark,
        cash=portfolio.cash,
        market_value=portfolio.market_value,
        total_value=portfolio.total_value,
        cost_basis=portfolio.cost_basis,
        unrealized_pnl=portfolio.unrealized_pnl,
        stale_positions=portfolio.stale_positions,
        unpriced_positions=portfolio.unpriced_positions,
        valued_at=as_utc(portfolio.valued_at) if portfolio.valued_at else None,
        positions=positions,
    )
