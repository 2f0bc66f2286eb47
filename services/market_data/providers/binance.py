"""Binance public REST: prices through ticker/price (100 symbols a call), bars through klines (1000 a
page), asset info through exchangeInfo. Prices arrive as strings and become Decimal as written.

Every request spends its weight from the shared budget (TICKWORK_BINANCE_WEIGHT_PER_MINUTE, under the
server's 6000), and every answer's X-MBX-USED-WEIGHT-1M raises our count to the server's.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import requests

from services.errors import NotSupported, UnknownSymbol
from services.market_data.http import BadResponse, read_json, response_time, unexpected
from services.market_data.providers.base import Bar, History, Info, Quote, QuoteBatch
from services.market_data.providers.http_provider import HttpProvider

LIVE_URL = "https://api.binance.com"
USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"
INTERVALS = {"1m": "1m", "5m": "5m", "15m": "15m", "1h": "1h", "1d": "1d", "1wk": "1w"}  # ours -> Binance's
# Request weights (Binance's rest-api.md): what each call spends from the budget.
WEIGHT_PRICE = 2  # ticker/price?symbol=
WEIGHT_PRICES = 4  # ticker/price?symbols=[...]
WEIGHT_KLINES = 2
WEIGHT_EXCHANGE_INFO = 20
KLINES_PER_PAGE = 1000
INVALID_SYMBOL = -1121
ILLEGAL_CHARACTERS = -1100  # a symbol that cannot exist (lower case, punctuation): unknown too
INVALID_INTERVAL = -1120


class BinanceProvider(HttpProvider):
    name = "binance"
    max_batch = 100
    intervals = frozenset(INTERVALS)

    # -- quotes -------------------------------------------------------------------------------------

    def _quote_batch(self, symbols: list[str], batch: QuoteBatch) -> None:
        """One call for the lot; an unknown symbol fails the whole call, so halve until it is found."""
        try:
            found = self._ask_prices(symbols)
        except UnknownSymbol as error:
            if len(symbols) == 1:
                batch.unknown[symbols[0]] = str(error.args[0])
                return
            half = len(symbols) // 2
            self._quote_batch(symbols[:half], batch)
            self._quote_batch(symbols[half:], batch)
            return
        for symbol in symbols:
            quote = found.get(symbol.upper())
            if quote is not None:
                batch.quotes[symbol] = quote if quote.symbol == symbol else Quote(symbol, quote.price, quote.at, "USDT")

    def _ask_prices(self, symbols: list[str]) -> dict[str, Quote]:
        def read(response: requests.Response) -> dict[str, Quote]:
            body = _read_body(response, ", ".join(symbols))
            rows = body if isinstance(body, list) else [body]
            at = response_time(response)  # Binance gives no time per price
            quotes = {}
            for row in rows:
                if not isinstance(row, dict) or "price" not in row:
                    raise BadResponse(f"ticker/price row without a price: {str(row)[:200]}")
                quotes[str(row["symbol"]).upper()] = Quote(str(row["symbol"]), Decimal(str(row["price"])), at, "USDT")
            return quotes

        if len(symbols) == 1:
            return self.http.get("/api/v3/ticker/price", read, params={"symbol": symbols[0]}, cost=WEIGHT_PRICE)
        listed = json.dumps(symbols, separators=(",", ":"))  # Binance refuses spaces in the array
        return self.http.get("/api/v3/ticker/price", read, params={"symbols": listed}, cost=WEIGHT_PRICES)

    # -- history ------------------------------------------------------------------------------------

    def history(self, symbol: str, start: date, end: date, interval: str) -> History:
        if interval not in INTERVALS:
            raise NotSupported(f"binance has no {interval!r} bars")
        start_ms = _ms(datetime.combine(start, time(0), UTC))
        end_ms = _ms(datetime.combine(end + timedelta(days=1), time(0), UTC)) - 1

        def read(response: requests.Response) -> list[Any]:
            body = _read_body(response, symbol)
            if not isinstance(body, list):
                raise BadResponse(f"klines answer is not a list: {str(body)[:200]}")
            return body

        bars: dict[datetime, Bar] = {}
        while start_ms <= end_ms:
            params = {
                "symbol": symbol,
                "interval": INTERVALS[interval],
                "startTime": str(start_ms),
                "endTime": str(end_ms),
                "limit": str(KLINES_PER_PAGE),
            }
            rows = self.http.get("/api/v3/klines", read, params=params, cost=WEIGHT_KLINES)
            for row in rows:
                bar = _bar_of(row)
                if _ms(bar.ts) <= end_ms:
                    bars[bar.ts] = bar
            if len(rows) < KLINES_PER_PAGE:
                break
            start_ms = int(rows[-1][0]) + 1  # the next page starts after this page's last open
        return History(bars=[bars[ts] for ts in sorted(bars)])

    # -- asset info ---------------------------------------------------------------------------------

    def asset_info(self, symbol: str) -> Info:
        def read(response: requests.Response) -> Info:
            body = _read_body(response, symbol)
            listed = body.get("symbols") if isinstance(body, dict) else None
            matches = [s for s in listed or [] if isinstance(s, dict) and s.get("symbol") == symbol]
            if not matches:
                raise UnknownSymbol("binance", symbol, "exchangeInfo does not list it")
            info = matches[0]
            details = {k: v for k, v in info.items() if isinstance(v, str | int | bool)}
            return Info(
                name=f"{info.get('baseAsset')}/{info.get('quoteAsset')}",
                asset_type="crypto",
                exchange="Binance",
                currency=info.get("quoteAsset"),
                details=details,
                **_trading_rules(info.get("filters")),  # type: ignore[arg-type]
            )

        return self.http.get("/api/v3/exchangeInfo", read, params={"symbol": symbol}, cost=WEIGHT_EXCHANGE_INFO)


def _read_body(response: requests.Response, symbols: str) -> Any:
    """The JSON of a 200; Binance's error bodies become UnknownSymbol, NotSupported or BadResponse."""
    body = read_json(response)
    code = body.get("code") if isinstance(body, dict) else None
    if response.status_code == 200 and code is None:
        return body
    message = f"{code} {body.get('msg', '')}" if isinstance(body, dict) else ""
    if response.status_code == 400 and code in (INVALID_SYMBOL, ILLEGAL_CHARACTERS):
        raise UnknownSymbol("binance", symbols, message)
    if response.status_code == 400 and code == INVALID_INTERVAL:
        raise NotSupported(f"binance: {message}")
    if response.status_code == 200:
        raise BadResponse(f"error inside a 200: {message}")
    raise unexpected(response)


def _trading_rules(filters: Any) -> dict[str, Decimal | None]:
    """LOT_SIZE stepSize/minQty, NOTIONAL (or the older MIN_NOTIONAL) minNotional, PRICE_FILTER
    tickSize; a zero means "no rule" in Binance's filters, and becomes None."""
    by_type = {f.get("filterType"): f for f in filters or [] if isinstance(f, dict)}
    notional = by_type.get("NOTIONAL") or by_type.get("MIN_NOTIONAL") or {}

    def number(spec: dict[str, Any] | None, key: str) -> Decimal | None:
        raw = (spec or {}).get(key)
        try:
            value = Decimal(str(raw)) if raw is not None else None
        except ArithmeticError:
            raise BadResponse(f"exchangeInfo filter {key}={raw!r} is not a number") from None
        return value if value else None

    return {
        "lot_step": number(by_type.get("LOT_SIZE"), "stepSize"),
        "min_quantity": number(by_type.get("LOT_SIZE"), "minQty"),
        "min_notional": number(notional, "minNotional"),
        "tick_size": number(by_type.get("PRICE_FILTER"), "tickSize"),
    }


def _bar_of(row: list[Any]) -> Bar:
    """[open ms, open, high, low, close, volume, close ms, ...], numbers as strings."""
    return Bar(
        ts=datetime.fromtimestamp(int(row[0]) / 1000, UTC),
        open=Decimal(str(row[1])),
        high=Decimal(str(row[2])),
        low=Decimal(str(row[3])),
        close=Decimal(str(row[4])),
        volume=Decimal(str(row[5])),
    )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
