"""Valuation and position replay, pure, against figures worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from services.errors import TradeHistoryInvalid
from services.portfolio.money import money
from services.portfolio.positions import replay
from services.portfolio.valuation import Holding, value_portfolio
from services.storage.models import Trade

SATURDAY_NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # NYSE closed since Friday 21:00 UTC
FRIDAY_1559 = datetime(2026, 11, 20, 20, 59, tzinfo=UTC)
LIMIT = 900.0


def holding(pid, asset_class, quantity, cost, price=None, at=None) -> Holding:
    return Holding(pid, pid * 10, asset_class, D(quantity), D(cost), D(price) if price else None, at)


def test_a_portfolio_is_valued_position_by_position():
    # Given a fresh crypto price, a Friday equity price on a Saturday, a stale crypto price, no price.
    holdings = [
        holding(1, "crypto", "10", "100", "110.5", SATURDAY_NOON - timedelta(minutes=1)),
        holding(2, "equity", "3", "50", "40.123456", FRIDAY_1559),
        holding(3, "crypto", "2", "10", "12", SATURDAY_NOON - timedelta(hours=1)),
        holding(4, "equity", "5", "20"),
    ]
    value = value_portfolio(holdings, cash=D("1000"), now=SATURDAY_NOON, max_age_seconds=LIMIT)
    a, b, c, d = value.positions
    # Then each market value is quantity x price to 4 places, P&L is against quantity x average cost,
    assert (a.market_value, a.unrealized_pnl, a.stale) == (D("1105.0000"), D("105.0000"), False)
    assert (b.market_value, b.unrealized_pnl, b.stale) == (D("120.3704"), D("-29.6296"), False)
    assert (c.market_value, c.unrealized_pnl, c.stale) == (D("24.0000"), D("4.0000"), True)
    # the unpriced position has no value and no weight, but its cost is in the cost basis,
    assert (d.market_value, d.unrealized_pnl, d.weight, d.price) == (None, None, None, None)
    # and the summary adds the rows up, cash included in the total and in the weights.
    assert value.market_value == D("1249.3704")
    assert value.total_value == D("2249.3704")
    assert value.cost_basis == D("1270.0000")
    assert value.unrealized_pnl == D("79.3704")
    assert (value.stale_positions, value.unpriced_positions) == (1, 1)
    assert a.weight == pytest.approx(1105 / 2249.3704, rel=1e-12)
    assert sum(p.weight or 0 for p in value.positions) + 1000 / 2249.3704 == pytest.approx(1.0)


def test_a_stale_price_is_used_and_flagged():
    old = SATURDAY_NOON - timedelta(days=2)
    [position] = value_portfolio(
        [holding(1, "crypto", "1", "1", "2", old)], cash=D(0), now=SATURDAY_NOON, max_age_seconds=LIMIT
    ).positions
    assert (position.market_value, position.price, position.price_at, position.stale) == (D("2.0000"), D(2), old, True)


def test_money_rounds_half_to_even():
    assert money(D("0.00005")) == D("0.0000")
    assert money(D("0.00015")) == D("0.0002")
    assert money(D("-2.00025")) == D("-2.0002")


def test_weights_are_none_when_the_total_is_not_positive():
    value = value_portfolio(
        [holding(1, "crypto", "1", "10", "5", SATURDAY_NOON)], cash=D("-10"), now=SATURDAY_NOON, max_age_seconds=LIMIT
    )
    assert value.total_value == D("-5.0000") and value.positions[0].weight is None


# -- positions from trades --------------------------------------------------------------------------

T0 = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)


def trade(n: int, side: str, quantity: str, price: str, fee: str = "1", instrument: int = 1) -> Trade:
    return Trade(
        id=n,
        portfolio_id=1,
        instrument_id=instrument,
        side=side,
        quantity=D(quantity),
        price=D(price),
        fee=D(fee),
        executed_at=T0 + timedelta(minutes=n),
    )


def test_buys_average_the_cost_and_sells_realize_against_it():
    # Given 10 bought at 100 and 10 at 110, then 5 sold at 120, with 1 of fees each and 5,000 deposited,
    book = replay([trade(1, "buy", "10", "100"), trade(2, "buy", "10", "110"), trade(3, "sell", "5", "120")], [D(5000)])
    # Then the average is 105 and stays there, the sale realized 5 x 15 - 1,
    assert book.lots[1].quantity == D(15) and book.lots[1].average_cost == D("105")
    assert book.realized_pnl == D("74.0000")
    # and cash is 5,000 - 1,001 - 1,101 + 599.
    assert book.cash == D("3497.0000")


def test_a_position_sold_to_zero_is_removed_and_a_new_buy_starts_afresh():
    book = replay([trade(1, "buy", "4", "10"), trade(2, "sell", "4", "12"), trade(3, "buy", "1", "50")], [])
    assert book.lots[1].average_cost == D(50) and book.lots[1].quantity == D(1)
    book = replay([trade(1, "buy", "4", "10"), trade(2, "sell", "4", "12")], [])
    assert book.lots == {}


def test_the_average_cost_is_rounded_to_ten_places():
    book = replay([trade(1, "buy", "1", "1", "0"), trade(2, "buy", "2", "2", "0")], [])
    assert book.lots[1].average_cost == D("1.6666666667")


def test_selling_more_than_is_held_is_refused():
    with pytest.raises(TradeHistoryInvalid, match="sells 5 of instrument 1 while holding 4"):
        replay([trade(1, "buy", "4", "10"), trade(2, "sell", "5", "12")], [])
    with pytest.raises(TradeHistoryInvalid, match="while holding 0"):
        replay([trade(1, "sell", "1", "10")], [])
