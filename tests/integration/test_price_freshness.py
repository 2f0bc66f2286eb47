"""Price freshness per asset class, in market time, and the gauges the scheduler serves from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from services.market_data.freshness import price_freshness
from services.market_data.freshness_metrics import PriceFreshnessCollector
from services.storage.db import session_factory, session_scope
from services.storage.models import Instrument

SATURDAY_NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
FRIDAY_CLOSE = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # 16:00 New York


@pytest.mark.both_databases
def test_freshness_counts_stale_prices_in_market_time(database_url):
    # Given equities priced at Friday's close and on Thursday, crypto 10 and 20 minutes ago, one unpriced
    rows = [
        ("AAPL", "equity", FRIDAY_CLOSE - timedelta(minutes=1)),
        ("MSFT", "equity", FRIDAY_CLOSE - timedelta(days=1)),
        ("NVDA", "equity", None),
        ("BTC-USD", "crypto", SATURDAY_NOON - timedelta(minutes=10)),
        ("ETH-USD", "crypto", SATURDAY_NOON - timedelta(minutes=20)),
    ]
    with session_scope(database_url) as session:
        for symbol, asset_class, at in rows:
            price = Decimal(1) if at else None
            session.add(Instrument(symbol=symbol, asset_class=asset_class, last_price=price, last_price_at=at))
        session.add(Instrument(symbol="GONE", asset_class="equity", active=False))

    # When freshness is read on Saturday at noon with a 15-minute limit
    with session_scope(database_url) as session:
        found = {f.asset_class: f for f in price_freshness(session=session, now=SATURDAY_NOON, max_age_s=900)}

    # Then the weekend does not age Friday's close, Thursday's is stale, and crypto ages by the clock
    equity, crypto = found["equity"], found["crypto"]
    assert (equity.instruments, equity.unpriced, equity.stale) == (3, 1, 2)
    assert equity.oldest_age_s == timedelta(days=1).total_seconds()
    assert (crypto.instruments, crypto.unpriced, crypto.stale) == (2, 0, 1)
    assert crypto.oldest_age_s == 20 * 60


def test_the_collector_serves_the_gauges_by_asset_class(database_url):
    with session_scope(database_url) as session:
        session.add(Instrument(symbol="BTC-USD", asset_class="crypto"))
    registry = CollectorRegistry()
    registry.register(PriceFreshnessCollector(session_factory=session_factory(database_url), max_age_s=900))

    exposition = generate_latest(registry).decode()

    assert 'tickwork_prices_stale{asset_class="crypto"} 1.0' in exposition
    assert 'tickwork_instruments{asset_class="crypto"} 1.0' in exposition
