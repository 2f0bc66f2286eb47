"""Stooq CSV: quotes through q/l (50 symbols a call, joined by `+`), daily and weekly bars through
q/d/l. No intraday bars and no asset info (NotSupported).

Stooq speaks plain text when something is wrong, with HTTP 200: `No data` (unknown symbol, or no
bars in the range), `Exceeded the daily hits limit` (every process then waits for the next UTC
day). Its quote times are Warsaw local time. Budget: TICKWORK_STOOQ_REQUESTS_PER_MINUTE.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from urllib.parse import quote as url_quote
from zoneinfo import ZoneInfo

import requests

from services.errors import NotSupported, RateLimited, UnknownSymbol
from services.market_data.http import BadResponse, snippet, unexpected
from services.market_data.providers.base import Bar, History, Info, Quote, QuoteBatch
from services.market_data.providers.http_provider import HttpProvider

LIVE_URL = "https://stooq.com"
WARSAW = ZoneInfo("Europe/Warsaw")
INTERVALS = {"1d": "d", "1wk": "w"}  # ours -> Stooq's `i=`
QUOTE_HEADER = "Symbol,Date,Time,Open,High,Low,Close,Volume"
NO_DATA = "No data"
DAILY_LIMIT = "Exceeded the daily hits limit"
MISSING = "N/D"


class StooqProvider(HttpProvider):
    name = "stooq"
    max_batch = 50
    intervals = frozenset(INTERVALS)

    def _quote_batch(self, symbols: list[str], batch: QuoteBatch) -> None:
        # Written out by hand: Stooq wants a literal `+` between symbols and a bare `h`.
        query = "s=" + "+".join(url_quote(s, safe=".") for s in symbols) + "&f=sd2t2ohlcv&h&e=csv"
        rows = self.http.get("/q/l/", _read_quotes, params=query)
        for symbol in symbols:
            row = rows.get(symbol.upper())
            if row is None:
                continue  # not in the answer at all: neither priced nor known to be unknown
            if row["Date"] == MISSING:
                batch.unknown[symbol] = "N/D (no such symbol)"
                continue
            quote = _quote_of(symbol, row)
            if quote is not None:
                batch.quotes[symbol] = quote

    def history(self, symbol: str, start: date, end: date, interval: str) -> History:
        if interval not in INTERVALS:
            raise NotSupported(f"stooq has no {interval!r} bars")
        params = {"s": symbol, "i": INTERVALS[interval], "d1": f"{start:%Y%m%d}", "d2": f"{end:%Y%m%d}"}
        try:
            bars = self.http.get("/q/d/l/", lambda response: _read_bars(response, symbol), params=params)
        except UnknownSymbol:
            # "No data" also answers a known symbol over a range with no bars (a holiday): one quote
            # call tells them apart, so that a quiet range never marks an instrument unknown.
            if symbol in self.quotes([symbol]).unknown:
                raise
            return History()
        if interval == "1wk":
            # Stooq dates a week by its last session; a Bar is stamped with its start, as Yahoo's and
            # Binance's weeks are (Monday), so that providers can stand in for each other. Restamped
            # before the range filter, so that the same weeks are kept as theirs.
            bars = [replace(bar, ts=bar.ts - timedelta(days=bar.ts.weekday())) for bar in bars]
        return History(bars=[bar for bar in bars if start <= bar.ts.date() <= end])

    def asset_info(self, symbol: str) -> Info:
        raise NotSupported("stooq has no asset info")


def _text(response: requests.Response, header: str) -> str:
    """A CSV body that starts with `header`; Stooq's plain-text answers become our errors."""
    if response.status_code != 200:
        raise unexpected(response)
    text = response.text.strip()
    if text.startswith(DAILY_LIMIT):
        raise RateLimited("stooq", text[:200], retry_after_s=_until_next_utc_day())
    if not text.lower().startswith(header.lower()):
        raise BadResponse(f"expected CSV starting {header!r}: {snippet(text)}")
    return text


def _read_quotes(response: requests.Response) -> dict[str, dict[str, str]]:
    """The rows of a q/l answer by upper-case symbol."""
    text = _text(response, QUOTE_HEADER)
    return {row["Symbol"].upper(): row for row in csv.DictReader(io.StringIO(text)) if row.get("Symbol")}


def _read_bars(response: requests.Response, symbol: str) -> list[Bar]:
    if response.status_code == 200 and response.text.strip().startswith(NO_DATA):
        raise UnknownSymbol("stooq", symbol, NO_DATA)
    text = _text(response, "Date,Open,High,Low,Close")
    bars = []
    for row in csv.DictReader(io.StringIO(text)):
        close = _decimal(row.get("Close"))
        if close is None:
            continue
        day = date.fromisoformat(row["Date"])
        bars.append(
            Bar(
                ts=datetime.combine(day, time(0), UTC),
                close=close,
                open=_decimal(row.get("Open")),
                high=_decimal(row.get("High")),
                low=_decimal(row.get("Low")),
                volume=_decimal(row.get("Volume")),
            )
        )
    return bars


def _quote_of(symbol: str, row: dict[str, str]) -> Quote | None:
    price = _decimal(row.get("Close"))
    if price is None:
        return None
    local = datetime.combine(date.fromisoformat(row["Date"]), time.fromisoformat(row["Time"]), WARSAW)
    # Stooq says no currency; its `.us` market is the one we can name without guessing.
    currency = "USD" if symbol.lower().endswith(".us") else None
    return Quote(symbol=symbol, price=price, at=local.astimezone(UTC), currency=currency)


def _decimal(value: str | None) -> Decimal | None:
    if value is None or value.strip() in ("", MISSING):
        return None
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        raise BadResponse(f"not a number: {value!r}") from None


def _until_next_utc_day() -> float:
    now = datetime.now(UTC)
    tomorrow = datetime.combine(now.date() + timedelta(days=1), time(0), UTC)
    return (tomorrow - now).total_seconds()
