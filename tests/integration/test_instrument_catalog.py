"""Instruments as operators see and change them: prices with their market-time age, adding, reactivating."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from services.market_data.catalog import (
    InstrumentInvalid,
    InstrumentNotFound,
    add_instrument,
    list_prices,
    reactivate,
)
from services.storage.db import session_scope
from services.storage.models import Instrument

SATURDAY_NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
FRIDAY_CLOSE = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)


def test_prices_show_their_market_time_age_and_stale_flag(database_url):
    with session_scope(database_url) as session:
        session.add(
            Instrument(symbol="AAPL", asset_class="equity", last_price=Decimal("229.87"), last_price_at=FRIDAY_CLOSE)
        )
        session.add(
            Instrument(
                symbol="BTC-USD",
                asset_class="crypto",
                last_price=Decimal(43250),
                last_price_at=SATURDAY_NOON - timedelta(hours=1),
                price_error="binance: HTTP 503",
            )
        )
        session.add(Instrument(symbol="NVDA", asset_class="equity"))

    with session_scope(database_url) as session:
        views = {v.symbol: v for v in list_prices(session=session, now=SATURDAY_NOON, max_age_s=900)}
        stale = [v.symbol for v in list_prices(session=session, now=SATURDAY_NOON, max_age_s=900, stale_only=True)]

    # Friday's close is not aged by the weekend; the crypto price kept after a failure is an hour old
    assert (views["AAPL"].age_s, views["AAPL"].stale) == (0.0, False)
    assert (views["BTC-USD"].age_s, views["BTC-USD"].stale) == (3600.0, True)
    assert views["BTC-USD"].error == "binance: HTTP 503" and views["BTC-USD"].price == Decimal(43250)
    assert views["NVDA"].age_s is None and stale == ["BTC-USD", "NVDA"]


def test_an_instrument_that_could_never_be_priced_is_refused(database_url):
    with session_scope(database_url) as session:
        add_instrument(session=session, symbol="AAPL", asset_class="equity", providers=["yahoo", "stooq"])
    for kwargs, message in [
        ({"symbol": "AAPL", "asset_class": "equity", "providers": ["yahoo"]}, "exists already"),
        ({"symbol": "X", "asset_class": "bond", "providers": ["yahoo"]}, "asset class 'bond'"),
        ({"symbol": "X", "asset_class": "equity", "providers": ["bloomberg"]}, "providers must be some of"),
        ({"symbol": "X", "asset_class": "equity", "providers": []}, "providers must be some of"),
    ]:
        with pytest.raises(InstrumentInvalid, match=message), session_scope(database_url) as session:
            add_instrument(session=session, **kwargs)


def test_reactivate_clears_the_unknown_mark(database_url):
    with session_scope(database_url) as session:
        session.add(Instrument(symbol="ZZZ", asset_class="equity", unknown_at=SATURDAY_NOON, price_error="unknown"))
    with session_scope(database_url) as session:
        reactivate(session=session, symbol="ZZZ")
    with session_scope(database_url) as session:
        [view] = list_prices(session=session, now=SATURDAY_NOON, max_age_s=900)
        assert not view.unknown and view.error is None
    with pytest.raises(InstrumentNotFound), session_scope(database_url) as session:
        reactivate(session=session, symbol="NOPE")
