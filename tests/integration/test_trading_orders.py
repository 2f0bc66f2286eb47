"""Placing and processing paper orders on SQLite and PostgreSQL: pre-trade rejections with their
reasons, fills that write fills, trades, cash and positions once, and the linked orders' effects."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal as D

import pytest

from services.storage.db import session_scope
from services.storage.models import DailyBar, Instrument, IntradayBar
from services.trading.fees import FeeSchedule
from services.trading.kill_switch import halt_portfolio, resume_portfolio, set_kill_switch
from services.trading.limits import LimitChanges, set_limits
from services.trading.placing import cancel_order
from tests.support.trading_books import Clock, Desk

pytestmark = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def desk(database_url: str) -> Desk:
    desk = Desk(database_url, Clock())
    desk.fund("10000")
    return desk


def test_a_market_buy_fills_on_the_next_price_once_with_trade_cash_and_position(desk: Desk) -> None:
    # Given AAPL at 100 and a market buy of 10 placed now
    aapl = desk.instrument("AAPL", price="100")
    placed = desk.place("AAPL", "buy", "10")
    assert placed.order.state == "working"
    # When no new price has come, nothing fills; then a price of 101 arrives
    assert desk.process().fills == 0
    desk.price(aapl, "101")
    report = desk.process()
    # Then one fill at 101, one trade carrying the fill's id, cash and position moved
    assert report.fills == 1 and report.filled == 1
    (fill,) = desk.fills()
    (trade,) = desk.trades()
    assert (fill.quantity, fill.price, fill.rule) == (D(10), D(101), "tick.buy_market")
    assert trade.external_id == fill.id and trade.quantity == D(10)
    order = desk.order(placed.order.id)
    assert (order.state, order.filled_quantity, order.remaining_quantity) == ("filled", D(10), D(0))
    assert order.average_fill_price == D(101)
    assert desk.books() == (D("8990.0000"), {aapl: (D(10), D(101))})
    # And the books equal a rebuild from the trade history
    assert desk.rebuilt_books() == desk.books()


@pytest.mark.parametrize("direct_claim", [50, 0], ids=["claimed-at-once", "read-first"])
def test_the_same_run_delivered_twice_fills_once(desk: Desk, direct_claim: int) -> None:
    desk.direct_claim = direct_claim
    aapl = desk.instrument("AAPL", price="100")
    desk.place("AAPL", "buy", "5")
    desk.price(aapl, "100")
    # When process_orders runs twice on the same prices (a redelivered message)
    first, second = desk.process(), desk.process(instrument_ids=[aapl])
    # Then the second finds nothing new
    assert (first.fills, second.fills) == (1, 0)
    assert len(desk.fills()) == 1 and len(desk.trades()) == 1
    assert desk.books()[0] == D("9500.0000")


@pytest.mark.parametrize("direct_claim", [50, 0], ids=["claimed-at-once", "read-first"])
def test_ten_runs_at_once_fill_each_order_once(desk: Desk, direct_claim: int) -> None:
    # Given twenty working orders over two instruments and a fresh price for both
    desk.direct_claim = direct_claim
    a, b = desk.instrument("AAA", "crypto", "10"), desk.instrument("BBB", "crypto", "20")
    for number in range(10):
        desk.place("AAA", "buy", "1", client_order_id=f"a{number}")
        desk.place("BBB", "buy", "2", client_order_id=f"b{number}")
    desk.price(a, "10")
    desk.price(b, "20")
    # When ten runs start at once
    with ThreadPoolExecutor(10) as pool:
        reports = list(pool.map(lambda _: desk.process(), range(10)))
    # Then every order filled once, and the books equal a single run
    assert sum(report.fills for report in reports) == 20
    assert len(desk.fills()) == 20 and len(desk.trades()) == 20
    cash, positions = desk.books()
    assert cash == D(10000) - 10 * D(10) - 10 * D(40)
    assert positions == {a: (D(10), D(10)), b: (D(20), D(20))}
    assert desk.rebuilt_books() == (cash, positions)


def test_placing_is_idempotent_by_client_order_id(desk: Desk) -> None:
    desk.instrument("AAPL")
    first = desk.place("AAPL", "buy", "1", client_order_id="c-1")
    again = desk.place("AAPL", "buy", "7", client_order_id="c-1")
    assert (first.created, again.created) == (True, False)
    assert again.order.id == first.order.id and again.order.quantity == D(1)


@pytest.mark.parametrize(
    ("symbol", "side", "quantity", "extra", "reason"),
    [
        ("NOPE", "buy", "1", {}, "unknown_instrument"),
        ("OFF", "buy", "1", {}, "inactive_instrument"),
        ("AAPL", "buy", "0", {}, "non_positive_quantity"),
        ("AAPL", "buy", "1", {"type": "limit"}, "limit_price_missing"),
        ("AAPL", "buy", "1", {"type": "stop", "stop_price": "-1"}, "stop_price_not_positive"),
        ("AAPL", "buy", "101", {}, "insufficient_cash"),
        ("AAPL", "sell", "1", {}, "insufficient_position"),
        ("AAPL", "buy", "130", {"type": "limit", "limit_price": "99"}, "over_max_order_value"),
    ],
)
def test_pre_trade_checks_reject_at_once_with_the_reason(
    desk: Desk, symbol: str, side: str, quantity: str, extra: dict[str, str], reason: str
) -> None:
    # Given 10,000 in cash, AAPL at 100, an inactive instrument and a max order value of 12,000
    desk.instrument("AAPL", price="100")
    off = desk.instrument("OFF")
    with session_scope(desk.url) as session:
        instrument = session.get(Instrument, off)
        assert instrument is not None
        instrument.active = False
        set_limits(
            session=session,
            portfolio_id=desk.portfolio_id,
            changes=LimitChanges({"max_order_value": "12000"}),
            by="test",
            now=desk.clock(),
        )
    # When the order is placed, then it is stored rejected with the reason
    placed = desk.place(symbol, side, quantity, **extra)
    assert (placed.order.state, placed.order.reason) == ("rejected", reason)
    assert desk.order(placed.order.id).reason == reason


def test_free_cash_counts_what_open_buys_reserve(desk: Desk) -> None:
    desk.instrument("AAPL", price="100")
    assert desk.place("AAPL", "buy", "60", "limit", limit_price="100").order.state == "working"
    # 6,000 reserved: 50 more at 100 do not fit in the 4,000 left
    assert desk.place("AAPL", "buy", "50", "limit", limit_price="100").order.reason == "insufficient_cash"
    assert desk.place("AAPL", "buy", "40", "limit", limit_price="100").order.state == "working"


def test_a_halted_portfolio_and_the_kill_switch_reject_new_orders_until_resumed(desk: Desk) -> None:
    desk.instrument("AAPL")
    with session_scope(desk.url) as session:
        halt_portfolio(session=session, portfolio_id=desk.portfolio_id, by="ops", reason="test", now=desk.clock())
    assert desk.place("AAPL", "buy", "1").order.reason == "trading_halted"
    with session_scope(desk.url) as session:
        resume_portfolio(session=session, portfolio_id=desk.portfolio_id, by="ops", reason="ok", now=desk.clock())
    assert desk.place("AAPL", "buy", "1").order.state == "working"
    with session_scope(desk.url) as session:
        set_kill_switch(session=session, halted=True, by="ops", reason="exchange outage", now=desk.clock())
    assert desk.place("AAPL", "buy", "1").order.reason == "trading_halted"


def test_a_sell_realizes_pnl_by_average_cost_as_the_rebuild_does(desk: Desk) -> None:
    desk.fees = FeeSchedule()  # the default schedule: $0.005/share, min $1, max 0.5 %
    aapl = desk.instrument("AAPL", price="100")
    desk.place("AAPL", "buy", "10")
    desk.price(aapl, "100")
    desk.process()
    desk.place("AAPL", "buy", "10", client_order_id="second")
    desk.price(aapl, "110")
    desk.process()
    desk.place("AAPL", "sell", "15", client_order_id="out")
    desk.price(aapl, "120")
    desk.process()
    fills = desk.fills()
    assert [f.fee for f in fills] == [D(1), D(1), D(1)]
    # average 105; selling 15 at 120 realizes 15 x 15 - 1 fee
    assert fills[-1].realized_pnl == D("224.0000")
    cash, positions = desk.books()
    assert positions == {aapl: (D(5), D(105))}
    assert cash == D(10000) - 1001 - 1101 + 1799
    assert desk.rebuilt_books() == (cash, positions)


def test_a_bracket_activates_its_exits_when_the_entry_fills_and_one_exit_cancels_the_other(desk: Desk) -> None:
    aapl = desk.instrument("AAPL", price="100")
    placed = desk.place("AAPL", "buy", "10", take_profit="110", stop_loss="95")
    profit, loss = placed.children
    assert (profit.state, loss.state) == ("new", "new")
    desk.price(aapl, "100")
    desk.process()
    assert desk.order(profit.id).state == "working" and desk.order(loss.id).state == "working"
    desk.price(aapl, "111")
    desk.process()
    assert desk.order(profit.id).state == "filled"
    assert (desk.order(loss.id).state, desk.order(loss.id).reason) == ("cancelled", "oco_sibling_filled")
    assert desk.books()[1] == {}


def test_cancelling_an_order_cancels_its_bracket_exits(desk: Desk) -> None:
    desk.instrument("AAPL", price="100")
    placed = desk.place("AAPL", "buy", "10", "limit", limit_price="90", take_profit="110", stop_loss="85")
    with session_scope(desk.url) as session:
        cancel_order(session=session, order_id=placed.order.id or 0, now=desk.clock())
    assert [desk.order(child.id).state for child in placed.children] == ["cancelled", "cancelled"]


def test_an_order_working_through_downtime_fills_on_the_stored_bar_at_the_gap_open(desk: Desk) -> None:
    # Given a buy stop at 105 placed on Tuesday, and Wednesday's daily bar O=107 H=110 L=106 C=108
    aapl = desk.instrument("AAPL", price="100")
    placed = desk.place("AAPL", "buy", "10", "stop", stop_price="105")
    wednesday = desk.clock().replace(day=25, hour=0)
    with session_scope(desk.url) as session:
        session.add(
            DailyBar(
                instrument_id=aapl,
                interval="1d",
                ts=wednesday,
                open=D(107),
                high=D(110),
                low=D(106),
                close=D(108),
                volume=D(1_000_000),
                source="test",
            )
        )
    # When processing runs on Thursday
    desk.clock.now = wednesday.replace(day=26, hour=15)
    desk.process()
    # Then it filled at the open, 107
    (fill,) = desk.fills()
    assert (fill.price, fill.rule) == (D(107), "bar.buy_stop.gap_open")
    assert desk.order(placed.order.id).state == "filled"


def test_a_day_order_expires_at_the_close(desk: Desk) -> None:
    aapl = desk.instrument("AAPL", price="100")
    placed = desk.place("AAPL", "buy", "1", "limit", limit_price="90", time_in_force="day")
    assert desk.order(placed.order.id).expires_at is not None
    desk.clock.now = desk.clock().replace(hour=21, minute=1)  # 16:01 in New York
    desk.price(aapl, "89")  # after the close: not for this order
    report = desk.process()
    assert (report.fills, report.expired) == (0, 1)
    assert desk.order(placed.order.id).state == "expired"


def test_partial_fills_over_bars_pay_the_minimum_fee_once(desk: Desk) -> None:
    # Given a buy of 10 and two 1-minute bars of 50 shares each (10 % participation: 5 per bar)
    desk.fees = FeeSchedule()
    aapl = desk.instrument("AAPL", price="100")
    placed = desk.place("AAPL", "buy", "10", "limit", limit_price="101")
    start = desk.clock().replace(second=0, microsecond=0) + timedelta(minutes=1)
    with session_scope(desk.url) as session:
        for minute in range(2):
            at = start + timedelta(minutes=minute)
            session.add(
                IntradayBar(
                    instrument_id=aapl,
                    interval="1m",
                    ts=at,
                    open=D(100),
                    high=D(100),
                    low=D(100),
                    close=D(100),
                    volume=D(50),
                    source="test",
                )
            )
    desk.clock.now = start + timedelta(minutes=3)
    # When processing runs after both bars
    desk.process()
    # Then two fills of 5, and the $1 minimum is charged once for the order
    fills = desk.fills()
    assert [(f.quantity, f.fee) for f in fills] == [(D(5), D(1)), (D(5), D(0))]
    order = desk.order(placed.order.id)
    assert (order.state, order.fees_paid) == ("filled", D(1))
