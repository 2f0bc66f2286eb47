"""Stooq's CSV downloads as stooq.com answers them: quotes (q/l) and daily/weekly history (q/d/l).

Dates and times are Warsaw's. Rows end in CRLF as Stooq's do. Unknown symbols are an `N/D` row in
quotes and the text `No data` in history; over the daily limit every answer is the text
`Exceeded the daily hits limit`, with HTTP 200. Weekly and monthly rows are dated by their last
session, as on Stooq. Prices are split-adjusted, like Yahoo's (dividends are not taken out).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.sandbox.market import Interval, Market
from services.sandbox.universe import Asset, from_stooq
from services.sandbox.wire import Request, Response, text_response
from services.scheduling.market_hours import NEW_YORK

WARSAW = ZoneInfo("Europe/Warsaw")
DAILY_LIMIT_TEXT = "Exceeded the daily hits limit"
MAX_QUOTE_SYMBOLS = 50  # Stooq's batch, as the spec has it; more are answered N/D
FIELDS = {"s": "Symbol", "d2": "Date", "t2": "Time", "o": "Open", "h": "High", "l": "Low", "c": "Close"}
FIELDS |= {"v": "Volume", "n": "Name"}
HISTORY_INTERVALS = {"d": Interval("day"), "w": Interval("week"), "m": Interval("month"), "q": Interval("month", 3)}
_FIELD = re.compile(r"d2|t2|[sohlcvn]")
CSV = "text/csv"  # Stooq sends its CSV as text/csv, with no charset


def handle(request: Request, *, market: Market) -> Response:
    if request.path in ("/q/l/", "/q/l"):
        return quotes(request, market)
    if request.path in ("/q/d/l/", "/q/d/l"):
        return history(request, market)
    return text_response(404, "<html><body>404 Not Found</body></html>", "text/html")


def rate_limited(retry_after: int) -> Response:
    # Stooq publishes no per-minute limit; the sandbox's (configurable) one answers like this.
    return text_response(429, "Too Many Requests", headers={"Retry-After": str(retry_after)})


def server_error(status: int) -> Response:
    return text_response(status, f"<html><body><h1>{status}</h1></body></html>", "text/html")


def error_in_200(request: Request) -> Response:
    return daily_limit_exceeded()


def daily_limit_exceeded() -> Response:
    return text_response(200, DAILY_LIMIT_TEXT)


def _number(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text or "0"


def quotes(request: Request, market: Market) -> Response:
    symbols = re.split(r"[+ ]", request.arg("s") or "")
    symbols = [s for s in symbols if s]
    fields = _FIELD.findall(request.arg("f") or "sd2t2ohlcv")
    lines = [",".join(FIELDS[f] for f in fields)] if "h" in request.query else []
    for position, symbol in enumerate(symbols):
        asset = from_stooq(symbol) if position < MAX_QUOTE_SYMBOLS else None
        lines.append(",".join(_quote_fields(symbol.upper(), asset, fields, market, request.now)))
    return text_response(200, "".join(f"{line}\r\n" for line in lines), CSV)


def _quote_fields(symbol: str, asset: Asset | None, fields: list[str], market: Market, now: float) -> list[str]:
    if asset is None:
        return [symbol if f == "s" else "N/D" for f in fields]
    price = market.price(asset, now)
    session = market.last_session(now)
    assert session is not None
    day = market.bars(asset, Interval("day"), session.opens.timestamp(), now + 1, now)
    at = datetime.fromtimestamp(price.at, WARSAW)
    values = {
        "s": symbol,
        "d2": at.date().isoformat(),
        "t2": at.strftime("%H:%M:%S"),
        "o": _number(float(day.open[-1])),
        "h": _number(float(day.high[-1])),
        "l": _number(float(day.low[-1])),
        "c": _number(price.value),
        "v": str(int(day.volume[-1])),
        "n": asset.name.replace(",", ""),
    }
    return [values[f] for f in fields]


def history(request: Request, market: Market) -> Response:
    asset = from_stooq(request.arg("s") or "")
    interval = HISTORY_INTERVALS.get(request.arg("i") or "d")
    if asset is None or interval is None:
        return text_response(200, "No data")
    first = _day(request.arg("d1")) or asset.listed
    last = _day(request.arg("d2")) or datetime.fromtimestamp(request.now, NEW_YORK).date()
    if first > last:
        return text_response(200, "No data")
    start = datetime.combine(first, datetime.min.time(), NEW_YORK).timestamp()
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), NEW_YORK).timestamp()
    bars = market.bars(asset, interval, start, end, request.now)
    if not len(bars):
        return text_response(200, "No data")
    lines = ["Date,Open,High,Low,Close,Volume"]
    for i in range(len(bars)):
        values = (bars.open[i], bars.high[i], bars.low[i], bars.close[i])
        label = bars.last_day[i] if interval.unit != "day" else bars.first_day[i]
        lines.append(",".join([label.isoformat(), *(_number(float(v)) for v in values), str(int(bars.volume[i]))]))
    return text_response(200, "".join(f"{line}\r\n" for line in lines), CSV)


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None
