"""CoinGecko: prices through simple/price (100 ids a call), asset info through coins/{id}. No history
here (NotSupported): Binance is the crypto history source.

JSON numbers are read as Decimal. Budget: TICKWORK_COINGECKO_REQUESTS_PER_MINUTE (the public and demo
plans allow about 30 a minute); a demo key (TICKWORK_COINGECKO_API_KEY) goes in `x-cg-demo-api-key`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote as url_quote

import requests

from services.errors import NotSupported, UnknownSymbol
from services.market_data.http import BadResponse, read_json, response_time, unexpected
from services.market_data.providers.base import History, Info, Quote, QuoteBatch
from services.market_data.providers.http_provider import HttpProvider

LIVE_URL = "https://api.coingecko.com"
API_KEY_HEADER = "x-cg-demo-api-key"
VS_CURRENCY = "usd"
DESCRIPTION_CHARS = 1000  # asset info keeps the start of the description, not pages of it


class CoinGeckoProvider(HttpProvider):
    name = "coingecko"
    max_batch = 100
    intervals: frozenset[str] = frozenset()

    def _quote_batch(self, symbols: list[str], batch: QuoteBatch) -> None:
        params = {
            "ids": ",".join(symbols),
            "vs_currencies": VS_CURRENCY,
            "include_last_updated_at": "true",
            "precision": "full",
        }
        found = self.http.get("/api/v3/simple/price", _read_prices, params=params)
        for coin in symbols:
            entry = found.get(coin)
            if entry is None:
                # CoinGecko leaves unknown ids out of the answer: that is how it says so.
                batch.unknown[coin] = "not in simple/price's answer"
            elif entry.get(VS_CURRENCY) is not None:
                batch.quotes[coin] = _quote_of(coin, entry, found.received_at)

    def history(self, symbol: str, start: date, end: date, interval: str) -> History:
        raise NotSupported("coingecko: history comes from binance")

    def asset_info(self, symbol: str) -> Info:
        def read(response: requests.Response) -> Info:
            if response.status_code == 404:
                body = read_json(response)
                raise UnknownSymbol("coingecko", symbol, str(body.get("error") if isinstance(body, dict) else body))
            body = _read_body(response)
            links = body.get("links") or {}
            description = (body.get("description") or {}).get("en") or ""
            return Info(
                name=str(body.get("name") or symbol),
                asset_type="crypto",
                details={
                    "id": body.get("id"),
                    "symbol": body.get("symbol"),
                    "categories": [c for c in body.get("categories") or [] if isinstance(c, str)],
                    "homepage": [u for u in links.get("homepage") or [] if u],
                    "description": description[:DESCRIPTION_CHARS],
                },
            )

        params = {
            "localization": "false",
            "tickers": "false",
            "market_data": "false",
            "community_data": "false",
            "developer_data": "false",
        }
        return self.http.get(f"/api/v3/coins/{url_quote(symbol, safe='')}", read, params=params)


class _Prices(dict[str, Any]):
    """simple/price's answer by id, and when it was received (for entries without a time)."""

    received_at: datetime


def _read_prices(response: requests.Response) -> _Prices:
    prices = _Prices(_read_body(response, decimals=True))
    prices.received_at = response_time(response)
    return prices


def _read_body(response: requests.Response, *, decimals: bool = False) -> dict[str, Any]:
    if response.status_code != 200:
        raise unexpected(response)
    body = read_json(response, decimals=decimals)
    if not isinstance(body, dict):
        raise BadResponse(f"expected a JSON object: {str(body)[:200]}")
    status = body.get("status")
    if isinstance(status, dict) and status.get("error_code"):
        raise BadResponse(f"error inside a 200: {status.get('error_code')} {status.get('error_message', '')}")
    if "error" in body and len(body) == 1:
        raise BadResponse(f"error inside a 200: {body['error']}")
    return body


def _quote_of(coin: str, entry: dict[str, Any], received_at: datetime) -> Quote:
    updated = entry.get("last_updated_at")
    at = datetime.fromtimestamp(int(updated), UTC) if updated else received_at
    return Quote(symbol=coin, price=Decimal(entry[VS_CURRENCY]), at=at, currency=VS_CURRENCY.upper())
