"""refresh_prices against a real database and hand-written providers: routing, batching, fallback,
unknown symbols, and the last good price kept when every provider fails."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from services.market_data.refresh import refresh_prices
from services.storage.db import as_utc, session_factory, session_scope
from services.storage.models import Instrument
from tests.support.fake_provider import AT, FakeProvider

pytestmark = pytest.mark.both_databases


def add(url: str, symbol: str, providers: list[str], **fields: object) -> int:
    with session_scope(url) as session:
        instrument = Instrument(
            symbol=symbol, asset_class=fields.pop("asset_class", "equity"), providers=providers, **fields
        )
        session.add(instrument)
        session.flush()
        assert instrument.id is not None
        return instrument.id


def instrument(url: str, symbol: str) -> Instrument:
    with session_scope(url) as session:
        return session.exec(select(Instrument).where(Instrument.symbol == symbol)).one()


def test_every_active_instrument_is_priced_by_its_first_provider_in_batches(database_url):
    # Given five equities on yahoo (batches of 2) and a crypto on binance, and one inactive equity
    for symbol in ["A", "B", "C", "D", "E"]:
        add(database_url, symbol, ["yahoo", "stooq"])
    add(database_url, "BTC-USD", ["binance"], asset_class="crypto", provider_symbols={"binance": "BTCUSDT"})
    add(database_url, "OLD", ["yahoo"], active=False)
    yahoo = FakeProvider("yahoo", {s: Decimal(f"1{i}.25") for i, s in enumerate("ABCDE")} | {"OLD": Decimal(1)})
    binance = FakeProvider("binance", {"BTCUSDT": Decimal("43250.01000000")}, max_batch=100)
    stooq = FakeProvider("stooq")

    # When prices are refreshed
    report = refresh_prices(
        session_factory=session_factory(database_url), providers={"yahoo": yahoo, "binance": binance, "stooq": stooq}
    )

    # Then each is priced once by its first provider, in provider-sized batches, at the quote's time
    assert report.priced == {"yahoo": 5, "binance": 1} and report.fell_back == 0 and not report.failed
    assert sorted(len(symbols) for _, symbols in yahoo.calls) == [1, 2, 2]
    assert binance.calls == [("quotes", ("BTCUSDT",))] and stooq.calls == []
    btc = instrument(database_url, "BTC-USD")
    assert btc.last_price == Decimal("43250.01") and as_utc(btc.last_price_at) == AT
    assert btc.last_price_source == "binance" and btc.price_error is None and btc.price_checked_at is not None
    assert instrument(database_url, "OLD").last_price is None


def test_a_failing_provider_falls_back_and_otherwise_keeps_the_last_good_price(database_url):
    # Given A (yahoo, then stooq) and B (yahoo only), both priced yesterday
    yesterday = AT - timedelta(days=1)
    for symbol in ["A", "B"]:
        add(
            database_url,
            symbol,
            ["yahoo", "stooq"] if symbol == "A" else ["yahoo"],
            last_price=Decimal(9),
            last_price_at=yesterday,
        )
    yahoo = FakeProvider("yahoo", {"A": Decimal(10), "B": Decimal(10)}, failing=True)
    stooq = FakeProvider("stooq", {"A": Decimal("10.5")})

    # When yahoo fails
    report = refresh_prices(session_factory=session_factory(database_url), providers={"yahoo": yahoo, "stooq": stooq})

    # Then A is priced by stooq, and B keeps yesterday's price with the reason it is stale
    assert report.priced == {"stooq": 1} and report.fell_back == 1
    assert instrument(database_url, "A").last_price == Decimal("10.5")
    b = instrument(database_url, "B")
    assert b.last_price == Decimal(9) and as_utc(b.last_price_at) == yesterday
    assert "yahoo: HTTP 503" in (b.price_error or "") and "B" in report.failed


def test_a_symbol_is_marked_unknown_only_when_every_provider_says_so_and_is_not_asked_again(database_url):
    # Given X known only to stooq, and Y known to nobody
    add(database_url, "X", ["yahoo", "stooq"])
    add(database_url, "Y", ["yahoo", "stooq"])
    yahoo, stooq = FakeProvider("yahoo"), FakeProvider("stooq", {"X": Decimal(3)})

    # When prices are refreshed twice
    first = refresh_prices(session_factory=session_factory(database_url), providers={"yahoo": yahoo, "stooq": stooq})
    yahoo.calls.clear()
    stooq.calls.clear()
    refresh_prices(session_factory=session_factory(database_url), providers={"yahoo": yahoo, "stooq": stooq})

    # Then X is priced by stooq, Y is unknown with both answers, and Y is not asked the second time
    assert first.priced == {"stooq": 1} and list(first.unknown) == ["Y"]
    y = instrument(database_url, "Y")
    assert (
        y.unknown_at is not None and "yahoo: not listed" in (y.price_error or "") and "stooq" in (y.price_error or "")
    )
    asked = [s for _, symbols in yahoo.calls + stooq.calls for s in symbols]
    assert "Y" not in asked and "X" in asked


def test_a_fallback_quote_older_than_the_held_price_does_not_replace_it(database_url):
    # Given A priced just now, and a fallback that only has yesterday's close
    add(database_url, "A", ["yahoo", "stooq"], last_price=Decimal(11), last_price_at=AT)
    yahoo = FakeProvider("yahoo", failing=True)
    stooq = FakeProvider("stooq", {"A": Decimal(10)}, at=AT - timedelta(days=1))

    refresh_prices(session_factory=session_factory(database_url), providers={"yahoo": yahoo, "stooq": stooq})

    assert instrument(database_url, "A").last_price == Decimal(11)


def test_a_slow_provider_does_not_hold_back_the_others(database_url):
    # Given yahoo blocked until the test releases it, and binance answering at once
    add(database_url, "A", ["yahoo"])
    add(database_url, "BTC-USD", ["binance"], asset_class="crypto")
    gate = threading.Event()
    yahoo = FakeProvider("yahoo", {"A": Decimal(1)}, gate=gate)
    binance = FakeProvider("binance", {"BTC-USD": Decimal(2)})
    done = threading.Thread(
        target=refresh_prices,
        kwargs={"session_factory": session_factory(database_url), "providers": {"yahoo": yahoo, "binance": binance}},
    )
    done.start()
    try:
        # Then binance's price is stored while yahoo is still waiting
        deadline = datetime.now(UTC) + timedelta(seconds=5)
        while instrument(database_url, "BTC-USD").last_price is None and datetime.now(UTC) < deadline:
            threading.Event().wait(0.05)
        assert instrument(database_url, "BTC-USD").last_price == Decimal(2)
        assert instrument(database_url, "A").last_price is None
    finally:
        gate.set()
        done.join(10)
    assert instrument(database_url, "A").last_price == Decimal(1)


def test_asset_classes_narrow_the_refresh(database_url):
    add(database_url, "A", ["yahoo"])
    add(database_url, "BTC-USD", ["yahoo"], asset_class="crypto")
    yahoo = FakeProvider("yahoo", {"A": Decimal(1), "BTC-USD": Decimal(2)})

    report = refresh_prices(
        session_factory=session_factory(database_url), providers={"yahoo": yahoo}, asset_classes=["crypto"]
    )

    assert report.instruments == 1 and instrument(database_url, "A").last_price is None
