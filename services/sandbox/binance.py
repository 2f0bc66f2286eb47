"""Binance's public spot REST API as api.binance.com answers it: ticker/price, klines, exchangeInfo.

Request weights are Binance's: ticker/price 2 for one symbol and 4 for several or all, klines 2,
exchangeInfo 20. Every answer carries `X-MBX-USED-WEIGHT-1M` (the server adds it). Binance serves
intervals 1s and 3d and 1M too; the sandbox does not simulate those three (they answer -1120).
A `limit` above 1000 is served as 1000, as Binance does.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, time
from functools import lru_cache
from typing import Any

from services.errors import TickworkError
from services.sandbox.market import Interval, Market
from services.sandbox.universe import DEMO, Asset, from_binance, generated_symbols
from services.sandbox.universe import asset as find_asset
from services.sandbox.wire import PROXY_PAGE, Request, Response, json_response, text_response

INTERVALS = {
    "1m": Interval("minute", 1),
    "3m": Interval("minute", 3),
    "5m": Interval("minute", 5),
    "15m": Interval("minute", 15),
    "30m": Interval("minute", 30),
    "1h": Interval("minute", 60),
    "2h": Interval("minute", 120),
    "4h": Interval("minute", 240),
    "6h": Interval("minute", 360),
    "8h": Interval("minute", 480),
    "12h": Interval("minute", 720),
    "1d": Interval("day"),
    "1w": Interval("week"),
}
MAX_KLINES = 1000
DEFAULT_KLINES = 500
WEIGHT_LIMIT_TEXT = (
    "Too much request weight used; current limit is {limit} request weight per 1 MINUTE."
    " Please use WebSocket Streams for live updates to avoid polling the API."
)
_SYMBOL = re.compile(r"[A-Z0-9\-_.]{1,20}")
_SYMBOLS = r"^\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\]$"


def weight(request: Request) -> int:
    """The request weight Binance charges for this call."""
    if request.path == "/api/v3/ticker/price":
        return 2 if request.arg("symbol") else 4
    if request.path == "/api/v3/exchangeInfo":
        return 20
    if request.path == "/api/v3/klines":
        return 2
    return 1


def handle(request: Request, *, market: Market) -> Response:
    routes = {"/api/v3/ticker/price": ticker_price, "/api/v3/klines": klines, "/api/v3/exchangeInfo": exchange_info}
    route = routes.get(request.path)
    if route is None:
        if request.path == "/api/v3/ping":
            return json_response(200, {})
        if request.path == "/api/v3/time":
            return json_response(200, {"serverTime": int(request.now * 1000)})
        return text_response(404, "", "text/html")  # Binance answers unknown paths with an empty 404
    try:
        return route(request, market)
    except _BinanceError as error:
        return error.response


class _BinanceError(TickworkError):
    """Raised when a request breaks Binance's rules; it becomes Binance's error body and status."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.response = json_response(status, {"code": code, "msg": msg})


def _invalid_symbol() -> _BinanceError:
    return _BinanceError(400, -1121, "Invalid symbol.")


# -- errors ---------------------------------------------------------------------------------------
def rate_limited(retry_after: int, limit: int) -> Response:
    return json_response(
        429, {"code": -1003, "msg": WEIGHT_LIMIT_TEXT.format(limit=limit)}, {"Retry-After": str(retry_after)}
    )


def banned(retry_after: int, now: float) -> Response:
    until = int((now + retry_after) * 1000)
    msg = (
        f"Way too much request weight used; IP banned until {until}."
        " Please use WebSocket Streams for live updates to avoid bans."
    )
    return json_response(418, {"code": -1003, "msg": msg}, {"Retry-After": str(retry_after)})


def server_error(status: int) -> Response:
    if status == 503:
        return json_response(
            503,
            {
                "code": -1008,
                "msg": "Server is currently overloaded with other requests. Please try again in a few minutes.",
            },
        )
    return json_response(status, {"code": -1000, "msg": "An unknown error occured while processing the request."})


def error_in_200(request: Request) -> Response:
    return text_response(200, PROXY_PAGE, "text/html;charset=utf-8")


# -- parameters -----------------------------------------------------------------------------------
def _symbol_param(request: Request, name: str = "symbol") -> str | None:
    value = request.arg(name)
    if value is None:
        return None
    if not _SYMBOL.fullmatch(value):
        raise _BinanceError(
            400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[A-Z0-9-_.]{{1,20}}$'."
        )
    return value


def _symbols_param(request: Request) -> list[str] | None:
    raw = request.arg("symbols")
    if raw is None:
        return None
    if not re.fullmatch(_SYMBOLS, raw):
        raise _BinanceError(
            400, -1100, f"Illegal characters found in parameter 'symbols'; legal range is '{_SYMBOLS}'."
        )
    symbols = json.loads(raw)
    if not symbols:
        raise _BinanceError(400, -1102, "Mandatory parameter 'symbols' was not sent, was empty/null, or malformed.")
    return symbols


def _known(symbol: str) -> Asset:
    found = from_binance(symbol)
    if found is None:
        raise _invalid_symbol()
    return found


def _int_param(request: Request, name: str) -> int | None:
    raw = request.arg(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise _BinanceError(
            400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."
        ) from None


@lru_cache(maxsize=1)
def all_symbols() -> list[str]:
    """Every pair the sandbox lists: the demo coins, then SIMC0001USDT..SIMC9999USDT."""
    coins = [a for a in DEMO.values() if a.is_crypto] + [find_asset(s) for s in generated_symbols("SIMC")]
    return [a.binance for a in coins if a is not None and a.binance]


def _price_text(value: float) -> str:
    return f"{value:.8f}"  # Binance prints every price with 8 decimals, as a string


# -- endpoints ------------------------------------------------------------------------------------
def ticker_price(request: Request, market: Market) -> Response:
    symbol, symbols = _symbol_param(request), _symbols_param(request)
    if symbol is not None and symbols is not None:
        raise _BinanceError(400, -1128, "Combination of optional parameters invalid.")
    if symbol is not None:
        asset = _known(symbol)
        return json_response(200, {"symbol": symbol, "price": _price_text(market.price(asset, request.now).value)})
    wanted = symbols if symbols is not None else all_symbols()
    assets = [_known(s) for s in wanted]  # one unknown symbol fails the whole batch
    return json_response(
        200,
        [
            {"symbol": s, "price": _price_text(market.price(a, request.now).value)}
            for s, a in zip(wanted, assets, strict=True)
        ],
    )


def klines(request: Request, market: Market) -> Response:
    symbol = _symbol_param(request)
    if symbol is None:
        raise _BinanceError(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
    interval_name = request.arg("interval")
    if interval_name is None:
        raise _BinanceError(400, -1102, "Mandatory parameter 'interval' was not sent, was empty/null, or malformed.")
    asset = _known(symbol)
    interval = INTERVALS.get(interval_name)
    if interval is None:
        raise _BinanceError(400, -1120, "Invalid interval.")
    limit = _int_param(request, "limit") or DEFAULT_KLINES
    if limit < 1:
        raise _BinanceError(
            400, -1100, "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'."
        )
    limit = min(limit, MAX_KLINES)
    start_ms, end_ms = _int_param(request, "startTime"), _int_param(request, "endTime")
    if start_ms is not None and end_ms is not None and start_ms > end_ms:
        raise _BinanceError(400, -1023, "Start time is greater than end time.")
    step_s = interval.minutes * 60
    now = request.now
    if start_ms is not None:  # (from the listing on: a start before it pages from the first bar)
        start = max(start_ms / 1000, datetime.combine(asset.listed, time(0), UTC).timestamp())
        end = min(end_ms / 1000 if end_ms is not None else now, start + limit * step_s) + 0.001
        bars = market.bars(asset, interval, start, end, now)
        keep = slice(0, limit)
    else:  # the latest `limit` bars up to endTime (or now)
        end = (end_ms / 1000 if end_ms is not None else now) + 0.001
        bars = market.bars(asset, interval, end - (limit + 1) * step_s, end, now)
        keep = slice(max(0, len(bars) - limit), len(bars))
    rows = []
    starts, ends = bars.start[keep], bars.end[keep]
    for i, (opens, high, low, close, volume) in enumerate(
        zip(bars.open[keep], bars.high[keep], bars.low[keep], bars.close[keep], bars.volume[keep], strict=True)
    ):
        quote_volume = volume * (opens + close) / 2
        taker = volume * 0.5
        trades = max(1, int(volume * 7)) if volume > 0 else 0
        rows.append(
            [
                int(starts[i] * 1000),
                f"{opens:.8f}",
                f"{high:.8f}",
                f"{low:.8f}",
                f"{close:.8f}",
                f"{volume:.8f}",
                int(ends[i] * 1000) - 1,
                f"{quote_volume:.8f}",
                trades,
                f"{taker:.8f}",
                f"{taker * (opens + close) / 2:.8f}",
                "0",
            ]
        )
    return json_response(200, rows)


def exchange_info(request: Request, market: Market) -> Response:
    symbol, symbols = _symbol_param(request), _symbols_param(request)
    if symbol is not None and symbols is not None:
        raise _BinanceError(400, -1128, "Combination of optional parameters invalid.")
    wanted = [symbol] if symbol is not None else symbols if symbols is not None else all_symbols()
    assets = [_known(s) for s in wanted]
    body = {
        "timezone": "UTC",
        "serverTime": int(request.now * 1000),
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
        ],
        "exchangeFilters": [],
        "symbols": [_symbol_info(s, a) for s, a in zip(wanted, assets, strict=True)],
    }
    return json_response(200, body)


def _symbol_info(symbol: str, asset: Asset) -> dict[str, Any]:
    tick = f"{10.0**-asset.decimals:.8f}"
    return {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": asset.base_asset,
        "baseAssetPrecision": 8,
        "quoteAsset": "USDT",
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": _filters(asset, tick),
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def _filters(asset: Asset, tick: str) -> list[dict[str, Any]]:
    """Binance's symbol filters in its order and format (numbers as 8-place strings, limits as ints).
    The lot step follows the price as Binance's listings do: 0.00001 for BTC, 0.0001 for ETH, 1 for DOGE."""
    step = f"{10.0 ** -max(0, min(8, math.floor(math.log10(asset.base_price)) + 1)):.8f}"
    return [
        {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000", "tickSize": tick},
        {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "9000000.00000000", "stepSize": step},
        {"filterType": "ICEBERG_PARTS", "limit": 10},
        {
            "filterType": "MARKET_LOT_SIZE",
            "minQty": "0.00000000",
            "maxQty": "100000.00000000",
            "stepSize": "0.00000000",
        },
        {
            "filterType": "TRAILING_DELTA",
            "minTrailingAboveDelta": 10,
            "maxTrailingAboveDelta": 2000,
            "minTrailingBelowDelta": 10,
            "maxTrailingBelowDelta": 2000,
        },
        {
            "filterType": "PERCENT_PRICE_BY_SIDE",
            "bidMultiplierUp": "5",
            "bidMultiplierDown": "0.2",
            "askMultiplierUp": "5",
            "askMultiplierDown": "0.2",
            "avgPriceMins": 5,
        },
        {
            "filterType": "NOTIONAL",
            "minNotional": "5.00000000",
            "applyMinToMarket": True,
            "maxNotional": "9000000.00000000",
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
    ]
