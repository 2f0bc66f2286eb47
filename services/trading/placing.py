"""Placing orders (the API, the CLI and bots call `place_order`) and cancelling them.

Placing is idempotent by client order id: the same id in the same portfolio returns the order
placed first, whatever the second request says. Pre-trade checks run in a fixed order and the first
that fails rejects the order at once; a rejected order is stored too (state `rejected`, its reason),
so that asking again with the same client order id answers the same.

    1. trading halted (the kill switch, then the portfolio's halt)   trading_halted
    2. the instrument: unknown, inactive                             unknown_instrument, inactive_instrument
    3. the order's shape (services/trading/model.py validate_terms)  non_positive_quantity, ...
    4. a price to judge it by (market orders need a stored price)    no_price
    5. notional over the portfolio's max order value                 over_max_order_value
    6. today's loss at or over the portfolio's max daily loss        over_max_daily_loss
    7. a buy: notional plus fees over free cash                      insufficient_cash
       a sell: more than the free position (no shorting)             insufficient_position

Free cash is cash minus what open buy orders reserve (their remaining quantity at their reserve
price, plus its fee); the free position is the quantity held minus open sells (an OCO pair counts once).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from services.errors import PortfolioNotFound
from services.portfolio.money import WIDE, ZERO, money
from services.scheduling.market_hours import NyseCalendar
from services.storage.models import Instrument, Order, Portfolio, PortfolioSnapshot, Position
from services.trading.brackets import LegRole, bracket_children, validate_bracket
from services.trading.errors import OrderNotCancellable, OrderNotFound, OrderRequestInvalid
from services.trading.fees import FeeSchedule, fee
from services.trading.kill_switch import halted_reason
from services.trading.limits import limits_of
from services.trading.linked import apply_linked
from services.trading.model import (
    Liquidity,
    OrderState,
    OrderTerms,
    OrderType,
    Rejection,
    Side,
    validate_terms,
)
from services.trading.records import OPEN_STATES, WORKING_STATES, is_open, terms_of
from services.trading.time_in_force import expires_at

HUNDRED = Decimal(100)


class PlacingRejection(StrEnum):
    """Reasons placing adds to services/trading/model.py's Rejection."""

    NO_PRICE = "no_price"
    OVER_MAX_DAILY_LOSS = "over_max_daily_loss"


@dataclass(frozen=True)
class OrderRequest:
    """An order as asked for. `take_profit` / `stop_loss` make it a bracket (entry plus both exits)."""

    portfolio_id: int
    symbol: str
    terms: OrderTerms
    client_order_id: str | None = None
    take_profit: Decimal | None = None  # a bracket's limit exit
    stop_loss: Decimal | None = None  # a bracket's stop exit


@dataclass(frozen=True)
class Placed:
    """The order stored (new, or the one this client order id placed before) and its bracket children."""

    order: Order
    created: bool
    children: tuple[Order, ...] = ()

    @property
    def rejected(self) -> bool:
        return self.order.state == OrderState.REJECTED.value


def place_order(
    *,
    session: Session,
    request: OrderRequest,
    placed_by: str,
    now: datetime,
    fees: FeeSchedule,
    calendar: NyseCalendar,
) -> Placed:
    """Check and store one order (and a bracket's exits); the caller commits."""
    client_order_id = request.client_order_id or uuid.uuid4().hex
    earlier = _by_client_id(session, request.portfolio_id, client_order_id)
    if earlier is not None:
        return Placed(earlier, created=False, children=tuple(_children(session, earlier)))
    portfolio = session.get(Portfolio, request.portfolio_id)
    if portfolio is None:
        raise PortfolioNotFound(f"no portfolio {request.portfolio_id}")
    instrument = session.exec(select(Instrument).where(Instrument.symbol == request.symbol)).first()
    terms = replace(request.terms, asset_class=instrument.asset_class) if instrument else request.terms
    bracket = request.take_profit is not None or request.stop_loss is not None
    if bracket and (request.take_profit is None or request.stop_loss is None):
        raise OrderRequestInvalid("a bracket needs both take_profit and stop_loss")
    reason = pre_trade_rejection(session=session, portfolio=portfolio, instrument=instrument, terms=terms, fees=fees)
    if reason is None and bracket:
        reason = _bracket_rejection(terms, request)
    order = _new_order(portfolio.id or 0, instrument, request.symbol, terms, client_order_id, placed_by, now, calendar)
    order.reserve_price = reserve_price(terms, instrument.last_price if instrument else None)
    if reason is not None:
        order.state, order.reason, order.remaining_quantity = OrderState.REJECTED.value, reason, ZERO
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:  # placed concurrently with the same client order id: the first one stands
        earlier = _by_client_id(session, request.portfolio_id, client_order_id)
        if earlier is None:
            raise
        return Placed(earlier, created=False, children=tuple(_children(session, earlier)))
    children: list[Order] = []
    if bracket and reason is None:
        children = _bracket_children(session, order, request, instrument, placed_by, now, calendar)
    return Placed(order, created=True, children=tuple(children))


def place_oco(
    *,
    session: Session,
    first: OrderRequest,
    second: OrderRequest,
    placed_by: str,
    now: datetime,
    fees: FeeSchedule,
    calendar: NyseCalendar,
) -> tuple[Placed, Placed]:
    """Two orders of which the first to fill (or be cancelled) cancels the other; each is checked on
    its own and both share one OCO group. If either is rejected the other is cancelled with it."""
    one = place_order(session=session, request=first, placed_by=placed_by, now=now, fees=fees, calendar=calendar)
    other = place_order(session=session, request=second, placed_by=placed_by, now=now, fees=fees, calendar=calendar)
    if one.created or other.created:
        group = f"oco:{one.order.id}"
        for placed in (one, other):
            placed.order.oco_group, placed.order.link_role = group, "oco"
        if one.rejected != other.rejected:
            survivor = other.order if one.rejected else one.order
            _finish(survivor, OrderState.CANCELLED, "oco_sibling_rejected", now)
        session.add_all([one.order, other.order])
        session.flush()
    return one, other


def cancel_order(*, session: Session, order_id: int, now: datetime, reason: str = "cancelled") -> Order:
    """Cancel an open order (its unfilled rest), with its linked orders' effects (a bracket entry's
    exits dropped, or activated for what it filled; an OCO sibling cancelled). Raises OrderNotFound,
    or OrderNotCancellable when it is already final."""
    order = session.get(Order, order_id, with_for_update=True)
    if order is None:
        raise OrderNotFound(f"no order {order_id}")
    if not is_open(order):
        raise OrderNotCancellable(f"order {order_id} is {order.state}: only open orders can be cancelled")
    _finish(order, OrderState.CANCELLED, reason, now)
    session.add(order)
    apply_linked(session=session, order=order, now=now)
    session.flush()
    return order


def cancel_open_orders(*, session: Session, portfolio_id: int, now: datetime, reason: str) -> list[int]:
    """Cancel every open order of a portfolio (the risk manager, on a drawdown breach); their ids."""
    orders = session.exec(
        select(Order).where(Order.portfolio_id == portfolio_id, col(Order.state).in_(OPEN_STATES)).with_for_update()
    ).all()
    for order in orders:
        _finish(order, OrderState.CANCELLED, reason, now)
        session.add(order)
    session.flush()
    return [order.id for order in orders if order.id is not None]


# -- pre-trade checks ---------------------------------------------------------------------------------


def pre_trade_rejection(
    *, session: Session, portfolio: Portfolio, instrument: Instrument | None, terms: OrderTerms, fees: FeeSchedule
) -> str | None:
    """The first pre-trade check the order fails (module docstring), or None."""
    portfolio_id = portfolio.id or 0
    if halted_reason(session=session, portfolio_id=portfolio_id):
        return Rejection.TRADING_HALTED.value
    if instrument is None:
        return Rejection.UNKNOWN_INSTRUMENT.value
    if not instrument.active or instrument.unknown_at is not None:
        return Rejection.INACTIVE_INSTRUMENT.value
    shape = validate_terms(terms)
    if shape is not None:
        return shape.value
    unit = reserve_price(terms, instrument.last_price)
    if unit is None:
        return PlacingRejection.NO_PRICE.value
    notional = WIDE.multiply(terms.quantity, unit)
    limits = limits_of(session=session, portfolio_id=portfolio_id)
    if limits.max_order_value is not None and notional > limits.max_order_value:
        return Rejection.OVER_MAX_ORDER_VALUE.value
    if limits.max_daily_loss is not None and daily_loss(session=session, portfolio=portfolio) >= limits.max_daily_loss:
        return PlacingRejection.OVER_MAX_DAILY_LOSS.value
    if terms.side == Side.BUY:
        cost = notional + fee(fees, terms.asset_class, terms.quantity, unit, Liquidity.TAKER)
        if cost > free_cash(session=session, portfolio=portfolio, fees=fees):
            return Rejection.INSUFFICIENT_CASH.value
    elif terms.quantity > free_position(session=session, portfolio_id=portfolio_id, instrument_id=instrument.id or 0):
        return Rejection.INSUFFICIENT_POSITION.value
    return None


def reserve_price(terms: OrderTerms, last: Decimal | None) -> Decimal | None:
    """The unit price an order is judged (and a buy reserves cash) by: its limit when it has one,
    else the worse of its stop and the last price, else the last price."""
    if terms.type in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        return terms.limit_price
    if terms.type == OrderType.STOP and terms.stop_price is not None:
        return max(terms.stop_price, last) if last is not None and terms.side == Side.BUY else terms.stop_price
    if last is None:
        return None
    if terms.type == OrderType.TRAILING_STOP and terms.side == Side.BUY:
        trail = terms.trail_amount if terms.trail_amount is not None else last * (terms.trail_percent or ZERO) / HUNDRED
        return last + trail
    return last


def free_cash(*, session: Session, portfolio: Portfolio, fees: FeeSchedule) -> Decimal:
    """Cash minus what the portfolio's open buy orders reserve."""
    open_buys = session.exec(
        select(Order).where(
            Order.portfolio_id == portfolio.id, Order.side == Side.BUY.value, col(Order.state).in_(OPEN_STATES)
        )
    ).all()
    reserved = ZERO
    for order in open_buys:
        if order.reserve_price is not None and order.remaining_quantity > 0:
            reserved += WIDE.multiply(order.remaining_quantity, order.reserve_price)
            reserved += fee(fees, order.asset_class, order.remaining_quantity, order.reserve_price, Liquidity.TAKER)
    return portfolio.cash - reserved


def free_position(*, session: Session, portfolio_id: int, instrument_id: int) -> Decimal:
    """The quantity held minus what open sells will take (an OCO pair, a bracket's exits, count once)."""
    held = session.exec(
        select(col(Position.quantity)).where(
            Position.portfolio_id == portfolio_id, Position.instrument_id == instrument_id
        )
    ).first()
    sells = session.exec(
        select(Order).where(
            Order.portfolio_id == portfolio_id,
            Order.instrument_id == instrument_id,
            Order.side == Side.SELL.value,
            col(Order.state).in_(WORKING_STATES),
        )
    ).all()
    by_group: dict[str, Decimal] = {}
    for order in sells:
        group = order.oco_group or f"order:{order.id}"
        by_group[group] = max(by_group.get(group, ZERO), order.remaining_quantity)
    return (held or ZERO) - sum(by_group.values(), ZERO)


def daily_loss(*, session: Session, portfolio: Portfolio) -> Decimal:
    """How much the portfolio is down today: its last daily snapshot's total value minus its value
    now (cash plus positions at the stored prices); zero without a snapshot, or when up."""
    previous = session.exec(
        select(col(PortfolioSnapshot.total_value))
        .where(PortfolioSnapshot.portfolio_id == portfolio.id)
        .order_by(col(PortfolioSnapshot.day).desc())
        .limit(1)
    ).first()
    if previous is None:
        return ZERO
    held = session.execute(
        sa_select(func.coalesce(func.sum(col(Position.quantity) * col(Instrument.last_price)), 0))
        .join(Instrument, col(Instrument.id) == Position.instrument_id)
        .where(col(Position.portfolio_id) == portfolio.id)
    ).scalar_one()
    return max(previous - money(portfolio.cash + Decimal(held)), ZERO)


# -- building rows ------------------------------------------------------------------------------------


def _new_order(
    portfolio_id: int,
    instrument: Instrument | None,
    symbol: str,
    terms: OrderTerms,
    client_order_id: str,
    placed_by: str,
    now: datetime,
    calendar: NyseCalendar,
) -> Order:
    expires = expires_at(terms, now, calendar) if validate_terms(terms) is None else None
    return Order(
        portfolio_id=portfolio_id,
        instrument_id=instrument.id if instrument else None,
        symbol=symbol[:32],
        client_order_id=client_order_id[:64],
        side=terms.side.value,
        type=terms.type.value,
        quantity=terms.quantity,
        limit_price=terms.limit_price,
        stop_price=terms.stop_price,
        trail_amount=terms.trail_amount,
        trail_percent=terms.trail_percent,
        time_in_force=terms.time_in_force.value,
        extended_hours=terms.extended_hours,
        asset_class=terms.asset_class,
        state=OrderState.WORKING.value,
        remaining_quantity=terms.quantity,
        # The price event current when the order is placed has been seen: it fills on the next one.
        evaluated_through=(instrument.last_price_at if instrument and instrument.last_price_at else now),
        expires_at=expires,
        placed_at=now,
        updated_at=now,
        placed_by=placed_by[:100],
    )


def _bracket_rejection(terms: OrderTerms, request: OrderRequest) -> str | None:
    take_profit, stop_loss = bracket_children(
        terms, take_profit=request.take_profit or ZERO, stop_loss=request.stop_loss or ZERO
    )
    reason = validate_bracket(terms, take_profit, stop_loss)
    return reason.value if reason else None


def _bracket_children(
    session: Session,
    entry: Order,
    request: OrderRequest,
    instrument: Instrument | None,
    placed_by: str,
    now: datetime,
    calendar: NyseCalendar,
) -> list[Order]:
    take_profit, stop_loss = bracket_children(
        terms_of(entry), take_profit=request.take_profit or ZERO, stop_loss=request.stop_loss or ZERO
    )
    legs = ((LegRole.TAKE_PROFIT.value, take_profit), (LegRole.STOP_LOSS.value, stop_loss))
    group = f"bracket:{entry.id}"
    entry.link_role, entry.oco_group = LegRole.ENTRY.value, None
    children = []
    for role, terms in legs:
        child = _new_order(
            entry.portfolio_id,
            instrument,
            entry.symbol,
            terms,
            f"{entry.client_order_id}:{role}",
            placed_by,
            now,
            calendar,
        )
        # Inactive (new) until the entry fills; then they work as an OCO pair.
        child.state, child.parent_id, child.link_role, child.oco_group = OrderState.NEW.value, entry.id, role, group
        child.reserve_price = reserve_price(terms, instrument.last_price if instrument else None)
        children.append(child)
    session.add_all([entry, *children])
    session.flush()
    return children


def _finish(order: Order, state: OrderState, reason: str, now: datetime) -> None:
    order.state, order.reason, order.updated_at = state.value, reason[:200], now
    order.remaining_quantity = ZERO if state != OrderState.FILLED else order.remaining_quantity


def _by_client_id(session: Session, portfolio_id: int, client_order_id: str) -> Order | None:
    return session.exec(
        select(Order).where(Order.portfolio_id == portfolio_id, Order.client_order_id == client_order_id[:64])
    ).first()


def _children(session: Session, order: Order) -> list[Order]:
    return list(session.exec(select(Order).where(Order.parent_id == order.id).order_by(col(Order.id))))
