"""The sandbox's simulated market: one consistent, deterministic path behind every bar and quote."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from services.sandbox.market import Interval, Market
from services.sandbox.universe import asset, from_binance, from_coingecko, from_stooq, from_yahoo
from services.scheduling.market_hours import NYSE

FRIDAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(calendar=NYSE)


def ts(day: date, hour: int = 0, minute: int = 0) -> float:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).timestamp()


def test_every_bar_of_a_session_ends_at_the_closing_price(market: Market) -> None:
    aapl = asset("AAPL")
    assert aapl is not None
    session = NYSE.session(FRIDAY)
    assert session is not None
    later = ts(FRIDAY + timedelta(days=3))
    opens, closes = session.opens.timestamp(), session.closes.timestamp()
    close = market.price(aapl, closes + 3600)
    assert close.at == closes
    for interval in (Interval("minute", 1), Interval("minute", 5), Interval("minute", 60), Interval("day")):
        bars = market.bars(aapl, interval, opens, closes, later)
        assert float(bars.close[-1]) == close.value, interval
        assert float(bars.open[0]) == market.price(aapl, opens).value


def test_longer_bars_contain_the_shorter_bars_inside_them(market: Market) -> None:
    nvda = asset("NVDA")
    assert nvda is not None
    start, end, now = ts(date(2026, 11, 2)), ts(date(2026, 11, 21)), ts(date(2026, 11, 23))
    daily = market.bars(nvda, Interval("day"), start, end, now)
    minutes = market.bars(nvda, Interval("minute", 1), start, end, now)
    traded = ~minutes.null
    for i, day in enumerate(daily.first_day):
        same_day = traded & (minutes.start >= daily.start[i]) & (minutes.start < daily.end[i])
        assert same_day.sum() > 350
        assert minutes.high[same_day].max() <= daily.high[i] and minutes.low[same_day].min() >= daily.low[i], day
    weekly = market.bars(nvda, Interval("week"), start, end, now)
    assert len(weekly) == 3
    assert weekly.high.max() == daily.high.max() and weekly.low.min() == daily.low.min()
    assert weekly.volume.sum() == daily.volume.sum()


def test_a_stock_does_not_move_outside_regular_hours(market: Market) -> None:
    msft = asset("MSFT")
    assert msft is not None
    friday_close = market.price(msft, ts(FRIDAY, 21, 0))
    for moment in (ts(FRIDAY + timedelta(days=1), 12), ts(FRIDAY + timedelta(days=3), 14, 29)):
        assert market.price(msft, moment) == friday_close
    assert market.price(msft, ts(FRIDAY + timedelta(days=3), 15)).value != friday_close.value


def test_a_coin_moves_around_the_clock(market: Market) -> None:
    btc = asset("BTC-USD")
    assert btc is not None
    saturday = FRIDAY + timedelta(days=1)
    prices = {market.price(btc, ts(saturday, hour)).value for hour in range(0, 24, 3)}
    assert len(prices) == 8


def test_two_markets_compute_the_same_history(market: Market) -> None:
    symbol = asset("SIM0042")
    assert symbol is not None
    args = (Interval("day"), ts(date(2025, 1, 1)), ts(date(2025, 3, 1)), ts(date(2026, 1, 1)))
    first, second = market.bars(symbol, *args), Market(calendar=NYSE).bars(symbol, *args)
    assert first.close.tolist() == second.close.tolist() and first.high.tolist() == second.high.tolist()


def test_prices_stay_near_the_symbols_level_for_years(market: Market) -> None:
    spy = asset("SPY")
    assert spy is not None
    bars = market.bars(spy, Interval("week"), ts(date(2016, 1, 1)), ts(date(2026, 11, 1)), ts(date(2026, 11, 2)))
    assert 0.3 * spy.base_price < bars.low.min() and bars.high.max() < 3 * spy.base_price


def test_symbols_map_to_each_provider_and_back() -> None:
    aapl, coin = asset("AAPL"), asset("SIMC0007")
    assert asset("SIMC0007-USD") == coin  # the -USD spelling names the same coin
    assert aapl is not None and coin is not None
    assert (aapl.yahoo, aapl.stooq, aapl.binance) == ("AAPL", "aapl.us", None)
    assert (coin.binance, coin.coin_id, coin.yahoo) == ("SIMC0007USDT", "sim-coin-0007", None)
    assert from_yahoo("aapl") is aapl and from_stooq("AAPL.US") is aapl and from_yahoo("BTC-USD") is None
    assert from_binance("SIMC0007USDT") == coin and from_coingecko("sim-coin-0007") == coin
    assert from_coingecko("bitcoin") is asset("BTC-USD") and from_binance("BTCUSDT") is asset("BTC-USD")
    for unknown in ("SIM0000", "SIM10000", "ZZZZ", "SIMC0001"):
        assert from_yahoo(unknown) is None
    assert from_binance("AAPLUSDT") is None and from_stooq("btc-usd.us") is None and from_coingecko("nope") is None


def test_a_hundred_quotes_take_a_few_milliseconds(market: Market) -> None:
    coins = [asset(f"SIMC{n:04d}") for n in range(1, 101)]
    now = time.time()
    for coin in coins:  # the first call builds each path
        assert coin is not None
        market.price(coin, now)
    started = time.perf_counter()
    for coin in coins:
        assert coin is not None
        market.price(coin, now + 1)
    assert time.perf_counter() - started < 0.05
