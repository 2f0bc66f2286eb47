"""Reading orders, fills, risk limits and risk events for the API, the CLI and the console."""

from __future__ import annotations

from sqlalchemy import or_
from sqlmodel import Session, col, select

from services.storage.models import Fill, Order, RiskEvent
from services.trading.errors import OrderNotFound
from services.trading.records import OPEN_STATES


def list_orders(
    *,
    session: Session,
    portfolio_id: int | None = None,
    state: str | None = None,
    symbol: str | None = None,
    instrument_id: int | None = None,
    limit: int = 100,
) -> list[Order]:
    """Orders, newest first, optionally of one portfolio, state or instrument (by symbol or id)."""
    query = select(Order).order_by(col(Order.id).desc()).limit(limit)
    if portfolio_id is not None:
        query = query.where(Order.portfolio_id == portfolio_id)
    if state is not None:
        query = query.where(Order.state == state)
    if symbol is not None:
        query = query.where(Order.symbol == symbol)
    if instrument_id is not None:
        query = query.where(Order.instrument_id == instrument_id)
    return list(session.exec(query))


def open_orders(*, session: Session, portfolio_id: int | None = None, limit: int = 100) -> list[Order]:
    """Orders that may still fill (working, partially filled, or a bracket's exit waiting), newest first."""
    query = select(Order).where(col(Order.state).in_(OPEN_STATES)).order_by(col(Order.id).desc()).limit(limit)
    if portfolio_id is not None:
        query = query.where(Order.portfolio_id == portfolio_id)
    return list(session.exec(query))


def recent_fills(*, session: Session, portfolio_id: int | None = None, limit: int = 50) -> list[tuple[Fill, Order]]:
    """The newest fills with their orders (symbol, type), of one portfolio or all."""
    query = (
        select(Fill, Order)
        .join(Order, col(Order.id) == col(Fill.order_id))
        .order_by(col(Fill.executed_at).desc(), col(Fill.id).desc())
        .limit(limit)
    )
    if portfolio_id is not None:
        query = query.where(Fill.portfolio_id == portfolio_id)
    return [(fill, order) for fill, order in session.exec(query).all()]


def get_order(*, session: Session, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise OrderNotFound(f"no order {order_id}")
    return order


def children_of(*, session: Session, order_id: int) -> list[Order]:
    """A bracket entry's exits."""
    return list(session.exec(select(Order).where(Order.parent_id == order_id).order_by(col(Order.id))))


def fills_of(*, session: Session, order_id: int) -> list[Fill]:
    return list(
        session.exec(select(Fill).where(Fill.order_id == order_id).order_by(col(Fill.executed_at), col(Fill.id)))
    )


def risk_events(*, session: Session, portfolio_id: int | None = None, limit: int = 100) -> list[RiskEvent]:
    """Risk events, newest first; of one portfolio (with the kill switch's, which concern all)."""
    query = select(RiskEvent).order_by(col(RiskEvent.id).desc()).limit(limit)
    if portfolio_id is not None:
        query = query.where(or_(col(RiskEvent.portfolio_id) == portfolio_id, col(RiskEvent.portfolio_id).is_(None)))
    return list(session.exec(query))
