"""Yahoo Finance as query1.finance.yahoo.com answers: chart (v8), spark (v7) and search (v1).

Bar values carry float32 noise as live Yahoo's do (229.8699951171875): round them to
`meta.priceHint` decimals. A one-minute bar with no trade is a row of nulls. Intraday history has
Yahoo's windows: 1m at most 7 days a request and within the last 30 days, 2m..90m within 60 days,
1h within 730 days, each refused with HTTP 422 like live Yahoo.

Over 400 lines because it is one vendor's wire format: spark and search reuse chart's error shapes,
rounding and sessions, so a split by endpoint would only make each part import the others.
"""

from __future__ import annotations

import calendar as months
import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

from services.errors import TickworkError
from services.sandbox import actions
from services.sandbox.market import Bars, Interval, Market
from services.sandbox.universe import ETF, Asset, from_yahoo
from services.sandbox.wire import PROXY_PAGE, Request, Response, json_response, text_response
from services.scheduling.market_hours import NEW_YORK

INTERVALS = {
    "1m": Interval("minute", 1),
    "2m": Interval("minute", 2),
    "5m": Interval("minute", 5),
    "15m": Interval("minute", 15),
    "30m": Interval("minute", 30),
    "60m": Interval("minute", 60),
    "90m": Interval("minute", 90),
    "1h": Interval("minute", 60),
    "1d": Interval("day"),
    "5d": Interval("day", 5),
    "1wk": Interval("week"),
    "1mo": Interval("month"),
    "3mo": Interval("month", 3),
}
VALID_INTERVALS = "[1m, 2m, 5m, 15m, 30m, 60m, 90m, 1h, 1d, 5d, 1wk, 1mo, 3mo]"
VALID_RANGES = ["1d", "5d", "1mo", "3mo", "6mo", "ytd", "1y", "2y", "5y", "10y", "max"]
# interval -> (days of history it reaches back, longest request in days or None)
INTRADAY_WINDOWS = {"1m": (30, 7), "2m": (60, None), "5m": (60, None), "15m": (60, None), "30m": (60, None)}
INTRADAY_WINDOWS |= {"90m": (60, None), "60m": (730, None), "1h": (730, None)}
FULL_EXCHANGE = {"NMS": "NasdaqGS", "NYQ": "NYSE", "PCX": "NYSEArca"}
MAX_SPARK_SYMBOLS = 20
_CHART = re.compile(r"/v8/finance/chart/([^/]+)")


def handle(request: Request, *, market: Market) -> Response:
    if match := _CHART.fullmatch(request.path):
        return chart(request, match[1], market=market)
    if request.path == "/v7/finance/spark":
        return spark(request, market=market)
    if request.path == "/v1/finance/search":
        return search(request)
    return json_response(
        404, {"finance": {"result": None, "error": {"code": "Not Found", "description": "HTTP 404 Not Found"}}}
    )


# -- errors, as Yahoo words them -----------------------------------------------------------------
def _error(root: str, status: int, code: str, description: str) -> Response:
    return json_response(status, {root: {"result": None, "error": {"code": code, "description": description}}})


def rate_limited(retry_after: int) -> Response:
    # Live Yahoo rarely sends Retry-After; the sandbox does, so clients that honour it are exercised.
    return text_response(429, "Too Many Requests", headers={"Retry-After": str(retry_after)})


def server_error(status: int) -> Response:
    reason = {500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "Error")
    return _error("finance", status, reason, f"HTTP {status} {reason}")


def error_in_200(request: Request) -> Response:
    """HTTP 200 whose body carries the error, as Yahoo does when a backend times out."""
    root = "spark" if request.path.startswith("/v7/finance/spark") else "chart"
    if request.path.startswith("/v1/"):
        return text_response(200, PROXY_PAGE, "text/html;charset=utf-8")
    return _error(root, 200, "Internal Server Error", "Timed out waiting for the backend to respond")


# -- chart ---------------------------------------------------------------------------------------
class _Invalid(TickworkError):
    """Raised when a chart request is one Yahoo refuses; it becomes Yahoo's error body and status."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description


def chart(request: Request, symbol: str, *, market: Market) -> Response:
    asset = from_yahoo(symbol)
    if asset is None:
        return _error("chart", 404, "Not Found", "No data found, symbol may be delisted")
    try:
        result = chart_result(request, asset, market=market, events=request.arg("events") or "")
    except _Invalid as invalid:
        return _error("chart", invalid.status, invalid.code, invalid.description)
    return json_response(200, {"chart": {"result": [result], "error": None}})


def chart_result(request: Request, asset: Asset, *, market: Market, events: str, closes_only: bool = False) -> dict:
    interval_name = request.arg("interval") or "1d"
    interval = INTERVALS.get(interval_name)
    if interval is None:
        raise _Invalid(
            422,
            "Unprocessable Entity",
            f"Invalid input - interval={interval_name} is not supported. Valid intervals: {VALID_INTERVALS}",
        )
    range_name = request.arg("range")
    start, end = _period(request, range_name, market=market)
    short_range = request.arg("period1") is None and range_name in ("1d", "5d")
    _check_window(interval_name, start, end, request.now, short_range=short_range)
    end = min(end, request.now + 1)  # nothing happens after now (and a far period2 is no date at all)
    bars = market.bars(asset, interval, start, end, request.now)
    result: dict[str, Any] = {"meta": _meta(asset, bars, interval_name, range_name or "", start, market, request.now)}
    if len(bars):
        result["timestamp"] = [int(t) for t in bars.start]
        if found := _events(asset, start, end, events, market):
            result["events"] = found
        result["indicators"] = _indicators(asset, bars, interval, market, request.now, closes_only=closes_only)
    elif not closes_only:
        result["indicators"] = {"quote": [{}]}
    return result


def _period(request: Request, range_name: str | None, *, market: Market) -> tuple[float, float]:
    period1, period2 = request.arg("period1"), request.arg("period2")
    now = request.now
    if period1 is not None or period2 is not None:
        try:
            start = float(int(period1)) if period1 is not None else 0.0
            end = float(int(period2)) if period2 is not None else now
        except ValueError:
            raise _Invalid(400, "Bad Request", "Invalid input - period1 and period2 must be integers") from None
        if start > end:
            raise _Invalid(
                400,
                "Bad Request",
                f"Invalid input - start date cannot be after end date. startDate = {int(start)}, endDate = {int(end)}",
            )
        return start, end
    range_name = range_name or "1mo"
    if range_name not in VALID_RANGES:
        raise _Invalid(
            422,
            "Unprocessable Entity",
            f"Invalid input - range={range_name} is not supported. Valid ranges: [{', '.join(VALID_RANGES)}]",
        )
    today = datetime.fromtimestamp(now, NEW_YORK)
    if range_name in ("1d", "5d"):
        count = int(range_name[0])
        session = market.last_session(now)
        opens: list[float] = []
        while session is not None and len(opens) < count:
            opens.append(session.opens.timestamp())
            session = market.last_session(session.opens.timestamp() - 1)
        return (opens[-1] if opens else now), now + 1
    if range_name == "max":
        return 0.0, now + 1
    if range_name == "ytd":
        return datetime(today.year, 1, 1, tzinfo=NEW_YORK).timestamp(), now + 1
    months_back = int(range_name[:-2]) if range_name.endswith("mo") else 12 * int(range_name[:-1])
    return _months_before(today, months_back).timestamp(), now + 1


def _months_before(moment: datetime, count: int) -> datetime:
    month_index = moment.year * 12 + moment.month - 1 - count
    year, month = divmod(month_index, 12)
    day = min(moment.day, months.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _check_window(interval_name: str, start: float, end: float, now: float, *, short_range: bool) -> None:
    if interval_name not in INTRADAY_WINDOWS:
        return
    reach_days, longest_days = INTRADAY_WINDOWS[interval_name]
    prefix = f"{interval_name} data not available for startTime={int(start)} and endTime={int(end)}."
    if longest_days is not None and not short_range and end - start > longest_days * 86400:
        raise _Invalid(
            422,
            "Unprocessable Entity",
            f"{prefix} Only {longest_days} days worth of {interval_name} granularity data are allowed"
            " to be fetched per request.",
        )
    if start < now - reach_days * 86400:
        raise _Invalid(
            422, "Unprocessable Entity", f"{prefix} The requested range must be within the last {reach_days} days."
        )


def _meta(asset: Asset, bars: Bars, interval_name: str, range_name: str, start: float, market: Market, now: float):
    price = market.price(asset, now)
    session = market.last_session(now)
    day_bars = market.bars(asset, Interval("day"), session.opens.timestamp(), now + 1, now) if session else Bars.empty()
    first_start = float(bars.start[0]) if len(bars) else start
    # a stock's price just before a bar opens is the close before it (it moves only in sessions)
    first_trade = _first_trade(asset.listed, market)
    previous_close = market.price(asset, first_start - 1).value if first_trade and first_start > first_trade else None
    local = datetime.fromtimestamp(now, NEW_YORK)
    offset = int(local.utcoffset().total_seconds())  # type: ignore[union-attr]
    meta: dict[str, Any] = {
        "currency": "USD",
        "symbol": asset.symbol,
        "exchangeName": asset.exchange,
        "fullExchangeName": FULL_EXCHANGE.get(asset.exchange, asset.exchange),
        "instrumentType": "ETF" if asset.asset_class == ETF else "EQUITY",
        "firstTradeDate": first_trade,
        "regularMarketTime": int(price.at),
        "hasPrePostMarketData": True,
        "gmtoffset": offset,
        "timezone": local.tzname(),
        "exchangeTimezoneName": "America/New_York",
        "regularMarketPrice": price.value,
        "longName": asset.name,
        "shortName": asset.name,
        "chartPreviousClose": previous_close,
        "priceHint": asset.decimals,
    }
    if len(day_bars):
        meta["regularMarketDayHigh"] = float(day_bars.high[-1])
        meta["regularMarketDayLow"] = float(day_bars.low[-1])
        meta["regularMarketVolume"] = int(day_bars.volume[-1])
    if session is not None:
        meta["currentTradingPeriod"] = _trading_period(session, offset, local.tzname() or "")
    meta["dataGranularity"] = interval_name
    meta["range"] = range_name
    meta["validRanges"] = VALID_RANGES
    return meta


@lru_cache(maxsize=64)
def _first_trade(listed: date, market: Market) -> int | None:
    sessions = market.sessions(listed, listed + timedelta(days=7))
    return int(sessions[0].opens.timestamp()) if sessions else None


def _trading_period(session: Any, offset: int, zone: str) -> dict[str, Any]:
    def part(begin: datetime, finish: datetime) -> dict[str, Any]:
        return {"timezone": zone, "start": int(begin.timestamp()), "end": int(finish.timestamp()), "gmtoffset": offset}

    return {
        "pre": part(session.pre_market_opens, session.opens),
        "regular": part(session.opens, session.closes),
        "post": part(session.closes, session.after_hours_closes),
    }


def _events(asset: Asset, start: float, end: float, wanted: str, market: Market) -> dict[str, Any]:
    first = datetime.fromtimestamp(max(start, 0), NEW_YORK).date()
    last = datetime.fromtimestamp(end, NEW_YORK).date()
    found: dict[str, Any] = {}
    if "div" in wanted:
        dividends = {}
        for dividend in actions.dividends(asset, first, last, calendar=market.calendar):
            at = _session_open(dividend.day, market)
            if start <= at < end:
                dividends[str(at)] = {"amount": dividend.amount, "date": at}
        if dividends:
            found["dividends"] = dividends
    if "split" in wanted:
        splits = {}
        for split in actions.splits(asset, first, last, calendar=market.calendar):
            at = _session_open(split.day, market)
            if start <= at < end:
                splits[str(at)] = {
                    "date": at,
                    "numerator": split.numerator,
                    "denominator": split.denominator,
                    "splitRatio": f"{split.numerator}:{split.denominator}",
                }
        if splits:
            found["splits"] = splits
    return found


def _session_open(day: date, market: Market) -> int:
    session = market.calendar.session(day)
    assert session is not None  # ex-dates and split dates are sessions by construction
    return int(session.opens.timestamp())


def _float32(values: np.ndarray, null: np.ndarray) -> list[float | None]:
    noisy = values.astype(np.float32).astype(np.float64).tolist()
    return [None if missing else value for value, missing in zip(noisy, null.tolist(), strict=True)]


def _indicators(asset: Asset, bars: Bars, interval: Interval, market: Market, now: float, *, closes_only: bool):
    if closes_only:
        return {"quote": [{"close": _float32(bars.close, bars.null)}]}
    volume = [None if missing else int(v) for v, missing in zip(bars.volume.tolist(), bars.null.tolist(), strict=True)]
    indicators: dict[str, Any] = {
        "quote": [
            {
                "open": _float32(bars.open, bars.null),
                "high": _float32(bars.high, bars.null),
                "low": _float32(bars.low, bars.null),
                "close": _float32(bars.close, bars.null),
                "volume": volume,
            }
        ]
    }
    if interval.unit != "minute":
        indicators["adjclose"] = [{"adjclose": _float32(_adjusted(asset, bars, market, now), bars.null)}]
    return indicators


def _adjusted(asset: Asset, bars: Bars, market: Market, now: float) -> np.ndarray:
    """Closes adjusted for later dividends (splits are already in every price, as on Yahoo)."""
    today = datetime.fromtimestamp(now, NEW_YORK).date()
    factors = np.ones(len(bars))
    last_days = np.array([d.toordinal() for d in bars.last_day])
    for dividend in actions.dividends(asset, bars.first_day[0], today, calendar=market.calendar):
        opens = _session_open(dividend.day, market)
        before = market.bars(asset, Interval("day"), opens - 10 * 86400, opens, now)
        if len(before) and before.close[-1] > 0:
            factors[last_days < dividend.day.toordinal()] *= 1 - dividend.amount / float(before.close[-1])
    return np.round(bars.close * factors, 6)


# -- spark ---------------------------------------------------------------------------------------
def spark(request: Request, *, market: Market) -> Response:
    raw = request.arg("symbols") or ""
    symbols = [s for s in raw.split(",") if s]
    if not symbols:
        return _error("spark", 400, "Bad Request", 'Missing value for the "symbols" argument')
    if len(symbols) > MAX_SPARK_SYMBOLS:
        return _error(
            "spark", 400, "Bad Request", f"Number of symbols should be less than or equal to {MAX_SPARK_SYMBOLS}"
        )
    results = []
    for symbol in symbols:
        asset = from_yahoo(symbol)
        if asset is None:
            continue
        query = dict(request.query)
        query.setdefault("range", ["1d"])
        query.setdefault("interval", ["1d"])
        inner = Request(request.provider, request.path, query, request.now)
        try:
            response = chart_result(inner, asset, market=market, events="", closes_only=True)
        except _Invalid as invalid:
            return _error("spark", invalid.status, invalid.code, invalid.description)
        results.append({"symbol": symbol, "response": [response]})
    if not results:
        return _error("spark", 404, "Not Found", "No data found for spark symbols")
    return json_response(200, {"spark": {"result": results, "error": None}})


# -- search --------------------------------------------------------------------------------------
def search(request: Request) -> Response:
    query = (request.arg("q") or "").strip()
    count_text = request.arg("quotesCount") or "6"
    count = int(count_text) if count_text.lstrip("-").isdigit() else 6
    asset = from_yahoo(query) if query else None
    quotes = [_search_quote(asset)] if asset and count > 0 else []
    body = {
        "explains": [],
        "count": len(quotes),
        "quotes": quotes,
        "news": [],
        "nav": [],
        "lists": [],
        "researchReports": [],
        "screenerFieldResults": [],
        "totalTime": 12,
        "timeTakenForQuotes": 420,
        "timeTakenForNews": 0,
        "timeTakenForAlgowatchlist": 400,
        "timeTakenForPredefinedScreener": 400,
        "timeTakenForCrunchbase": 0,
        "timeTakenForNav": 400,
        "timeTakenForResearchReports": 0,
        "timeTakenForScreenerField": 0,
        "timeTakenForCulturalAssets": 0,
    }
    return json_response(200, body)


def _search_quote(asset: Asset) -> dict[str, Any]:
    is_etf = asset.asset_class == ETF
    quote: dict[str, Any] = {
        "exchange": asset.exchange,
        "shortname": asset.name,
        "quoteType": "ETF" if is_etf else "EQUITY",
        "symbol": asset.symbol,
        "index": "quotes",
        "score": 2.1e6,
        "typeDisp": "ETF" if is_etf else "Equity",
        "longname": asset.name,
        "exchDisp": {"NMS": "NASDAQ", "NYQ": "NYSE", "PCX": "NYSEArca"}.get(asset.exchange, asset.exchange),
        "isYahooFinance": True,
    }
    if asset.sector:
        quote |= {"sector": asset.sector, "sectorDisp": asset.sector}
    if asset.industry:
        quote |= {"industry": asset.industry, "industryDisp": asset.industry}
    return quote
