"""Linked orders as pure rules: a bracket (entry, then a take-profit limit and a stop-loss stop that
cancel each other) and a plain OCO pair. The functions answer what must happen to the other orders
when one of them changes; the persistence layer applies the answer in the same transaction.

- Children are held (state `new`) until the entry is completely filled, then activated for the entry's
  quantity (Lean's BracketOrder: "when the entry order completely fills"; Alpaca: the exit legs are
  activated once the entry is filled). An entry that ends (cancelled, expired) after a partial fill
  activates its children for the quantity it did fill, so no filled share is left unprotected; one that
  ends with nothing filled cancels them.
- One leg filled, cancelled, expired or rejected cancels its sibling (Alpaca: "Canceling one leg of a
  bracket order will cancel the other leg too"). A partial fill of one leg does not cancel the other but
  shrinks it to what the filling leg has left, so both always cover exactly the open quantity (IBKR's
  OCA groups, type "reduce"): a partly taken profit keeps its stop-loss for the rest.
- When one bar reaches both legs, the stop-loss is evaluated first: the bar does not tell which came
  first, and the worse outcome is the one assumed (as the fill rules assume for a bar's high and low).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from services.trading.model import (
    FINAL_STATES,
    ZERO,
    OrderState,
    OrderTerms,
    OrderType,
    Rejection,
    Side,
    TimeInForce,
    validate_terms,
)


class LegRole(StrEnum):
    ENTRY = "entry"
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"
    OCO = "oco"  # a leg of a plain OCO pair


class LinkReason(StrEnum):
    """Why a linked order was cancelled or resized (stored with it, next to the rejection reasons)."""

    SIBLING_FILLED = "oco_sibling_filled"
    SIBLING_CANCELLED = "oco_sibling_cancelled"
    SIBLING_PARTIALLY_FILLED = "oco_sibling_partially_filled"
    ENTRY_ENDED_UNFILLED = "bracket_entry_ended_unfilled"


@dataclass(frozen=True)
class Leg:
    """One linked order as the rules need to see it."""

    order_id: int
    role: LegRole
    quantity: Decimal
    filled_quantity: Decimal
    state: OrderState

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled_quantity

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True)
class Activation:
    """A held child starts working, for `quantity`."""

    order_id: int
    quantity: Decimal


@dataclass(frozen=True)
class Cancellation:
    order_id: int
    reason: LinkReason


@dataclass(frozen=True)
class Resize:
    """A working leg's quantity becomes `quantity` (what it has filled plus what it may still fill)."""

    order_id: int
    quantity: Decimal
    reason: LinkReason


def bracket_children(
    entry: OrderTerms, *, take_profit: Decimal, stop_loss: Decimal, stop_loss_limit: Decimal | None = None
) -> tuple[OrderTerms, OrderTerms]:
    """The take-profit limit and the stop-loss stop (or stop-limit) of a bracket: the opposite side, the
    entry's quantity and time in force."""
    exit_side = Side.SELL if entry.side == Side.BUY else Side.BUY
    profit = OrderTerms(
        exit_side,
        OrderType.LIMIT,
        entry.quantity,
        limit_price=take_profit,
        time_in_force=entry.time_in_force,
        asset_class=entry.asset_class,
    )
    loss = OrderTerms(
        exit_side,
        OrderType.STOP if stop_loss_limit is None else OrderType.STOP_LIMIT,
        entry.quantity,
        limit_price=stop_loss_limit,
        stop_price=stop_loss,
        time_in_force=entry.time_in_force,
        asset_class=entry.asset_class,
    )
    return profit, loss


def validate_bracket(entry: OrderTerms, take_profit: OrderTerms, stop_loss: OrderTerms) -> Rejection | None:
    """The reason a bracket is refused, or None: each order's own shape first, then the bracket's."""
    for terms in (entry, take_profit, stop_loss):
        reason = validate_terms(terms)
        if reason:
            return reason
    # The children wait for the entry, so the entry must be able to wait too (Alpaca: day or gtc only).
    if entry.time_in_force not in (TimeInForce.DAY, TimeInForce.GTC) or entry.extended_hours:
        return Rejection.BRACKET_TIME_IN_FORCE_NOT_ALLOWED
    exit_side = Side.SELL if entry.side == Side.BUY else Side.BUY
    profit, loss = take_profit.limit_price, stop_loss.stop_price
    if (
        take_profit.type != OrderType.LIMIT
        or stop_loss.type not in (OrderType.STOP, OrderType.STOP_LIMIT)
        or take_profit.side != exit_side
        or stop_loss.side != exit_side
        or take_profit.quantity != entry.quantity
        or stop_loss.quantity != entry.quantity
        or profit is None
        or loss is None
    ):
        return Rejection.BRACKET_LEGS_NOT_ALLOWED
    # A long's take-profit sits above its stop-loss, a short's below, and a limit entry's price between them.
    inverted = profit <= loss if entry.side == Side.BUY else profit >= loss
    if inverted or _crosses_entry(entry, profit, loss):
        return Rejection.BRACKET_PRICES_INVERTED
    return None


def on_parent_filled(entry: Leg, children: Sequence[Leg]) -> list[Activation]:
    """After the entry filled (completely or in part): the held children to activate, if any."""
    if entry.state != OrderState.FILLED:
        return []  # still working with a partial fill: the children wait for the rest
    return [Activation(child.order_id, entry.filled_quantity) for child in children if child.state == OrderState.NEW]


def on_parent_closed(entry: Leg, children: Sequence[Leg]) -> list[Activation | Cancellation]:
    """After the entry was cancelled, expired or rejected: protect what it filled, or drop the children."""
    if entry.state not in (OrderState.CANCELLED, OrderState.EXPIRED, OrderState.REJECTED):
        raise ValueError(f"the entry is {entry.state}, not closed")
    held = [child for child in children if child.state == OrderState.NEW]
    if entry.filled_quantity > ZERO:
        return [Activation(child.order_id, entry.filled_quantity) for child in held]
    return [Cancellation(child.order_id, LinkReason.ENTRY_ENDED_UNFILLED) for child in held]


def on_sibling_event(changed: Leg, sibling: Leg) -> list[Cancellation | Resize]:
    """After one leg of an OCO pair (a bracket's exits, or a plain pair) filled or closed: what happens
    to the other."""
    if sibling.final:
        return []
    if changed.state == OrderState.FILLED:
        return [Cancellation(sibling.order_id, LinkReason.SIBLING_FILLED)]
    if changed.state in (OrderState.CANCELLED, OrderState.EXPIRED, OrderState.REJECTED):
        return [Cancellation(sibling.order_id, LinkReason.SIBLING_CANCELLED)]
    if changed.state == OrderState.PARTIALLY_FILLED and sibling.remaining > changed.remaining:
        resized = sibling.filled_quantity + changed.remaining
        return [Resize(sibling.order_id, resized, LinkReason.SIBLING_PARTIALLY_FILLED)]
    return []


def evaluation_order(legs: Sequence[Leg]) -> list[Leg]:
    """The order to evaluate a bracket's exits against one event: the stop-loss first."""
    return sorted(legs, key=lambda leg: leg.role != LegRole.STOP_LOSS)


def _crosses_entry(entry: OrderTerms, profit: Decimal, loss: Decimal) -> bool:
    # With a limit entry, the take-profit must be beyond it and the stop-loss short of it.
    if entry.limit_price is None:
        return False
    if entry.side == Side.BUY:
        return not (loss < entry.limit_price < profit)
    return not (profit < entry.limit_price < loss)
