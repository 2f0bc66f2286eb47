"""Between the `orders` rows and the pure values of services/trading/model.py."""

from __future__ import annotations

from decimal import Decimal

from services.storage.models import Order
from services.trading.model import FINAL_STATES, OrderProgress, OrderState, OrderTerms, OrderType, Side, TimeInForce

# An order that may still fill once active; `new` covers a bracket's children before their entry fills.
OPEN_STATES = (OrderState.NEW.value, OrderState.WORKING.value, OrderState.PARTIALLY_FILLED.value)
WORKING_STATES = (OrderState.WORKING.value, OrderState.PARTIALLY_FILLED.value)
FINAL_STATE_VALUES = tuple(state.value for state in FINAL_STATES)


def terms_of(order: Order) -> OrderTerms:
    return OrderTerms(
        side=Side(order.side),
        type=OrderType(order.type),
        quantity=Decimal(order.quantity),
        limit_price=order.limit_price,
        stop_price=order.stop_price,
        trail_amount=order.trail_amount,
        trail_percent=order.trail_percent,
        time_in_force=TimeInForce(order.time_in_force),
        extended_hours=order.extended_hours,
        asset_class=order.asset_class,
    )


def progress_of(order: Order) -> OrderProgress:
    return OrderProgress(
        filled_quantity=Decimal(order.filled_quantity),
        triggered=order.triggered,
        water_mark=order.water_mark,
        rested=order.rested,
    )


def is_open(order: Order) -> bool:
    return order.state in OPEN_STATES
