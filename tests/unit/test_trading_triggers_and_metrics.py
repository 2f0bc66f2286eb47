"""Pure parts of the trading use cases, with hand-written fakes: the refresh trigger sends
process_orders only for instruments with working orders; reserve prices; events an order has not
seen; the metric series are all declared at 0."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from prometheus_client import CollectorRegistry

from services.trading.events import Event, events_for
from services.trading.metrics import TradingMetrics
from services.trading.model import Bar, OrderTerms, OrderType, Quote, Side
from services.trading.placing import reserve_price
from services.trading.triggers import order_trigger

T0 = datetime(2026, 11, 24, 15, tzinfo=UTC)


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], Any]] = []

    def send(self, actor_name: str, kwargs: dict[str, Any] | None = None, *, priority: Any = None) -> Any:
        self.sent.append((actor_name, kwargs or {}, priority))


def test_new_prices_send_process_orders_critical_for_the_instruments_with_working_orders_only():
    sender = RecordingSender()
    working = {2, 3}
    trigger = order_trigger(working=lambda ids: [i for i in ids if i in working], sender=sender)
    trigger([1, 2, 3, 4])
    trigger([5])  # no working order: nothing sent
    assert sender.sent == [("process_orders", {"instrument_ids": [2, 3]}, "critical")]


def test_a_buy_reserves_at_its_limit_the_worse_of_stop_and_last_or_the_last():
    def terms(kind: str, **prices: str) -> OrderTerms:
        return OrderTerms(Side.BUY, OrderType(kind), D(1), **{k: D(v) for k, v in prices.items()})

    assert reserve_price(terms("limit", limit_price="90"), D(100)) == D(90)
    assert reserve_price(terms("stop", stop_price="105"), D(100)) == D(105)
    assert reserve_price(terms("stop", stop_price="95"), D(100)) == D(100)
    assert reserve_price(terms("market"), D(100)) == D(100)
    assert reserve_price(terms("market"), None) is None
    assert reserve_price(terms("trailing_stop", trail_percent="5"), D(100)) == D(105)


def test_an_order_sees_bars_since_it_was_placed_then_the_quote_each_once():
    def bar(start: datetime) -> Event:
        market = Bar(D(1), D(1), D(1), D(1), None, start, start + timedelta(minutes=1))
        return Event(f"b1m:{int(start.timestamp())}", start + timedelta(minutes=1), market)

    bars = [bar(T0 - timedelta(minutes=1)), bar(T0), bar(T0 + timedelta(minutes=1))]
    quote = Event("q", T0 + timedelta(minutes=3), Quote(D(1), None, None, None, T0 + timedelta(minutes=3)))
    fresh = events_for(placed_at=T0, through=T0, bars=bars, quote=quote)
    assert [e.key for e in fresh] == [bars[1].key, bars[2].key, "q"]
    # Through the last event: nothing is new
    assert events_for(placed_at=T0, through=quote.at, bars=bars, quote=quote) == []


def test_every_trading_series_exists_at_zero_from_the_start():
    registry = CollectorRegistry()
    metrics = TradingMetrics(registry)
    metrics.fill("market", "buy", 0.012)
    metrics.rejection("insufficient_cash")
    metrics.rejection("a reason nobody has")  # no new series for an unknown label
    names = {sample.name for family in registry.collect() for sample in family.samples}
    assert {"tickwork_orders_total", "tickwork_order_fills_total", "tickwork_order_rejections_total"} <= names
    assert {"tickwork_tick_to_fill_seconds_bucket", "tickwork_risk_events_total"} <= names
    assert registry.get_sample_value("tickwork_order_rejections_total", {"reason": "insufficient_cash"}) == 1
    assert registry.get_sample_value("tickwork_order_rejections_total", {"reason": "trading_halted"}) == 0
