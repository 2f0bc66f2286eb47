"""Applying the linked-order rules of services/trading/brackets.py to stored orders, in the caller's
transaction: a bracket entry that fills activates its exits, an entry that ends without filling drops
them, and one OCO leg that fills or ends cancels (or, on a partial fill, shrinks) the other."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from services.portfolio.money import ZERO
from services.storage.models import Order
from services.trading.brackets import (
    Activation,
    Cancellation,
    Leg,
    LegRole,
    Resize,
    on_parent_closed,
    on_parent_filled,
    on_sibling_event,
)
from services.trading.model import OrderState
from services.trading.records import FINAL_STATE_VALUES


def leg(order: Order) -> Leg:
    return Leg(
        order_id=order.id or 0,
        role=LegRole(order.link_role or LegRole.OCO.value),
        quantity=order.quantity,
        filled_quantity=order.filled_quantity,
        state=OrderState(order.state),
    )


def apply_linked(*, session: Session, order: Order, now: datetime) -> list[Order]:
    """What `order`'s change (a fill, or its end) does to its linked orders; returns those changed."""
    if order.link_role is None:
        return []
    changed: list[Order] = []
    if order.link_role == LegRole.ENTRY.value:
        children = list(session.exec(select(Order).where(Order.parent_id == order.id).order_by(col(Order.id))))
        by_id = {child.id: child for child in children}
        legs = [leg(child) for child in children]
        actions: list[Activation | Cancellation] = []
        if order.state == OrderState.FILLED.value:
            actions = list(on_parent_filled(leg(order), legs))
        elif order.state in FINAL_STATE_VALUES:
            actions = on_parent_closed(leg(order), legs)
        for action in actions:
            child = by_id[action.order_id]
            if isinstance(action, Activation):
                child.quantity, child.remaining_quantity = action.quantity, action.quantity - child.filled_quantity
                child.state = OrderState.WORKING.value
                # It works from the next event on: the one that filled its entry is not its to fill.
                child.evaluated_through = order.evaluated_through
            else:
                _end(child, OrderState.CANCELLED, action.reason.value, now)
            child.updated_at = now
            changed.append(child)
    elif order.oco_group:
        siblings = session.exec(select(Order).where(Order.oco_group == order.oco_group, Order.id != order.id)).all()
        for sibling in siblings:
            for effect in on_sibling_event(leg(order), leg(sibling)):
                if isinstance(effect, Resize):
                    sibling.quantity = effect.quantity
                    sibling.remaining_quantity = max(effect.quantity - sibling.filled_quantity, ZERO)
                    sibling.reason = effect.reason.value
                else:
                    _end(sibling, OrderState.CANCELLED, effect.reason.value, now)
                sibling.updated_at = now
                changed.append(sibling)
    session.add_all(changed)
    return changed


def _end(order: Order, state: OrderState, reason: str, now: datetime) -> None:
    order.state, order.reason, order.remaining_quantity, order.updated_at = state.value, reason[:200], ZERO, now
