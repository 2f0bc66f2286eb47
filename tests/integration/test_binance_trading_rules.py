"""The sandbox serves Binance's exchangeInfo symbol filters in Binance's format, and the Binance
provider turns them into the instrument's trading rules, stored with its reference data."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests

from services.market_data.asset_info import fetch_asset_info
from services.market_data.catalog import add_instrument
from services.market_data.providers import open_providers
from services.market_data.providers.base import Provider
from services.settings import Settings
from services.storage.db import session_factory, session_scope
from services.storage.models import AssetInfo


@pytest.fixture
def providers(sandbox: Any, database_url: str) -> Iterator[dict[str, Provider]]:
    settings = Settings(database_url=database_url, tickwork_market_data="sandbox", tickwork_sandbox_url=sandbox.url)
    with open_providers(settings, max_wait_s=5, backoff_s=0.01) as built:
        yield built


def test_exchange_info_lists_the_lot_notional_and_price_filters_as_binance_does(sandbox: Any) -> None:
    answer = requests.get(
        sandbox.base_url("binance") + "/api/v3/exchangeInfo", params={"symbol": "BTCUSDT"}, timeout=10
    )
    (symbol,) = answer.json()["symbols"]
    filters = {f["filterType"]: f for f in symbol["filters"]}
    # Binance's keys and types: decimals as 8-place strings, counts as integers, flags as booleans
    assert set(filters["LOT_SIZE"]) == {"filterType", "minQty", "maxQty", "stepSize"}
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"  # BTC's step on Binance
    assert set(filters["NOTIONAL"]) == {
        "filterType",
        "minNotional",
        "applyMinToMarket",
        "maxNotional",
        "applyMaxToMarket",
        "avgPriceMins",
    }
    assert filters["NOTIONAL"]["minNotional"] == "5.00000000" and filters["NOTIONAL"]["applyMinToMarket"] is True
    assert set(filters["PRICE_FILTER"]) == {"filterType", "minPrice", "maxPrice", "tickSize"}
    assert filters["MAX_NUM_ORDERS"]["maxNumOrders"] == 200


def test_the_provider_parses_the_filters_and_asset_info_stores_them(providers: Any, database_url: str) -> None:
    info = providers["binance"].asset_info("SOLUSDT")
    assert (info.lot_step, info.min_quantity, info.min_notional) == (Decimal("0.001"), Decimal("0.001"), Decimal(5))
    assert info.tick_size is not None and info.tick_size > 0
    # When fetch_asset_info runs for an instrument priced by Binance
    with session_scope(database_url) as session:
        add_instrument(
            session=session,
            symbol="BTC-USD",
            asset_class="crypto",
            providers=["binance"],
            provider_symbols={"binance": "BTCUSDT"},
        )
    fetch_asset_info(session_factory=session_factory(database_url), providers=providers, symbol="BTC-USD")
    # Then the instrument's reference data carries the rules
    with session_scope(database_url) as session:
        (row,) = session.query(AssetInfo).all()
        assert (row.lot_step, row.min_quantity, row.min_notional) == (
            Decimal("0.00001"),
            Decimal("0.00001"),
            Decimal(5),
        )
        assert row.tick_size == info_tick(providers, "BTCUSDT")


def info_tick(providers: Any, symbol: str) -> Decimal | None:
    return providers["binance"].asset_info(symbol).tick_size
