"""A bot's position, followed through the orders it placed (process_orders fills them, not the bot).

Each run starts here: the entry order filled makes the bot in position (size and price from the
fill); an exit filled — the bracket's stop-loss or take-profit, a trailing stop, or the sell the
strategy asked for — makes it flat again and books the round trip's realized P&L (exit minus entry,
less both orders' fees) into the day's and the total P&L, once: the order ids are cleared in the
same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session, col, select

from services.storage.models import BotState, Order
from services.trading.model import OrderState

ZERO = Decimal(0)
OPEN = frozenset({OrderState.NEW.value, OrderState.WORKING.value, OrderState.PARTIALLY_FILLED.value})
DEAD = frozenset({OrderState.CANCELLED.value, OrderState.EXPIRED.value, OrderState.REJECTED.value})


@dataclass(frozen=True)
class Followed:
    """What following the orders found."""

    pending_entry: bool = False  # the entry is still working: the bot waits for it
    closed_by: str | None = None  # stop_loss | take_profit | exit: the position just closed
    realized: Decimal = ZERO
    open_exits: tuple[Order, ...] = ()  # working exits that protect the position (bracket legs, trailing stop)


def follow_position(*, session: Session, state: BotState) -> Followed:
    """Bring `state` up to date with its orders (in the caller's transaction)."""
    entry = session.get(Order, state.entry_order_id) if state.entry_order_id else None
    if entry is None:
        _flat(state)
        return Followed()
    if entry.state in OPEN and entry.filled_quantity == 0:
        return Followed(pending_entry=True)
    if entry.state in DEAD and entry.filled_quantity == 0:
        _flat(state)
        return Followed()
    if entry.state in OPEN:  # partly filled: wait for the rest before managing the position
        return Followed(pending_entry=True)
    state.in_position, state.position_size = True, entry.filled_quantity
    state.entry_price = entry.average_fill_price
    exits = list(session.exec(select(Order).where(Order.parent_id == entry.id).order_by(col(Order.id))))
    if state.exit_order_id:
        exit_order = session.get(Order, state.exit_order_id)
        if exit_order is not None:
            exits.append(exit_order)
    for exit_order in exits:
        if exit_order.state == OrderState.FILLED.value:
            realized = _round_trip(entry, exit_order)
            state.daily_pnl += realized
            state.total_pnl += realized
            _flat(state)
            return Followed(closed_by=exit_order.link_role or "exit", realized=realized)
    if state.exit_order_id and all(o.state in DEAD for o in exits if o.id == state.exit_order_id):
        state.exit_order_id = None  # a cancelled or rejected exit: still in position, unprotected by it
    return Followed(open_exits=tuple(o for o in exits if o.state in OPEN))


def _round_trip(entry: Order, exit_order: Order) -> Decimal:
    quantity = min(entry.filled_quantity, exit_order.filled_quantity)
    gross = ((exit_order.average_fill_price or ZERO) - (entry.average_fill_price or ZERO)) * quantity
    return (gross - entry.fees_paid - exit_order.fees_paid).quantize(Decimal("0.0001"))


def _flat(state: BotState) -> None:
    state.in_position, state.position_size, state.entry_price = False, ZERO, None
    state.entry_order_id, state.exit_order_id = None, None
