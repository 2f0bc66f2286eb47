"""run_bot on SQLite and PostgreSQL with the real orders service: what a run places, the signal it
leaves, one run per bot at a time, one run per tick, daily limits and the reset, exits through the
orders engine, and errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from services.bots.admin import pause_bot
from services.bots.daily import reset_daily_bot_counters
from services.bots.errors import BotConfigInvalid
from services.bots.fanout import BotRun, run_all_bots
from services.bots.wiring import orders_service
from tests.support.bots import FLAT, BotDesk
from tests.support.trading_books import Clock, Desk

pytestmark = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def bots(database_url: str) -> BotDesk:
    desk = Desk(database_url, Clock())
    desk.fund("100000")
    desk.instrument("BTC-USD", "crypto", "94")
    return BotDesk(desk)


def test_a_cross_up_places_a_bracket_entry_through_the_orders_service_and_leaves_a_signal(bots: BotDesk) -> None:
    # Given a bot with a 2 % stop and a 5 % target, and bars whose last one crosses up
    bot = bots.create(stop_loss_pct=D(2), take_profit_pct=D(5))
    # When it runs
    result = bots.run(bot, tick=bots.desk.clock())
    # Then it placed a market buy of 1000 / 94 (to the lot step) with both bracket legs
    assert result.outcome == "traded" and result.action == "buy", result
    entry, *legs = bots.orders()
    assert (entry.side, entry.type, entry.placed_by) == ("buy", "market", f"bot:{bot}")
    assert entry.quantity == D("10.63829787")
    assert sorted((leg.link_role, leg.limit_price or leg.stop_price) for leg in legs) == [
        ("stop_loss", D("92.12")),
        ("take_profit", D("98.70")),
    ]
    # And the signal row holds the inputs, the decision and the order; the state counts the trade
    (signal,) = bots.signals(bot)
    assert (signal.action, signal.outcome, signal.order_id) == ("buy", "traded", entry.id)
    assert set(signal.indicators) == {"ema_fast", "ema_slow", "rsi", "close"} and signal.bar_time is not None
    state = bots.state(bot)
    assert (state.state, state.daily_trades, state.entry_order_id, state.running_since) == ("idle", 1, entry.id, None)


def test_no_signal_waits_and_places_nothing(bots: BotDesk) -> None:
    bots.bars.closes = list(FLAT)
    bot = bots.create()
    result = bots.run(bot)
    assert (result.outcome, result.action, result.reason) == ("no_trade", "hold", "no cross up")
    assert bots.orders() == [] and bots.state(bot).state == "waiting"


def test_ten_runs_at_once_trade_once_and_nine_are_skipped(bots: BotDesk) -> None:
    # Given one bot and ten runs of it for the same tick, started at once
    bot = bots.create()
    tick = bots.desk.clock()
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: bots.run(bot, tick=tick), range(10)))
    # Then exactly one traded and nine were skipped, each with a signal row saying why
    assert sorted(r.outcome.value for r in results) == ["skipped"] * 9 + ["traded"]
    assert len(bots.orders()) == 1
    skipped = [s for s in bots.signals(bot) if s.outcome == "skipped"]
    assert len(skipped) == 9
    assert all(s.reason.startswith(("already running", "already ran for this tick")) for s in skipped)


def test_a_tick_already_run_is_skipped_and_the_next_tick_runs(bots: BotDesk) -> None:
    bot = bots.create()
    tick = bots.desk.clock()
    assert bots.run(bot, tick=tick).outcome == "traded"
    again = bots.run(bot, tick=tick)
    assert (again.outcome, again.reason.split(":")[0]) == ("skipped", "already ran for this tick")
    # The next tick runs; the entry still works (no price since it was placed), so it waits
    later = bots.run(bot, tick=tick + timedelta(minutes=1))
    assert (later.outcome, later.reason) == ("no_trade", "entry order still working")


def test_a_stuck_lock_of_a_dead_run_is_taken_over_once_stale(bots: BotDesk) -> None:
    bot = bots.create()
    bots.set_state(bot, running_since=bots.desk.clock() - timedelta(minutes=30), run_token="dead", state="running")
    assert bots.run(bot).outcome == "traded"
    bots.set_state(bot, running_since=bots.desk.clock(), run_token="alive", state="running")
    assert bots.run(bot).reason.startswith("already running")


def test_max_trades_pauses_the_bot_and_the_reset_reactivates_it_but_not_an_operator_pause(bots: BotDesk) -> None:
    # Given two bots allowed one trade a day; both trade once
    first, second = bots.create(max_trades_per_day=1), bots.create(max_trades_per_day=1)
    for bot in (first, second):
        assert bots.run(bot).outcome == "traded"
    # When they run again the same day: paused by the daily limit, nothing placed
    for bot in (first, second):
        result = bots.run(bot)
        assert (result.outcome, result.action) == ("paused", "paused")
    assert len(bots.orders()) == 2
    assert bots.state(first).state == "paused_daily_limit" and "max trades" in (bots.state(first).message or "")
    # And a paused bot's next run is skipped
    assert bots.run(first).outcome == "skipped"
    # When an operator pauses the second, then 00:00 UTC comes
    with bots.desk.session() as session:
        pause_bot(session=session, bot_id=second, by="ops", now=bots.desk.clock())
    with bots.desk.session() as session:
        report = reset_daily_bot_counters(session=session, now=bots.desk.clock())
    # Then the first is active again with zero counters, the second stays paused
    assert report.reactivated == 1
    assert (bots.state(first).state, bots.state(first).daily_trades) == ("idle", 0)
    assert bots.state(second).state == "paused"


def test_a_daily_loss_beyond_the_limit_pauses_the_bot(bots: BotDesk) -> None:
    bot = bots.create(max_daily_loss_pct=D(1), capital=D(10000))
    bots.set_state(bot, daily_pnl=D("-100.0000"))  # 1 % of 10,000
    result = bots.run(bot)
    assert result.outcome == "paused" and "daily loss" in result.reason
    assert bots.orders() == []


def test_the_stop_loss_exit_happens_through_the_orders_engine_and_books_the_loss(bots: BotDesk) -> None:
    # Given a bot in a bracket position: the entry fills on the next price
    btc = 1
    bot = bots.create(stop_loss_pct=D(2), take_profit_pct=D(5))
    assert bots.run(bot).outcome == "traded"
    bots.desk.price(btc, "94")
    assert bots.desk.process().filled == 1
    bots.bars.closes = list(FLAT)
    assert bots.run(bot).reason == "in position, no cross down"
    assert bots.state(bot).in_position and bots.state(bot).entry_price == D(94)
    # When the price falls through the stop (92.12) and the orders engine runs
    bots.desk.price(btc, "91")
    report = bots.desk.process()
    assert report.filled == 1
    # Then the next run finds the position closed by the stop-loss and books the loss
    result = bots.run(bot)
    assert "stop_loss filled" in result.reason
    state = bots.state(bot)
    expected = ((D(91) - D(94)) * D("10.63829787")).quantize(D("0.0001"))
    assert (state.in_position, state.daily_pnl, state.total_pnl) == (False, expected, expected)
    take_profit = next(o for o in bots.orders() if o.link_role == "take_profit")
    assert take_profit.state == "cancelled"  # its sibling cancelled it


def test_a_trailing_stop_is_placed_once_the_entry_fills_and_exits_when_crossed(bots: BotDesk) -> None:
    btc = 1
    bot = bots.create(trailing_stop_pct=D(3))
    assert bots.run(bot).outcome == "traded"
    bots.desk.price(btc, "94")
    bots.desk.process()
    bots.bars.closes = list(FLAT)
    bots.run(bot)  # places the trailing stop
    trailing = [o for o in bots.orders() if o.type == "trailing_stop"]
    assert len(trailing) == 1 and trailing[0].trail_percent == D(3)
    # When the price rises to 100 (the stop ratchets to 97), then falls through it, and the orders engine runs
    for last in ("100", "96"):
        bots.desk.price(btc, last)
        bots.desk.process()
    # Then the next run finds the trailing stop filled (at market once triggered: 96) and books the gain
    result = bots.run(bot)
    assert "exit filled" in result.reason, result
    state = bots.state(bot)
    gain = ((D(96) - D(94)) * D("10.63829787")).quantize(D("0.0001"))
    assert (state.in_position, state.total_pnl) == (False, gain)


def test_an_order_error_puts_the_bot_in_error_and_a_retry_runs_the_tick(bots: BotDesk) -> None:
    bot = bots.create()
    tick = bots.desk.clock()

    def broken(**_: Any) -> Any:
        raise RuntimeError("orders service unavailable")

    with pytest.raises(RuntimeError):
        bots.run(bot, tick=tick, place_order=broken)
    state = bots.state(bot)
    assert (state.state, state.running_since) == ("error", None)
    assert "orders service unavailable" in (state.message or "")
    assert bots.signals(bot)[-1].outcome == "error"
    # The retry (same tick) runs and trades
    assert bots.run(bot, tick=tick).outcome == "traded"


def test_a_bad_configuration_is_not_retryable(bots: BotDesk) -> None:
    bot = bots.create()
    with bots.desk.session() as session:
        from services.storage.models import Bot

        row = session.get(Bot, bot)
        assert row is not None
        row.symbol = "NOPE-USD"
        session.add(row)
    with pytest.raises(BotConfigInvalid):
        bots.run(bot)
    assert bots.state(bot).state == "error"


def test_a_redelivered_fan_out_starts_each_bot_once(bots: BotDesk) -> None:
    # Given three bots, one of them paused by an operator
    ids = [bots.create(name=f"b{i}") for i in range(3)]
    with bots.desk.session() as session:
        pause_bot(session=session, bot_id=ids[2], by="ops", now=bots.desk.clock())
    sent: list[BotRun] = []
    at = bots.desk.clock() + timedelta(seconds=7)
    # When the fan-out of one tick is delivered twice
    for _ in range(2):
        report = run_all_bots(session_factory=bots.desk.session, at=at, send_runs=sent.extend)
        assert (report.sent, report.active) == (2, 2)
    # Then both deliveries sent the same message ids, and running them all trades once per bot
    assert len({run.message_id for run in sent}) == 2 and len(sent) == 4
    outcomes = [bots.run(run.bot_id, tick=run.tick).outcome.value for run in sent]
    assert sorted(outcomes) == ["skipped", "skipped", "traded", "traded"]
    assert len(bots.orders()) == 2


def test_orders_service_is_place_order_with_fees_bound(bots: BotDesk) -> None:
    assert callable(orders_service())


def test_the_risk_managers_halt_stops_an_entry_before_the_orders_service(bots: BotDesk) -> None:
    from services.trading.kill_switch import set_kill_switch

    bot = bots.create()
    with bots.desk.session() as session:
        set_kill_switch(session=session, halted=True, by="ops", reason="drill", now=bots.desk.clock())
    result = bots.run(bot)
    assert (result.outcome, result.action) == ("no_trade", "buy")
    assert "trading halted" in result.reason and bots.orders() == []
