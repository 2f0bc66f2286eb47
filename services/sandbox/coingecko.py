"""CoinGecko's public API v3 as api.coingecko.com answers it: simple/price and coins/{id}.

Prices are JSON numbers. CoinGecko refreshes a price about every 30 seconds: `last_updated_at`
is the last such refresh, and the price is the market's at that instant. Only `usd` is quoted;
other vs_currencies are left out of each coin's object, as CoinGecko leaves out what it lacks.
"""

from __future__ import annotations

import math
import re
from typing import Any

from services.sandbox.market import Market
from services.sandbox.path import symbol_seed, unit
from services.sandbox.universe import Asset, from_coingecko
from services.sandbox.wire import PROXY_PAGE, Request, Response, json_response, text_response

REFRESH_S = 30
RATE_LIMIT_BODY = {
    "status": {
        "error_code": 429,
        "error_message": "You've exceeded the Rate Limit. Please visit https://www.coingecko.com/en/api/pricing"
        " to subscribe to our API plans for higher rate limits.",
    }
}
_COIN = re.compile(r"/api/v3/coins/([^/]+)")


def handle(request: Request, *, market: Market) -> Response:
    if request.path == "/api/v3/simple/price":
        return simple_price(request, market)
    if match := _COIN.fullmatch(request.path):
        return coin(request, match[1], market)
    if request.path == "/api/v3/ping":
        return json_response(200, {"gecko_says": "(V3) To the Moon!"})
    return json_response(404, {"error": "Incorrect path. Please check https://www.coingecko.com/api/"})


def rate_limited(retry_after: int) -> Response:
    return json_response(429, RATE_LIMIT_BODY, {"Retry-After": str(retry_after)})


def server_error(status: int) -> Response:
    if status == 503:  # what the CDN in front of CoinGecko serves
        return text_response(503, PROXY_PAGE, "text/html;charset=utf-8")
    return json_response(status, {"status": {"error_code": status, "error_message": "Internal Server Error"}})


def error_in_200(request: Request) -> Response:
    return text_response(200, PROXY_PAGE, "text/html;charset=utf-8")


def _number(value: float) -> float | int:
    return int(value) if value == int(value) and abs(value) < 2**53 else value


def _supply(asset: Asset) -> float:
    return 1e6 * math.exp(8 * unit(symbol_seed(asset.symbol), 3000, 0))


def simple_price(request: Request, market: Market) -> Response:
    ids = [i.strip() for i in (request.arg("ids") or "").split(",") if i.strip()]
    currencies = [c.strip().lower() for c in (request.arg("vs_currencies") or "").split(",") if c.strip()]
    if not ids:
        return json_response(400, {"error": "Missing parameter ids"})
    if not currencies:
        return json_response(400, {"error": "Missing parameter vs_currencies"})
    flags = {
        name: (request.arg(name) or "false").lower() == "true"
        for name in ("include_market_cap", "include_24hr_vol", "include_24hr_change", "include_last_updated_at")
    }
    updated = math.floor(request.now / REFRESH_S) * REFRESH_S
    body: dict[str, Any] = {}
    for coin_id in ids:
        asset = from_coingecko(coin_id.lower())
        if asset is None:
            continue  # unknown ids are simply absent
        entry: dict[str, Any] = {}
        if "usd" in currencies:
            price = market.price(asset, updated).value
            entry["usd"] = _number(price)
            if flags["include_market_cap"]:
                entry["usd_market_cap"] = round(price * _supply(asset), 2)
            if flags["include_24hr_vol"]:
                entry["usd_24h_vol"] = round(price * asset.daily_volume, 2)
            if flags["include_24hr_change"]:
                before = market.price(asset, updated - 86400).value
                entry["usd_24h_change"] = (price / before - 1) * 100
        if flags["include_last_updated_at"]:
            entry["last_updated_at"] = updated
        body[coin_id] = entry
    return json_response(200, body)


def coin(request: Request, coin_id: str, market: Market) -> Response:
    asset = from_coingecko(coin_id)
    if asset is None:
        return json_response(404, {"error": "coin not found"})
    body: dict[str, Any] = {
        "id": coin_id,
        "symbol": asset.base_asset.lower(),
        "name": asset.name,
        "web_slug": coin_id,
        "asset_platform_id": None,
        "platforms": {"": ""},
        "detail_platforms": {"": {"decimal_place": None, "contract_address": ""}},
        "block_time_in_minutes": 0,
        "hashing_algorithm": None,
        "categories": list(asset.categories),
        "preview_listing": False,
        "public_notice": None,
        "additional_notices": [],
        "description": {"en": f"{asset.name} is a simulated coin of the Tickwork sandbox market."},
        "links": {"homepage": [asset.homepage, "", ""], "blockchain_site": [], "subreddit_url": None},
        "image": {"thumb": "", "small": "", "large": ""},
        "country_origin": "",
        "genesis_date": asset.listed.isoformat(),
        "sentiment_votes_up_percentage": 50.0,
        "sentiment_votes_down_percentage": 50.0,
        "watchlist_portfolio_users": 1000,
        "market_cap_rank": None,
        "status_updates": [],
        "last_updated": _iso(math.floor(request.now / REFRESH_S) * REFRESH_S),
    }
    return json_response(200, body)


def _iso(at: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
