"""process_orders: working orders evaluated against the market events they have not seen, and filled.

Exactly once in effect. Orders are read in batches without locks and evaluated; those that an event
would change (a fill, a trigger, a water mark, a cancel, an expiry) are then worked in one
transaction per batch, which first takes them for itself: `SELECT ... FOR UPDATE SKIP LOCKED` on
PostgreSQL (a second worker skips them and takes the next), `BEGIN IMMEDIATE` on SQLite (one
writer at a time; the next waits, then finds the orders already through the events). Inside, each
order is evaluated again, from its locked row, against each event newer than
`orders.evaluated_through`, which moves forward in the same transaction as the fills; so an event is
evaluated once per order however often the message is delivered or however many workers
run it. Each fill's id is `<order id>:<event key>` and primary key of `fills`: a second insert of the
same fill fails the transaction instead of applying it twice. A worker killed mid-batch leaves nothing
(the transaction rolls back) and the redelivered message fills the same orders with the same ids.

In one transaction per batch, for each fill: the `fills` row, the `trades` row (external_id = fill
id), cash and the position (services/trading/book.py), the order's filled / remaining / average fill
price / state, and the linked orders' effects (services/trading/linked.py). Portfolios are locked in
id order, so two batches never deadlock.

A buy whose fill would cost more than the cash now held, or a sell of more than is now held, is
cancelled with `insufficient_cash` / `insufficient_position` (the cash or position moved since
placing). A day order is not evaluated against events at or after its expiry, and is expired by the
first run after it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from services.portfolio.money import WIDE, ZERO, price
from services.scheduling.market_hours import NyseCalendar
from services.storage.among import among
from services.storage.db import SessionFactory, as_utc
from services.storage.models import Fill, Order
from services.trading.book import Books
from services.trading.events import Event, InstrumentPrice, events_for, load_bars, load_prices, quote_event
from services.trading.fees import Execution, FeeSchedule, order_fee_increment
from services.trading.fills import evaluate
from services.trading.linked import apply_linked
from services.trading.metrics import NoTradingMetrics, TradingObserver
from services.trading.model import Liquidity, OrderState, OrderTerms, Quote, Rejection, Side
from services.trading.records import WORKING_STATES, progress_of, terms_of
from services.trading.time_in_force import can_fill_at, next_fill_window

log = logging.getLogger("tickwork.trading")


@dataclass(frozen=True)
class ProcessingRules:
    """The settings processing follows (services/settings.py: TICKWORK_ORDER_*, TICKWORK_FEE_*)."""

    fees: FeeSchedule
    participation: Decimal = Decimal("0.1")
    batch_size: int = 500
    # Up to this many orders are claimed without the lock-free read first: the read saves writes on
    # a big sweep, but costs a round of queries that a triggered run for one instrument does not need.
    direct_claim: int = 50


@dataclass
class ProcessReport:
    """What one run did, for the task's result summary."""

    orders: int = 0  # evaluated
    fills: int = 0
    filled: int = 0  # orders completely filled
    expired: int = 0
    cancelled: int = 0
    skipped: int = 0  # held by another worker (PostgreSQL), left to it
    latencies: list[float] = field(default_factory=list)  # tick-to-fill of each fill, seconds

    def summary(self) -> str:
        return (
            f"evaluated {self.orders} orders: {self.fills} fills, {self.filled} filled, {self.expired} expired, "
            f"{self.cancelled} cancelled, {self.skipped} held elsewhere"
        )


def process_orders(
    *,
    session_factory: SessionFactory,
    rules: ProcessingRules,
    calendar: NyseCalendar,
    clock: Callable[[], datetime],
    instrument_ids: Sequence[int] | None = None,
    asset_classes: Sequence[str] | None = None,
    portfolio_id: int | None = None,
    observer: TradingObserver | None = None,
    before_commit: Callable[[int], None] | None = None,
) -> ProcessReport:
    """Evaluate the working orders (of some instruments, or one portfolio, or all) and commit fills.

    `before_commit(fills)` runs inside each batch's transaction just before it commits (a test hook
    that kills the worker there: see tests/e2e/test_trading_workers.py)."""
    observer = observer or NoTradingMetrics()
    report = ProcessReport()
    with session_factory() as session:
        ids = _candidates(session, instrument_ids, asset_classes, portfolio_id)
    for start in range(0, len(ids), rules.batch_size):
        chunk = ids[start : start + rules.batch_size]
        market: Market | None = None
        if len(chunk) > rules.direct_claim:  # a few orders (one instrument's new price) are claimed at once
            with session_factory() as session:
                chunk, market = _to_write(session, chunk, rules, calendar, clock(), report)
            if not chunk:
                continue
        else:
            report.orders += len(chunk)
        done: list[tuple[Order, Event]] = []
        states: list[tuple[str, str]] = []
        with session_factory() as session:
            orders = _claim(session, chunk)
            report.skipped += len(chunk) - len(orders)
            _work(session, orders, market, rules, calendar, clock(), report, done, states)
            report.fills += len(done)
            if before_commit is not None:
                before_commit(len(done))
        committed = clock()
        for order, event in done:
            latency = (committed - event.received_at).total_seconds() if event.received_at else None
            if latency is not None:
                report.latencies.append(latency)
            observer.fill(order.type, order.side, latency)
        for order_type, state in states:
            observer.order_state(order_type, state)
    log.info("event=orders_processed %s", report.summary())
    return report


def _candidates(
    session: Session,
    instrument_ids: Sequence[int] | None,
    asset_classes: Sequence[str] | None,
    portfolio_id: int | None,
) -> list[int]:
    query = select(Order.id).where(col(Order.state).in_(WORKING_STATES)).order_by(col(Order.id))
    if instrument_ids is not None:
        query = query.where(among(session, col(Order.instrument_id), instrument_ids))
    if asset_classes is not None:
        query = query.where(col(Order.asset_class).in_(list(asset_classes)))
    if portfolio_id is not None:
        query = query.where(Order.portfolio_id == portfolio_id)
    return [i for i in session.exec(query).all() if i is not None]


def _to_write(
    session: Session,
    ids: list[int],
    rules: ProcessingRules,
    calendar: NyseCalendar,
    now: datetime,
    report: ProcessReport,
) -> tuple[list[int], Market]:
    """Those of `ids` that the events they have not seen would change (a fill, a trigger, a water
    mark, a cancel or expiry), read without locks: only they are claimed and worked, so a refresh
    that moves no order's state writes nothing. Evaluation is deterministic, so an order left out
    here finds the same nothing the next time it is read. Also the market read for them, which the
    claimed orders are worked against: an event that arrives meanwhile is newer than any it holds,
    so the orders stay short of it (evaluated_through) and the run that event sends evaluates it."""
    # Plain rows, not ORM objects: read-only, and most of them are left alone.
    table = Order.__table__  # type: ignore[attr-defined]
    query = sa_select(table).where(among(session, table.c.id, ids), table.c.state.in_(WORKING_STATES))
    orders = cast(list[Order], list(session.execute(query).all()))
    report.orders += len(orders)
    prices, bars = _market(session, orders, now)
    wanted = []
    for order in orders:
        quote = quote_event(prices[order.instrument_id]) if order.instrument_id in prices else None
        if _would_change(order, bars.get(order.instrument_id or 0, []), quote, rules, calendar, now):
            wanted.append(order.id or 0)
    session.rollback()
    return wanted, (prices, bars)


def _would_change(
    order: Order, bars: list[Event], quote: Event | None, rules: ProcessingRules, calendar: NyseCalendar, now: datetime
) -> bool:
    terms, progress = terms_of(order), progress_of(order)
    placed = as_utc(order.placed_at)
    through = as_utc(order.evaluated_through) if order.evaluated_through else placed
    expires = as_utc(order.expires_at) if order.expires_at else None
    for event in events_for(placed_at=placed, through=through, bars=bars, quote=quote):
        if expires is not None and event.at >= expires:
            break
        if not _tradable(terms, event, calendar):
            continue
        evaluation = evaluate(terms, progress, event.market, participation=rules.participation, placed_at=placed)
        if evaluation.fill_quantity > 0 or evaluation.cancel_rest or evaluation.progress != progress:
            return True
    return expires is not None and now >= expires


Market = tuple[dict[int, InstrumentPrice], dict[int, list[Event]]]  # last prices, bars by instrument


def _market(session: Session, orders: list[Order], now: datetime) -> Market:
    """The last prices of the orders' instruments, and the bars each may not have seen."""
    prices = load_prices(session=session, instrument_ids={o.instrument_id for o in orders if o.instrument_id})
    since: dict[int, datetime] = {}
    for order in orders:
        if order.instrument_id is not None:
            placed = as_utc(order.placed_at)
            since[order.instrument_id] = min(since.get(order.instrument_id, placed), placed)
    return prices, load_bars(session=session, since=since, until=now)


def _claim(session: Session, ids: list[int]) -> list[Order]:
    """The orders of `ids` still working, taken for this transaction (module docstring)."""
    query = select(Order).where(among(session, col(Order.id), ids), col(Order.state).in_(WORKING_STATES))
    if session.get_bind().dialect.name == "sqlite":
        begin_immediate(session)
        orders = list(session.exec(query))
    else:
        orders = list(session.exec(query.with_for_update(skip_locked=True)))
    # A bracket's stop-loss before its take-profit: one event reaching both is assumed a loss.
    return sorted(orders, key=lambda order: (order.link_role != "stop_loss", order.id or 0))


def begin_immediate(session: Session) -> None:
    """Start the session's SQLite transaction as the writer, waiting (busy_timeout) for the lock."""
    connection = session.connection()
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _work(
    session: Session,
    orders: list[Order],
    market: Market | None,
    rules: ProcessingRules,
    calendar: NyseCalendar,
    now: datetime,
    report: ProcessReport,
    done: list[tuple[Order, Event]],
    states: list[tuple[str, str]],
) -> None:
    if not orders:
        return
    prices, bars = market or _market(session, orders, now)
    fills: list[dict[str, Any]] = []
    books = Books.load(session=session, pairs={(o.portfolio_id, o.instrument_id or 0) for o in orders})
    executions = _executions(session, [o.id or 0 for o in orders if o.filled_quantity > 0])
    for order in orders:
        if order.state not in WORKING_STATES:  # cancelled meanwhile by a linked order in this batch
            continue
        quote = quote_event(prices[order.instrument_id]) if order.instrument_id in prices else None
        before = order.state
        earlier = executions.setdefault(order.id or 0, [])
        events = bars.get(order.instrument_id or 0, [])
        _work_one(session, order, events, quote, books, rules, calendar, now, done, fills, earlier)
        if order.state != before:
            states.append((order.type, order.state))
            report.filled += order.state == OrderState.FILLED.value
            report.expired += order.state == OrderState.EXPIRED.value
            report.cancelled += order.state == OrderState.CANCELLED.value
            for linked in apply_linked(session=session, order=order, now=now):
                states.append((linked.type, linked.state))
        elif order.link_role is not None and order.state == OrderState.PARTIALLY_FILLED.value:
            apply_linked(session=session, order=order, now=now)
    # Plain rows in one statement each: nothing reads them back in this transaction.
    books.write_trades(session=session)
    if fills:
        session.execute(sa_insert(Fill.__table__), fills)  # type: ignore[attr-defined]


def _work_one(
    session: Session,
    order: Order,
    bars: list[Event],
    quote: Event | None,
    books: Books,
    rules: ProcessingRules,
    calendar: NyseCalendar,
    now: datetime,
    done: list[tuple[Order, Event]],
    fills: list[dict[str, Any]],
    earlier: list[Execution],
) -> None:
    terms, progress = terms_of(order), progress_of(order)
    placed = as_utc(order.placed_at)
    through = as_utc(order.evaluated_through) if order.evaluated_through else placed
    expires = as_utc(order.expires_at) if order.expires_at else None
    for event in events_for(placed_at=placed, through=through, bars=bars, quote=quote):
        if expires is not None and event.at >= expires:
            break
        order.evaluated_through = event.at
        if not _tradable(terms, event, calendar):
            continue
        evaluation = evaluate(terms, progress, event.market, participation=rules.participation, placed_at=placed)
        progress = evaluation.progress
        order.triggered, order.water_mark, order.rested = progress.triggered, progress.water_mark, progress.rested
        if evaluation.fill_quantity > 0 and evaluation.fill_price is not None:
            quantity, unit = evaluation.fill_quantity, evaluation.fill_price
            # The order's fee, minimum and cap included, is charged once across its partial fills.
            execution = Execution(quantity, unit, evaluation.liquidity)
            cost = order_fee_increment(rules.fees, order.asset_class, earlier, execution)
            portfolio_id, instrument_id = order.portfolio_id, order.instrument_id or 0
            if order.side == Side.BUY.value and WIDE.multiply(quantity, unit) + cost > books.cash(portfolio_id):
                _end(order, OrderState.CANCELLED, Rejection.INSUFFICIENT_CASH.value, now)
                return
            if order.side == Side.SELL.value and quantity > books.held(portfolio_id, instrument_id):
                _end(order, OrderState.CANCELLED, Rejection.INSUFFICIENT_POSITION.value, now)
                return
            fill_id = f"{order.id}:{event.key}"
            realized = books.record(
                session=session,
                portfolio_id=portfolio_id,
                instrument_id=instrument_id,
                side=order.side,
                quantity=quantity,
                price=unit,
                fee=cost,
                executed_at=evaluation.at,
                external_id=fill_id,
            )
            fills.append(
                {
                    "id": fill_id,
                    "order_id": order.id or 0,
                    "portfolio_id": portfolio_id,
                    "instrument_id": instrument_id,
                    "side": order.side,
                    "quantity": quantity,
                    "price": unit,
                    "fee": cost,
                    "liquidity": evaluation.liquidity.value,
                    "rule": evaluation.rule,
                    "event_at": event.at,
                    "price_received_at": event.received_at,
                    "executed_at": evaluation.at,
                    "realized_pnl": realized,
                }
            )
            earlier.append(execution)
            _filled(order, quantity, unit, cost, now)
            done.append((order, event))
        if evaluation.done:
            break
        if evaluation.cancel_rest:
            _end(order, OrderState.CANCELLED, evaluation.cancel_reason or "cancelled", now)
            return
    if expires is not None and now >= expires and order.state in WORKING_STATES:
        _end(order, OrderState.EXPIRED, "day order expired at the close", now)
    order.updated_at = now
    session.add(order)


def _executions(session: Session, order_ids: list[int]) -> dict[int, list[Execution]]:
    """The earlier fills of partially filled orders, as their fee needs them."""
    if not order_ids:
        return {}
    found: dict[int, list[Execution]] = {}
    query = select(Fill).where(col(Fill.order_id).in_(order_ids)).order_by(col(Fill.executed_at), col(Fill.id))
    for fill in session.exec(query):
        found.setdefault(fill.order_id, []).append(Execution(fill.quantity, fill.price, Liquidity(fill.liquidity)))
    return found


def _tradable(terms: OrderTerms, event: Event, calendar: NyseCalendar) -> bool:
    """Whether the order may fill on this event: a quote or intraday bar at its time, a daily bar on
    the session of its day (its time is midnight UTC: the session's first instant stands for it)."""
    at = event.market.at if isinstance(event.market, Quote) else event.market.start
    if event.daily:
        at = next_fill_window(terms, at, calendar)
        if at >= event.at:
            return False
    return can_fill_at(terms, at, calendar)


def _filled(order: Order, quantity: Decimal, unit: Decimal, cost: Decimal, now: datetime) -> None:
    before = order.filled_quantity
    after = before + quantity
    with_average = order.average_fill_price or ZERO
    paid = WIDE.add(WIDE.multiply(before, with_average), WIDE.multiply(quantity, unit))
    order.average_fill_price = price(WIDE.divide(paid, after))
    order.filled_quantity, order.remaining_quantity = after, order.quantity - after
    order.fees_paid += cost
    order.state = OrderState.FILLED.value if order.remaining_quantity <= 0 else OrderState.PARTIALLY_FILLED.value
    order.updated_at = now


def _end(order: Order, state: OrderState, reason: str, now: datetime) -> None:
    order.state, order.reason, order.remaining_quantity, order.updated_at = state.value, reason[:200], ZERO, now
