"""Brackets and OCO pairs: children held until the entry fills, then cancelling (or shrinking) each other."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from services.trading.brackets import (
    Activation,
    Cancellation,
    Leg,
    LegRole,
    LinkReason,
    Resize,
    bracket_children,
    evaluation_order,
    on_parent_closed,
    on_parent_filled,
    on_sibling_event,
    validate_bracket,
)
from services.trading.model import OrderState, OrderType, Rejection, Side, TimeInForce
from tests.support.trading import order

ENTRY = order("buy", "limit", quantity="100", limit="50", time_in_force=TimeInForce.GTC)
PROFIT, LOSS = bracket_children(ENTRY, take_profit=D("55"), stop_loss=D("47"))


def leg(order_id, role, quantity, filled, state) -> Leg:
    return Leg(order_id, role, D(quantity), D(filled), state)


HELD = [leg(2, LegRole.TAKE_PROFIT, "100", "0", OrderState.NEW), leg(3, LegRole.STOP_LOSS, "100", "0", OrderState.NEW)]


def test_bracket_children_are_exits_on_the_other_side_for_the_entry_quantity():
    assert (PROFIT.side, PROFIT.type, PROFIT.limit_price, PROFIT.quantity) == (
        Side.SELL,
        OrderType.LIMIT,
        D(55),
        D(100),
    )
    assert (LOSS.side, LOSS.type, LOSS.stop_price, LOSS.time_in_force) == (
        Side.SELL,
        OrderType.STOP,
        D(47),
        TimeInForce.GTC,
    )
    _, stop_limit = bracket_children(ENTRY, take_profit=D("55"), stop_loss=D("47"), stop_loss_limit=D("46.5"))
    assert (stop_limit.type, stop_limit.limit_price) == (OrderType.STOP_LIMIT, D("46.5"))


def test_a_well_formed_bracket_is_accepted_long_and_short():
    assert validate_bracket(ENTRY, PROFIT, LOSS) is None
    short = order("sell", "market", quantity="10")
    assert validate_bracket(short, *bracket_children(short, take_profit=D("40"), stop_loss=D("60"))) is None


BAD_BRACKETS = [
    ("a_leg_with_a_bad_shape", ENTRY, PROFIT, replace(LOSS, stop_price=D(0)), Rejection.STOP_PRICE_NOT_POSITIVE),
    ("an_ioc_entry", replace(ENTRY, time_in_force=TimeInForce.IOC), PROFIT, LOSS, "bracket_time_in_force_not_allowed"),
    (
        "an_extended_hours_entry",
        replace(ENTRY, extended_hours=True, time_in_force=TimeInForce.DAY),
        PROFIT,
        LOSS,
        "bracket_time_in_force_not_allowed",
    ),
    ("take_profit_below_stop_loss", ENTRY, replace(PROFIT, limit_price=D(46)), LOSS, "bracket_prices_inverted"),
    (
        "entry_limit_outside_the_exits",
        ENTRY,
        replace(PROFIT, limit_price=D(49)),
        replace(LOSS, stop_price=D(45)),
        "bracket_prices_inverted",
    ),
    (
        "short_take_profit_above_stop_loss",
        order("sell", "market"),
        replace(PROFIT, side=Side.BUY, quantity=D(10), limit_price=D(61)),
        replace(LOSS, side=Side.BUY, quantity=D(10), stop_price=D(60)),
        "bracket_prices_inverted",
    ),
    ("exit_on_the_entry_side", ENTRY, replace(PROFIT, side=Side.BUY), LOSS, "bracket_legs_not_allowed"),
    ("exit_quantity_differs", ENTRY, PROFIT, replace(LOSS, quantity=D(50)), "bracket_legs_not_allowed"),
    ("take_profit_not_a_limit", ENTRY, replace(LOSS, stop_price=D(56)), LOSS, "bracket_legs_not_allowed"),
]


@pytest.mark.parametrize(
    ("entry", "profit", "loss", "reason"), [c[1:] for c in BAD_BRACKETS], ids=[c[0] for c in BAD_BRACKETS]
)
def test_a_malformed_bracket_is_rejected_with_its_reason(entry, profit, loss, reason):
    assert validate_bracket(entry, profit, loss) == reason


def test_children_stay_held_while_the_entry_is_partly_filled():
    # Given an entry of 100 with 40 filled and still working
    entry = leg(1, LegRole.ENTRY, "100", "40", OrderState.PARTIALLY_FILLED)
    # Then neither exit is activated yet
    assert on_parent_filled(entry, HELD) == []


def test_children_activate_for_the_whole_quantity_when_the_entry_fills():
    entry = leg(1, LegRole.ENTRY, "100", "100", OrderState.FILLED)
    assert on_parent_filled(entry, HELD) == [Activation(2, D(100)), Activation(3, D(100))]


def test_children_already_active_or_closed_are_not_activated_again():
    entry = leg(1, LegRole.ENTRY, "100", "100", OrderState.FILLED)
    children = [replace(HELD[0], state=OrderState.WORKING), replace(HELD[1], state=OrderState.CANCELLED)]
    assert on_parent_filled(entry, children) == []


def test_an_entry_that_expires_partly_filled_activates_its_children_for_what_it_filled():
    # Given a day entry that filled 40 of 100 and expired at the close
    entry = leg(1, LegRole.ENTRY, "100", "40", OrderState.EXPIRED)
    # Then the 40 shares bought are protected by both exits
    assert on_parent_closed(entry, HELD) == [Activation(2, D(40)), Activation(3, D(40))]


def test_an_entry_cancelled_unfilled_cancels_its_children():
    entry = leg(1, LegRole.ENTRY, "100", "0", OrderState.CANCELLED)
    assert on_parent_closed(entry, HELD) == [
        Cancellation(2, LinkReason.ENTRY_ENDED_UNFILLED),
        Cancellation(3, LinkReason.ENTRY_ENDED_UNFILLED),
    ]


def test_on_parent_closed_refuses_an_entry_still_working():
    with pytest.raises(ValueError, match="not closed"):
        on_parent_closed(leg(1, LegRole.ENTRY, "100", "0", OrderState.WORKING), HELD)


def test_the_take_profit_filling_cancels_the_stop_loss():
    profit = leg(2, LegRole.TAKE_PROFIT, "100", "100", OrderState.FILLED)
    loss = leg(3, LegRole.STOP_LOSS, "100", "0", OrderState.WORKING)
    assert on_sibling_event(profit, loss) == [Cancellation(3, LinkReason.SIBLING_FILLED)]


def test_a_leg_cancelled_cancels_its_sibling():
    loss = leg(3, LegRole.STOP_LOSS, "100", "0", OrderState.CANCELLED)
    profit = leg(2, LegRole.TAKE_PROFIT, "100", "0", OrderState.WORKING)
    assert on_sibling_event(loss, profit) == [Cancellation(2, LinkReason.SIBLING_CANCELLED)]


def test_a_partial_fill_shrinks_the_sibling_to_what_is_left():
    # Given the take-profit sold 30 of 100
    profit = leg(2, LegRole.TAKE_PROFIT, "100", "30", OrderState.PARTIALLY_FILLED)
    loss = leg(3, LegRole.STOP_LOSS, "100", "0", OrderState.WORKING)
    # Then the stop-loss now covers the 70 still held
    assert on_sibling_event(profit, loss) == [Resize(3, D(70), LinkReason.SIBLING_PARTIALLY_FILLED)]


def test_both_legs_partly_filled_keep_covering_the_open_quantity():
    # Given the take-profit filled 30 (the stop-loss was resized to 70), then the stop-loss filled 20
    profit = leg(2, LegRole.TAKE_PROFIT, "100", "30", OrderState.PARTIALLY_FILLED)
    loss = leg(3, LegRole.STOP_LOSS, "70", "20", OrderState.PARTIALLY_FILLED)
    # Then the take-profit becomes 30 filled + 50 open = 80, each leg covering the 50 still held
    assert on_sibling_event(loss, profit) == [Resize(2, D(80), LinkReason.SIBLING_PARTIALLY_FILLED)]
    assert on_sibling_event(profit, replace(loss, quantity=D(70))) == []


def test_nothing_happens_to_a_sibling_that_is_already_closed():
    profit = leg(2, LegRole.OCO, "10", "10", OrderState.FILLED)
    other = leg(3, LegRole.OCO, "10", "0", OrderState.CANCELLED)
    assert on_sibling_event(profit, other) == []


def test_a_plain_oco_pair_follows_the_same_rules():
    first = leg(7, LegRole.OCO, "10", "10", OrderState.FILLED)
    second = leg(8, LegRole.OCO, "10", "0", OrderState.WORKING)
    assert on_sibling_event(first, second) == [Cancellation(8, LinkReason.SIBLING_FILLED)]


def test_the_stop_loss_is_evaluated_first_when_one_bar_reaches_both_exits():
    profit, loss = (
        leg(2, LegRole.TAKE_PROFIT, "1", "0", OrderState.WORKING),
        leg(3, LegRole.STOP_LOSS, "1", "0", OrderState.WORKING),
    )
    assert evaluation_order([profit, loss]) == [loss, profit]
