"""Yahoo Finance: quotes through spark (20 symbols a call), history and events through chart, asset
info through search. JSON numbers are read as Decimal; `null` bars (no trade) are dropped.

Yahoo has no published limit: our budget is TICKWORK_YAHOO_REQUESTS_PER_MINUTE, one unit a request.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any
from urllib.parse import quote as url_quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from services.errors import NotSupported, ProviderError, UnknownSymbol
from services.market_data.http import BadResponse, read_json, unexpected
from services.market_data.providers.base import Bar, History, Info, Quote, QuoteBatch
from services.market_data.providers.http_provider import HttpProvider

log = logging.getLogger("tickwork.market_data")

LIVE_URL = "https://query1.finance.yahoo.com"
INTERVALS = {"1m": "1m", "5m": "5m", "15m": "15m", "1h": "1h", "1d": "1d", "1wk": "1wk"}  # ours -> Yahoo's
DAILY = frozenset({"1d", "1wk"})  # bars stamped with their exchange-local date, at 00:00 UTC
# Chart values are float32s printed in full (229.8699951171875): rounded to `meta.priceHint`
# decimals, plus a few for the adjusted close, which is a computed value.
ADJUSTED_EXTRA_DECIMALS = 4
ASSET_TYPES = {"EQUITY": "equity", "ETF": "etf", "CRYPTOCURRENCY": "crypto", "MUTUALFUND": "fund", "INDEX": "index"}


class YahooProvider(HttpProvider):
    name = "yahoo"
    max_batch = 20
    intervals = frozenset(INTERVALS)

    # -- quotes -------------------------------------------------------------------------------------

    def _quote_batch(self, symbols: list[str], batch: QuoteBatch) -> None:
        params = {"symbols": ",".join(symbols), "range": "1d", "interval": "1d"}
        found = self.http.get("/v7/finance/spark", _read_spark, params=params)
        for symbol in symbols:
            quote = found.get(symbol.upper())
            if quote is not None:
                batch.quotes[symbol] = _renamed(quote, symbol)
            else:
                self._confirm_missing(symbol, batch)

    def _confirm_missing(self, symbol: str, batch: QuoteBatch) -> None:
        """Spark leaves out what it cannot find, also by accident: one chart call tells which."""
        try:
            result = self._chart(symbol, {"range": "1d", "interval": "1d"})
        except UnknownSymbol as error:
            batch.unknown[symbol] = error.args[0]
            return
        except ProviderError as error:
            log.info("provider=yahoo event=confirm_failed symbol=%s error=%r", symbol, error.detail)
            return  # neither priced nor unknown: the caller tries elsewhere or later
        quote = _quote_of(result.get("meta") or {})
        if quote is not None:
            batch.quotes[symbol] = _renamed(quote, symbol)

    # -- history ------------------------------------------------------------------------------------

    def history(self, symbol: str, start: date, end: date, interval: str) -> History:
        if interval not in INTERVALS:
            raise NotSupported(f"yahoo has no {interval!r} bars")
        period1 = datetime.combine(start, time(0), UTC)
        period2 = datetime.combine(end + timedelta(days=1), time(0), UTC)
        if interval in DAILY:
            # A daily bar is stamped with its session's open, which falls on another UTC day far
            # east or west of UTC: ask a day wider, then keep the bars of the wanted local dates.
            period1, period2 = period1 - timedelta(days=1), period2 + timedelta(days=1)
        params = {
            "period1": str(int(period1.timestamp())),
            "period2": str(int(period2.timestamp())),
            "interval": INTERVALS[interval],
            "events": "div,splits",
            "includeAdjustedClose": "true",
        }
        result = self._chart(symbol, params)
        return _history_of(result, start, end, daily=interval in DAILY)

    def _chart(self, symbol: str, params: dict[str, str]) -> dict[str, Any]:
        def read(response: requests.Response) -> dict[str, Any]:
            return _read_chart(response, symbol)

        return self.http.get(f"/v8/finance/chart/{url_quote(symbol, safe='')}", read, params=params)

    # -- asset info ---------------------------------------------------------------------------------

    def asset_info(self, symbol: str) -> Info:
        def read(response: requests.Response) -> Info:
            if response.status_code != 200:
                raise unexpected(response)
            body = read_json(response)
            if not isinstance(body, dict) or not isinstance(body.get("quotes"), list):
                raise BadResponse(f"search answer without quotes: {str(body)[:200]}")
            for quote in body["quotes"]:
                if isinstance(quote, dict) and quote.get("symbol") == symbol:
                    return _info_of(quote)
            raise UnknownSymbol("yahoo", symbol, "search found no quote of that exact symbol")

        return self.http.get("/v1/finance/search", read, params={"q": symbol, "quotesCount": "1", "newsCount": "0"})


# -- reading the wire format -------------------------------------------------------------------------


def _read_spark(response: requests.Response) -> dict[str, Quote]:
    """Quotes by upper-case symbol; none when Yahoo knows none of the batch (its 404)."""
    body = read_json(response, decimals=True)
    spark = body.get("spark") if isinstance(body, dict) else None
    if not isinstance(spark, dict):
        raise BadResponse(f"HTTP {response.status_code}: no spark object: {str(body)[:200]}")
    if response.status_code == 404:
        return {}
    if response.status_code != 200:
        raise unexpected(response)
    if spark.get("error"):
        raise BadResponse(f"spark error in a 200: {spark['error']}")
    quotes: dict[str, Quote] = {}
    for item in spark.get("result") or []:
        results = item.get("response") or [{}]
        quote = _quote_of(results[0].get("meta") or {})
        if quote is not None:
            quotes[str(item.get("symbol", quote.symbol)).upper()] = quote
    return quotes


def _read_chart(response: requests.Response, symbol: str) -> dict[str, Any]:
    body = read_json(response, decimals=True)
    chart = body.get("chart") if isinstance(body, dict) else None
    if not isinstance(chart, dict):
        raise BadResponse(f"HTTP {response.status_code}: no chart object: {str(body)[:200]}")
    error = chart.get("error") or {}
    description = str(error.get("description") or error.get("code") or "") if isinstance(error, dict) else str(error)
    if response.status_code == 404:
        raise UnknownSymbol("yahoo", symbol, description or "HTTP 404")
    if response.status_code == 422:
        raise NotSupported(f"yahoo: {description or 'HTTP 422'}")
    if response.status_code != 200:
        raise unexpected(response)
    if error:
        raise BadResponse(f"chart error in a 200: {description}")
    results = chart.get("result")
    if not results or not isinstance(results[0], dict):
        raise BadResponse("chart answer without a result")
    result: dict[str, Any] = results[0]
    return result


def _quote_of(meta: dict[str, Any]) -> Quote | None:
    price, at = meta.get("regularMarketPrice"), meta.get("regularMarketTime")
    if price is None or at is None:
        return None
    return Quote(
        symbol=str(meta.get("symbol", "")),
        price=_rounded(Decimal(price), _price_hint(meta)),
        at=datetime.fromtimestamp(int(at), UTC),
        currency=meta.get("currency"),
    )


def _renamed(quote: Quote, symbol: str) -> Quote:
    return quote if quote.symbol == symbol else Quote(symbol, quote.price, quote.at, quote.currency)


def _price_hint(meta: dict[str, Any]) -> int | None:
    hint = meta.get("priceHint")
    return int(hint) if isinstance(hint, int | Decimal) and 0 <= hint <= 10 else None


def _rounded(value: Decimal, decimals: int | None) -> Decimal:
    return value if decimals is None else value.quantize(Decimal(1).scaleb(-decimals))


def _exchange_zone(meta: dict[str, Any]) -> tzinfo:
    try:
        return ZoneInfo(str(meta["exchangeTimezoneName"]))
    except (KeyError, ValueError, ZoneInfoNotFoundError):
        return timezone(timedelta(seconds=int(meta.get("gmtoffset") or 0)))


def _history_of(result: dict[str, Any], start: date, end: date, *, daily: bool) -> History:
    meta = result.get("meta") or {}
    zone = _exchange_zone(meta)
    hint = _price_hint(meta)
    adjusted_hint = None if hint is None else hint + ADJUSTED_EXTRA_DECIMALS

    def stamp(epoch: Any) -> tuple[date, datetime]:
        moment = datetime.fromtimestamp(int(epoch), UTC)
        if not daily:
            return moment.date(), moment
        local = moment.astimezone(zone).date()
        return local, datetime.combine(local, time(0), UTC)

    timestamps = result.get("timestamp") or []
    quote = ((result.get("indicators") or {}).get("quote") or [{}])[0] or {}
    adjclose = (((result.get("indicators") or {}).get("adjclose") or [{}])[0] or {}).get("adjclose") or []

    def column(values: Any, i: int, decimals: int | None = hint) -> Decimal | None:
        value = values[i] if values is not None and i < len(values) else None
        return None if value is None else _rounded(Decimal(value), decimals)

    bars: dict[datetime, Bar] = {}
    for i, epoch in enumerate(timestamps):
        day, ts = stamp(epoch)
        close = column(quote.get("close"), i)
        if close is None or not start <= day <= end:
            continue  # a bar with no trade is dropped, never invented
        # Yahoo may repeat the day's live bar after the session's; the later one wins.
        bars[ts] = Bar(
            ts=ts,
            close=close,
            open=column(quote.get("open"), i),
            high=column(quote.get("high"), i),
            low=column(quote.get("low"), i),
            adj_close=column(adjclose, i, adjusted_hint),
            volume=column(quote.get("volume"), i, None),
        )
    events = result.get("events") or {}
    splits: dict[date, Decimal] = {}
    for split in (events.get("splits") or {}).values():
        day, _ = stamp(split["date"])
        if start <= day <= end and split.get("denominator"):
            splits[day] = Decimal(split["numerator"]) / Decimal(split["denominator"])
    dividends: dict[date, Decimal] = {}
    for dividend in (events.get("dividends") or {}).values():
        day, _ = stamp(dividend["date"])
        if start <= day <= end and dividend.get("amount") is not None:
            dividends[day] = Decimal(dividend["amount"])
    return History(bars=[bars[ts] for ts in sorted(bars)], splits=splits, dividends=dividends)


def _info_of(quote: dict[str, Any]) -> Info:
    kind = str(quote.get("quoteType") or "")
    return Info(
        name=str(quote.get("longname") or quote.get("shortname") or quote["symbol"]),
        asset_type=ASSET_TYPES.get(kind, kind.lower() or None),
        exchange=quote.get("exchDisp") or quote.get("exchange"),
        sector=quote.get("sectorDisp") or quote.get("sector"),
        industry=quote.get("industryDisp") or quote.get("industry"),
        details={k: v for k, v in quote.items() if isinstance(v, str | int | float | bool)},
    )
