"""Fill scenarios over several events: triggers remembered, trailing marks that only ratchet, partial
fills under the participation cap, IOC and FOK, quantity steps and maker/taker."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal as D

import pytest

from services.trading.fills import NO_FILL, CancelReason, Evaluation, evaluate
from services.trading.model import Liquidity, OrderProgress, OrderState, OrderTerms, OrderType, Side, TimeInForce
from tests.support.trading import T0, bar, order, quote

TENTH = D("0.10")


def run(terms: OrderTerms, events, participation=TENTH, quantity_step=None) -> list[Evaluation]:
    progress, results = OrderProgress(), []
    for event in events:
        result = evaluate(terms, progress, event, participation=participation, quantity_step=quantity_step)
        results.append(result)
        progress = result.progress
        if result.done or result.cancel_rest:
            break
    return results


def test_a_stop_limit_triggered_but_not_fillable_fills_on_a_later_tick():
    # Given a buy stop-limit, stop 105, limit 105
    terms = order("buy", "stop_limit", stop="105", limit="105")
    # When the last reaches 105.2 with the ask at 105.3, then falls back with the ask at 105
    first, second = run(terms, [quote("105.2", "105.1", "105.3"), quote("104.9", "104.8", "105")])
    # Then the first tick only triggers it, and the second fills it at the ask, the trigger remembered
    assert (first.fill_quantity, first.progress.triggered, first.rule) == (D(0), True, NO_FILL)
    assert (second.fill_quantity, second.fill_price, second.rule) == (D(10), D("105"), "tick.buy_stop_limit")


def test_a_stop_limit_triggered_on_a_bar_fills_on_a_later_bar():
    # Given a buy stop-limit 105 / 104.5 triggered inside a bar that closed above the limit
    terms = order("buy", "stop_limit", stop="105", limit="104.5")
    first, second = run(terms, [bar("103", "107", "102", "106"), bar("106", "106.5", "104", "105")])
    # Then the second bar, all after the trigger, fills it at the limit when its low reaches it
    assert (first.fill_quantity, first.progress.triggered) == (D(0), True)
    assert (second.fill_price, second.rule) == (D("104.5"), "bar.buy_stop_limit.at_limit")


def test_a_trailing_sell_stop_ratchets_up_and_never_down():
    # Given a trailing sell, $2 behind the high-water mark
    terms = order("sell", "trailing_stop", amount="2")
    ticks = [quote("100"), quote("103"), quote("101.5"), quote("102"), quote("100.9", "100.8", "101")]
    results = run(terms, ticks)
    # Then the mark follows 100, 103 and stays at 103 when the price falls back
    assert [r.progress.water_mark for r in results] == [D("100"), D("103"), D("103"), D("103"), D("103")]
    # and the stop at 101 (not 99.5 or 100) triggers on the last 100.9, filling at the bid
    assert [r.fill_quantity for r in results] == [D(0), D(0), D(0), D(0), D(10)]
    assert (results[-1].fill_price, results[-1].rule) == (D("100.8"), "tick.sell_trailing_stop")


def test_a_trailing_buy_stop_ratchets_down_and_never_up():
    terms = order("buy", "trailing_stop", percent="10")
    results = run(terms, [quote("50"), quote("48"), quote("49"), quote("52.8", "52.7", "52.9")])
    # Then the low-water mark is 48 (stop 52.8): the last 52.8 triggers it, filled at the ask
    assert [r.progress.water_mark for r in results] == [D("50"), D("48"), D("48"), D("48")]
    assert (results[-1].fill_quantity, results[-1].fill_price) == (D(10), D("52.9"))


def test_a_trailing_percent_stop_is_rounded_to_price_places():
    # Given a mark of 33.3333333333 and a 7 % trail: 33.3333333333 x 0.93 = 30.999999999969
    terms = order("sell", "trailing_stop", percent="7")
    progress = OrderProgress(water_mark=D("33.3333333333"))
    result = evaluate(terms, progress, bar("31.5", "31.6", "30.5", "31"), participation=TENTH)
    # Then the stop is 31.0000000000 at 10 places, and the fill is at it
    assert result.fill_price == D("31.0000000000")


def test_partial_fills_across_several_bars_follow_the_participation_cap():
    # Given a market buy of 1,000 shares and bars trading 3,000, 4,000 and 5,000 shares
    terms = order("buy", "market", quantity="1000")
    bars = [
        bar("10", "11", "9", "10", "3000"),
        bar("10.5", "11", "10", "10.5", "4000"),
        bar("11", "12", "10", "11", "5000"),
    ]
    results = run(terms, bars)
    # Then 10 % of each bar's volume fills at its open until the order is complete: 300, 400, then the last 300
    assert [(r.fill_quantity, r.fill_price) for r in results] == [
        (D(300), D("10")),
        (D(400), D("10.5")),
        (D(300), D("11")),
    ]
    assert [r.progress.filled_quantity for r in results] == [D(300), D(700), D(1000)]
    assert [r.done for r in results] == [False, False, True]


def test_a_partly_filled_limit_keeps_working_at_its_limit_rule():
    terms = order("sell", "limit", quantity="50", limit="20")
    results = run(terms, [bar("19", "20.5", "18.5", "20", "200"), bar("21", "21.5", "20.5", "21", "1000")])
    # Then 20 fill at the limit on the first bar, the other 30 at the second bar's open
    assert [(r.fill_quantity, r.fill_price, r.rule) for r in results] == [
        (D(20), D("20"), "bar.sell_limit.at_limit"),
        (D(30), D("21"), "bar.sell_limit.gap_open"),
    ]


def test_equity_fills_are_whole_shares_and_crypto_fills_follow_the_step():
    # Given 10 % of 555 shares = 55.5 and 10 % of 2.345 coins = 0.2345
    shares = evaluate(
        order("buy", "market", quantity="100"), OrderProgress(), quote("5", volume="555"), participation=TENTH
    )
    coins = order("buy", "market", quantity="1", asset_class="crypto", time_in_force=TimeInForce.GTC)
    stepped = evaluate(
        coins, OrderProgress(), quote("40000", volume="2.345"), participation=TENTH, quantity_step=D("0.001")
    )
    unstepped = evaluate(coins, OrderProgress(), quote("40000", volume="2.345"), participation=TENTH)
    # Then quantities are rounded down: 55 shares, 0.234 with a step of 0.001, 0.2345 at the 10-place default
    assert (shares.fill_quantity, stepped.fill_quantity, unstepped.fill_quantity) == (D(55), D("0.234"), D("0.2345"))


@pytest.mark.parametrize(
    ("event", "quantity"),
    [
        (quote("10"), D(100)),  # a quote without volume is not capped
        (quote("10", volume="0"), D(100)),  # nor one whose provider counted no volume
        (bar("10", "10", "10", "10", None), D(100)),  # nor a bar from a provider that gives no volume
        (bar("10", "10", "10", "10", "0"), D(0)),  # a bar that says nothing traded fills nothing
        (bar("10", "11", "9", "10", "400"), D(40)),
    ],
    ids=["quote_no_volume", "quote_zero_volume", "bar_no_volume", "bar_zero_volume", "bar_volume"],
)
def test_the_volume_cap_by_event(event, quantity):
    result = evaluate(order("buy", "market", quantity="100"), OrderProgress(), event, participation=TENTH)
    assert result.fill_quantity == quantity


def test_a_cap_that_rounds_to_nothing_fills_nothing_and_keeps_a_trigger():
    # Given a sell stop triggered on a bar that traded 5 shares: 10 % is half a share
    result = evaluate(
        order("sell", "stop", stop="95"), OrderProgress(), bar("96", "97", "94", "95", "5"), participation=TENTH
    )
    # Then nothing fills, but the order remembers it triggered
    assert (result.fill_quantity, result.rule, result.progress.triggered) == (D(0), NO_FILL, True)


def test_ioc_fills_what_it_can_and_cancels_the_rest_at_once():
    terms = order("buy", "limit", quantity="100", limit="10", time_in_force=TimeInForce.IOC)
    result = evaluate(terms, OrderProgress(), quote("10", "9.9", "10", "500"), participation=TENTH)
    assert (result.fill_quantity, result.fill_price, result.done) == (D(50), D("10"), False)
    assert (result.cancel_rest, result.cancel_reason) == (True, CancelReason.IOC_REST)


def test_ioc_that_cannot_fill_at_all_is_cancelled():
    terms = order("buy", "limit", quantity="100", limit="9", time_in_force=TimeInForce.IOC)
    result = evaluate(terms, OrderProgress(), quote("10", "9.9", "10"), participation=TENTH)
    assert (result.fill_quantity, result.cancel_rest, result.rule) == (D(0), True, NO_FILL)


def test_ioc_filled_whole_cancels_nothing():
    terms = order("sell", "market", quantity="100", time_in_force=TimeInForce.IOC)
    result = evaluate(terms, OrderProgress(), quote("10", "9.9", "10"), participation=TENTH)
    assert (result.fill_quantity, result.done, result.cancel_rest, result.cancel_reason) == (D(100), True, False, None)


def test_fok_fills_nothing_unless_all_can_fill_and_is_then_cancelled():
    terms = order("buy", "market", quantity="100", time_in_force=TimeInForce.FOK)
    # When only 50 of the 100 can fill (10 % of 500)
    result = evaluate(terms, OrderProgress(), quote("10", "9.9", "10", "500"), participation=TENTH)
    # Then nothing fills and the order is cancelled
    assert (result.fill_quantity, result.fill_price, result.done) == (D(0), None, False)
    assert (result.cancel_rest, result.cancel_reason, result.rule) == (True, CancelReason.FOK_NOT_FILLABLE, NO_FILL)


def test_fok_that_can_fill_whole_fills_whole():
    terms = order("buy", "market", quantity="100", time_in_force=TimeInForce.FOK)
    result = evaluate(terms, OrderProgress(), quote("10", "9.9", "10", "1000"), participation=TENTH)
    assert (result.fill_quantity, result.done, result.cancel_rest) == (D(100), True, False)


def test_a_limit_that_rested_makes_liquidity_and_a_fresh_one_takes_it():
    terms = order("buy", "limit", limit="100")
    fresh = evaluate(terms, OrderProgress(), quote("99.9", "99.8", "99.9"), participation=TENTH)
    resting = evaluate(terms, OrderProgress(rested=True), quote("99.9", "99.8", "99.9"), participation=TENTH)
    market = evaluate(order("buy", "market"), OrderProgress(rested=True), quote("100"), participation=TENTH)
    assert (fresh.liquidity, resting.liquidity, market.liquidity) == (Liquidity.TAKER, Liquidity.MAKER, Liquidity.TAKER)


def test_an_order_left_working_is_marked_as_resting():
    result = evaluate(order("buy", "limit", limit="90"), OrderProgress(), quote("100"), participation=TENTH)
    assert result.progress.rested is True


def test_a_fill_on_a_bar_is_dated_at_its_open_or_its_end():
    at_open = evaluate(order("buy", "market"), OrderProgress(), bar("10", "11", "9", "10"), participation=TENTH)
    inside = evaluate(
        order("buy", "limit", limit="9.5"), OrderProgress(), bar("10", "11", "9", "10"), participation=TENTH
    )
    assert at_open.at == bar("10", "11", "9", "10").start
    assert inside.at == bar("10", "11", "9", "10").end


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"participation": D(0)}, "participation"),
        ({"participation": TENTH, "quantity_step": D(0)}, "quantity_step"),
    ],
)
def test_evaluate_refuses_a_cap_or_step_that_is_not_positive(kwargs, message):
    with pytest.raises(ValueError, match=message):
        evaluate(order("buy", "market"), OrderProgress(), quote("10"), **kwargs)


def test_evaluate_refuses_an_order_with_nothing_left():
    terms = OrderTerms(Side.BUY, OrderType.MARKET, D(5))
    with pytest.raises(ValueError, match="nothing left"):
        evaluate(terms, OrderProgress(D(5)), quote("10"), participation=TENTH)


def test_the_state_after_an_evaluation():
    # Given a 100-share market buy and quotes trading 500 (a cap of 50) or no volume
    buy = order("buy", "market", quantity="100")
    partial = evaluate(buy, OrderProgress(), quote("10", volume="500"), participation=TENTH)
    filled = evaluate(buy, OrderProgress(), quote("10"), participation=TENTH)
    waiting = evaluate(order("buy", "limit", limit="9"), OrderProgress(), quote("10"), participation=TENTH)
    ioc_buy = replace(buy, time_in_force=TimeInForce.IOC)
    ioc = evaluate(ioc_buy, OrderProgress(), quote("10", volume="500"), participation=TENTH)
    assert [e.state for e in (partial, filled, waiting, ioc)] == [
        OrderState.PARTIALLY_FILLED,
        OrderState.FILLED,
        OrderState.WORKING,
        OrderState.CANCELLED,
    ]


def test_an_event_from_before_the_order_changes_nothing():
    # Given a buy stop placed a second after a quote that crossed its stop, and a trailing sell
    placed = T0 + timedelta(seconds=1)
    buy_stop = order("buy", "stop", stop="105")
    stop = evaluate(buy_stop, OrderProgress(), quote("106"), participation=TENTH, placed_at=placed)
    trail = order("sell", "trailing_stop", amount="2")
    marked = OrderProgress(water_mark=D("100"))
    bar_before = evaluate(trail, marked, bar("103", "104", "90", "95"), participation=TENTH, placed_at=placed)
    # Then neither fills, triggers nor ratchets, and the rule says why
    assert (stop.fill_quantity, stop.progress, stop.rule) == (D(0), OrderProgress(), "stale_event")
    assert (bar_before.progress, bar_before.rule) == (marked, "stale_event")


def test_an_ioc_order_is_not_cancelled_by_a_stale_event():
    terms = order("buy", "limit", limit="9", time_in_force=TimeInForce.IOC)
    result = evaluate(terms, OrderProgress(), quote("10"), participation=TENTH, placed_at=T0 + timedelta(seconds=1))
    assert (result.cancel_rest, result.state) == (False, OrderState.WORKING)


def test_a_quote_stamped_when_the_order_was_placed_is_fresh():
    result = evaluate(order("buy", "market"), OrderProgress(), quote("10"), participation=TENTH, placed_at=T0)
    assert (result.fill_quantity, result.rule) == (D(10), "tick.buy_market")
