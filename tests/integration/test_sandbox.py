"""The sandbox market answers in each provider's real wire format, with their errors and rate limits.

Bodies are parsed the way a provider client parses them (JSON shapes, CSV headers, string prices,
`parse_float=Decimal`), against the `sandbox` fixture: one server per session, reset for each test.
"""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from itertools import pairwise
from typing import Any
from urllib.parse import quote

import requests

from services.scheduling.market_hours import NEW_YORK, NYSE
from tests.support.sandbox import SandboxServer

TIMEOUT = 10


def get(sandbox: SandboxServer, provider: str, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{sandbox.base_url(provider)}{path}", params=params, timeout=TIMEOUT)


def decimal_json(response: requests.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def epoch(day: date, hour: int = 0) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp())


# -- Yahoo -----------------------------------------------------------------------------------------
def test_yahoo_chart_has_bars_meta_and_events_as_yahoo_sends_them(sandbox: SandboxServer) -> None:
    # Given AAPL's daily chart over 2024 with events
    response = get(
        sandbox,
        "yahoo",
        "/v8/finance/chart/AAPL",
        period1=epoch(date(2024, 1, 1)),
        period2=epoch(date(2025, 1, 1)),
        interval="1d",
        events="div,splits",
        includeAdjustedClose="true",
    )
    # Then the body is the chart envelope with one result
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["chart"]["error"] is None
    result = body["chart"]["result"][0]
    meta = result["meta"]
    assert meta["symbol"] == "AAPL" and meta["currency"] == "USD" and meta["instrumentType"] == "EQUITY"
    assert meta["exchangeTimezoneName"] == "America/New_York" and meta["dataGranularity"] == "1d"
    assert isinstance(meta["regularMarketPrice"], float) and isinstance(meta["regularMarketTime"], int)
    assert meta["priceHint"] == 2
    # one bar per 2024 NYSE session, stamped at the session's open
    sessions = NYSE.sessions(2024)
    assert [datetime.fromtimestamp(t, UTC) for t in result["timestamp"]] == [s.opens for s in sessions]
    quote_ = result["indicators"]["quote"][0]
    for name in ("open", "high", "low", "close", "volume"):
        assert len(quote_[name]) == len(sessions)
    assert all(isinstance(v, int) for v in quote_["volume"])
    for o, h, low, c in zip(quote_["open"], quote_["high"], quote_["low"], quote_["close"], strict=True):
        assert low <= min(o, c) <= max(o, c) <= h
    adjclose = result["indicators"]["adjclose"][0]["adjclose"]
    assert len(adjclose) == len(sessions) and adjclose[0] < quote_["close"][0]  # later dividends adjust it down
    # quarterly dividends at the ex-date's open, and no AAPL split in 2024
    dividends = result["events"]["dividends"]
    assert len(dividends) == 4
    for key, dividend in dividends.items():
        assert key == str(dividend["date"]) and dividend["amount"] == 0.25
        assert datetime.fromtimestamp(dividend["date"], UTC) in {s.opens for s in sessions}
    assert "splits" not in result["events"]


def test_yahoo_chart_shows_nvda_ten_for_one_split_in_june_2024(sandbox: SandboxServer) -> None:
    response = get(
        sandbox,
        "yahoo",
        "/v8/finance/chart/NVDA",
        period1=epoch(date(2024, 6, 1)),
        period2=epoch(date(2024, 7, 1)),
        interval="1d",
        events="div,splits",
    )
    splits = response.json()["chart"]["result"][0]["events"]["splits"]
    (split,) = splits.values()
    assert split["numerator"] == 10 and split["denominator"] == 1 and split["splitRatio"] == "10:1"
    assert datetime.fromtimestamp(split["date"], NEW_YORK).date() == date(2024, 6, 10)


def test_yahoo_unknown_symbol_is_404_with_chart_error(sandbox: SandboxServer) -> None:
    response = get(sandbox, "yahoo", "/v8/finance/chart/ZZZZ", range="1d", interval="1d")
    assert response.status_code == 404
    assert response.json() == {
        "chart": {
            "result": None,
            "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
        }
    }


def test_yahoo_spark_quotes_known_symbols_and_leaves_out_unknown(sandbox: SandboxServer) -> None:
    response = get(sandbox, "yahoo", "/v7/finance/spark", symbols="AAPL,ZZZZ,SIM0042", range="1d", interval="1d")
    assert response.status_code == 200
    spark = response.json()["spark"]
    assert spark["error"] is None
    assert [r["symbol"] for r in spark["result"]] == ["AAPL", "SIM0042"]
    meta = spark["result"][1]["response"][0]["meta"]
    assert meta["symbol"] == "SIM0042" and meta["currency"] == "USD" and meta["regularMarketPrice"] > 0

    nothing = get(sandbox, "yahoo", "/v7/finance/spark", symbols="ZZZZ,YYYY", range="1d", interval="1d")
    assert nothing.status_code == 404
    assert nothing.json()["spark"] == {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found for spark symbols"},
    }


# -- Binance ---------------------------------------------------------------------------------------
def test_binance_prices_are_strings_with_weight_header(sandbox: SandboxServer) -> None:
    one = get(sandbox, "binance", "/api/v3/ticker/price", symbol="BTCUSDT")
    assert one.status_code == 200
    body = one.json()
    assert body["symbol"] == "BTCUSDT" and isinstance(body["price"], str) and Decimal(body["price"]) > 0
    assert len(body["price"].split(".")[1]) == 8
    assert one.headers["X-MBX-USED-WEIGHT-1M"] == "2"
    assert parsedate_to_datetime(one.headers["Date"]).tzinfo is not None

    symbols = json.dumps(["BTCUSDT", "ETHUSDT", "SIMC0007USDT"], separators=(",", ":"))
    many = requests.get(f"{sandbox.base_url('binance')}/api/v3/ticker/price?symbols={quote(symbols)}", timeout=TIMEOUT)
    assert many.status_code == 200
    assert [p["symbol"] for p in many.json()] == ["BTCUSDT", "ETHUSDT", "SIMC0007USDT"]
    assert many.headers["X-MBX-USED-WEIGHT-1M"] == "6"  # 2 + 4 this minute


def test_binance_unknown_symbol_fails_the_whole_batch(sandbox: SandboxServer) -> None:
    symbols = quote(json.dumps(["BTCUSDT", "NOPEUSDT"], separators=(",", ":")))
    response = requests.get(f"{sandbox.base_url('binance')}/api/v3/ticker/price?symbols={symbols}", timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json() == {"code": -1121, "msg": "Invalid symbol."}
    assert "X-MBX-USED-WEIGHT-1M" in response.headers


# -- CoinGecko -------------------------------------------------------------------------------------
def test_coingecko_simple_price_is_numbers_and_leaves_out_unknown_ids(sandbox: SandboxServer) -> None:
    response = get(
        sandbox,
        "coingecko",
        "/api/v3/simple/price",
        ids="bitcoin,nope,sim-coin-0003",
        vs_currencies="usd",
        include_last_updated_at="true",
        precision="full",
    )
    assert response.status_code == 200
    body = decimal_json(response)
    assert set(body) == {"bitcoin", "sim-coin-0003"}
    assert isinstance(body["bitcoin"]["usd"], Decimal) and body["bitcoin"]["usd"] > 0
    assert isinstance(body["bitcoin"]["last_updated_at"], int)
    empty = get(sandbox, "coingecko", "/api/v3/simple/price", ids="nope", vs_currencies="usd")
    assert empty.status_code == 200 and empty.json() == {}


# -- Stooq -----------------------------------------------------------------------------------------
def test_stooq_quotes_csv_with_nd_row_for_unknown(sandbox: SandboxServer) -> None:
    response = requests.get(
        f"{sandbox.base_url('stooq')}/q/l/?s=aapl.us+msft.us+zzzz.us&f=sd2t2ohlcv&h&e=csv", timeout=TIMEOUT
    )
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["Symbol", "Date", "Time", "Open", "High", "Low", "Close", "Volume"]
    assert [r["Symbol"] for r in rows] == ["AAPL.US", "MSFT.US", "ZZZZ.US"]
    assert all(v == "N/D" for k, v in rows[2].items() if k != "Symbol")
    assert Decimal(rows[0]["Close"]) > 0 and int(rows[0]["Volume"]) > 0


def test_yahoo_bad_interval_is_422_with_yahoos_wording(sandbox: SandboxServer) -> None:
    response = get(sandbox, "yahoo", "/v8/finance/chart/AAPL", range="1d", interval="7m")
    assert response.status_code == 422
    assert response.json()["chart"] == {
        "result": None,
        "error": {
            "code": "Unprocessable Entity",
            "description": "Invalid input - interval=7m is not supported. Valid intervals: "
            "[1m, 2m, 5m, 15m, 30m, 60m, 90m, 1h, 1d, 5d, 1wk, 1mo, 3mo]",
        },
    }


def test_yahoo_refuses_minute_bars_beyond_its_windows(sandbox: SandboxServer) -> None:
    now = int(time.time())
    # more than 7 days in one request
    too_long = get(sandbox, "yahoo", "/v8/finance/chart/AAPL", period1=now - 9 * 86400, period2=now, interval="1m")
    assert too_long.status_code == 422
    assert "Only 7 days worth of 1m granularity data" in too_long.json()["chart"]["error"]["description"]
    # older than 30 days
    too_old = get(
        sandbox, "yahoo", "/v8/finance/chart/AAPL", period1=now - 40 * 86400, period2=now - 35 * 86400, interval="1m"
    )
    assert too_old.status_code == 422
    assert "within the last 30 days" in too_old.json()["chart"]["error"]["description"]
    # an hour bar reaches back 730 days
    hourly = get(
        sandbox, "yahoo", "/v8/finance/chart/AAPL", period1=now - 800 * 86400, period2=now - 790 * 86400, interval="1h"
    )
    assert hourly.status_code == 422 and "730 days" in hourly.json()["chart"]["error"]["description"]


def test_yahoo_minute_bars_lie_in_regular_hours_and_no_trade_bars_are_nulls(sandbox: SandboxServer) -> None:
    nulls = 0
    for number in range(1, 31):
        response = get(sandbox, "yahoo", f"/v8/finance/chart/SIM{number:04d}", range="5d", interval="1m")
        result = response.json()["chart"]["result"][0]
        quote_ = result["indicators"]["quote"][0]
        assert "adjclose" not in result["indicators"]  # only daily and longer bars have it
        for i, stamp in enumerate(result["timestamp"]):
            at = datetime.fromtimestamp(stamp, UTC)
            session = NYSE.session(at.astimezone(NEW_YORK).date())
            assert session is not None and session.opens <= at < session.closes and stamp % 60 == 0
            row = [quote_[name][i] for name in ("open", "high", "low", "close", "volume")]
            if None in row:
                assert row == [None] * 5  # a bar with no trade is null throughout
                nulls += 1
    assert nulls > 0  # about 0.4% of minutes, so 30 symbols x 5 sessions have some


def test_yahoo_range_without_sessions_is_meta_only(sandbox: SandboxServer) -> None:
    # Given a Saturday and Sunday
    saturday = date(2026, 11, 21)
    response = get(
        sandbox,
        "yahoo",
        "/v8/finance/chart/MSFT",
        period1=epoch(saturday),
        period2=epoch(saturday + timedelta(days=2)),
        interval="1d",
    )
    result = response.json()["chart"]["result"][0]
    assert response.status_code == 200
    assert "timestamp" not in result and "events" not in result
    assert result["indicators"]["quote"] == [{}]
    assert result["meta"]["symbol"] == "MSFT"


def test_no_equity_bars_on_weekends_or_holidays(sandbox: SandboxServer) -> None:
    # Given 2025, which has Thanksgiving (Nov 27), Christmas and the other NYSE holidays
    sessions = {s.day for s in NYSE.sessions(2025)}
    chart = get(
        sandbox,
        "yahoo",
        "/v8/finance/chart/SPY",
        period1=epoch(date(2025, 1, 1)),
        period2=epoch(date(2026, 1, 1)),
        interval="1d",
    ).json()["chart"]["result"][0]
    yahoo_days = [datetime.fromtimestamp(t, NEW_YORK).date() for t in chart["timestamp"]]
    assert set(yahoo_days) == sessions and len(yahoo_days) == len(sessions)
    assert date(2025, 11, 27) not in yahoo_days and date(2025, 12, 25) not in yahoo_days
    stooq = get(sandbox, "stooq", "/q/d/l/", s="spy.us", i="d", d1="20250101", d2="20251231")
    stooq_days = [date.fromisoformat(row["Date"]) for row in csv.DictReader(io.StringIO(stooq.text))]
    assert stooq_days == sorted(sessions)
    assert all(day.weekday() < 5 for day in stooq_days)


def test_yahoo_spark_refuses_more_than_20_symbols(sandbox: SandboxServer) -> None:
    symbols = ",".join(f"SIM{i:04d}" for i in range(1, 22))
    response = get(sandbox, "yahoo", "/v7/finance/spark", symbols=symbols, range="1d", interval="1d")
    assert response.status_code == 400
    assert response.json()["spark"]["result"] is None


def test_yahoo_search_finds_the_exact_symbol_only(sandbox: SandboxServer) -> None:
    found = get(sandbox, "yahoo", "/v1/finance/search", q="NVDA", quotesCount=1, newsCount=0).json()
    (quote_,) = found["quotes"]
    assert found["count"] == 1
    assert quote_["symbol"] == "NVDA" and quote_["quoteType"] == "EQUITY" and quote_["longname"] == "NVIDIA Corporation"
    assert quote_["sector"] == "Technology" and quote_["industry"] == "Semiconductors" and quote_["exchange"] == "NMS"
    etf = get(sandbox, "yahoo", "/v1/finance/search", q="SPY", quotesCount=1, newsCount=0).json()["quotes"][0]
    assert etf["quoteType"] == "ETF" and "sector" not in etf
    unknown = get(sandbox, "yahoo", "/v1/finance/search", q="ZZZZ", quotesCount=1, newsCount=0).json()
    assert unknown["quotes"] == [] and unknown["count"] == 0


def test_yahoo_bar_values_carry_float32_noise_that_price_hint_rounds_away(sandbox: SandboxServer) -> None:
    result = get(sandbox, "yahoo", "/v8/finance/chart/AAPL", range="1mo", interval="1d").json()["chart"]["result"][0]
    closes = result["indicators"]["quote"][0]["close"]
    hint = result["meta"]["priceHint"]
    assert any(len(repr(c).split(".")[1]) > hint for c in closes)  # as live: 229.8699951171875
    assert all(abs(round(c, hint) - c) < 1e-4 for c in closes)


# -- Binance ---------------------------------------------------------------------------------------
def test_binance_klines_have_twelve_fields_and_page_by_start_time(sandbox: SandboxServer) -> None:
    start = epoch(date(2026, 1, 1)) * 1000
    first = get(sandbox, "binance", "/api/v3/klines", symbol="ETHUSDT", interval="1h", startTime=start, limit=5000)
    assert first.status_code == 200 and first.headers["X-MBX-USED-WEIGHT-1M"] == "2"
    rows = first.json()
    assert len(rows) == 1000  # at most 1000 a call, whatever the limit asked
    for row in rows[:3]:
        assert len(row) == 12
        assert isinstance(row[0], int) and isinstance(row[6], int) and isinstance(row[8], int)
        assert all(isinstance(row[i], str) for i in (1, 2, 3, 4, 5, 7, 9, 10, 11))
        assert row[6] == row[0] + 3_600_000 - 1
        assert Decimal(row[3]) <= min(Decimal(row[1]), Decimal(row[4])) <= max(Decimal(row[1]), Decimal(row[4]))
        assert max(Decimal(row[1]), Decimal(row[4])) <= Decimal(row[2])
    assert rows[0][0] == start
    assert all(b[0] - a[0] == 3_600_000 for a, b in pairwise(rows))
    # the next page starts after the last open time
    second = get(
        sandbox, "binance", "/api/v3/klines", symbol="ETHUSDT", interval="1h", startTime=rows[-1][0] + 1, limit=1000
    ).json()
    assert second[0][0] == rows[-1][0] + 3_600_000
    # endTime alone gives the bars before it, newest last
    before = get(
        sandbox, "binance", "/api/v3/klines", symbol="ETHUSDT", interval="1h", endTime=rows[-1][0], limit=3
    ).json()
    assert [r[0] for r in before] == [r[0] for r in rows[-3:]]
    assert [r[4] for r in before] == [r[4] for r in rows[-3:]]


def test_binance_weekly_klines_open_on_monday(sandbox: SandboxServer) -> None:
    rows = get(sandbox, "binance", "/api/v3/klines", symbol="BTCUSDT", interval="1w", limit=10).json()
    assert len(rows) == 10
    for row in rows:
        assert datetime.fromtimestamp(row[0] / 1000, UTC).weekday() == 0
        assert row[6] == row[0] + 7 * 86_400_000 - 1


def test_binance_klines_errors(sandbox: SandboxServer) -> None:
    unknown = get(sandbox, "binance", "/api/v3/klines", symbol="NOPEUSDT", interval="1d")
    assert unknown.status_code == 400 and unknown.json() == {"code": -1121, "msg": "Invalid symbol."}
    bad_interval = get(sandbox, "binance", "/api/v3/klines", symbol="BTCUSDT", interval="7m")
    assert bad_interval.status_code == 400 and bad_interval.json() == {"code": -1120, "msg": "Invalid interval."}


def test_binance_exchange_info(sandbox: SandboxServer) -> None:
    response = get(sandbox, "binance", "/api/v3/exchangeInfo", symbol="SOLUSDT")
    assert response.status_code == 200 and response.headers["X-MBX-USED-WEIGHT-1M"] == "20"
    body = response.json()
    assert body["timezone"] == "UTC" and isinstance(body["serverTime"], int)
    weight = next(r for r in body["rateLimits"] if r["rateLimitType"] == "REQUEST_WEIGHT")
    assert weight == {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}
    (symbol,) = body["symbols"]
    assert symbol["symbol"] == "SOLUSDT" and symbol["status"] == "TRADING"
    assert symbol["baseAsset"] == "SOL" and symbol["quoteAsset"] == "USDT"
    unknown = get(sandbox, "binance", "/api/v3/exchangeInfo", symbol="NOPEUSDT")
    assert unknown.status_code == 400 and unknown.json()["code"] == -1121


# -- CoinGecko -------------------------------------------------------------------------------------
def test_coingecko_coin_info_and_unknown_coin(sandbox: SandboxServer) -> None:
    params = {
        "localization": "false",
        "tickers": "false",
        "market_data": "false",
        "community_data": "false",
        "developer_data": "false",
    }
    body = get(sandbox, "coingecko", "/api/v3/coins/ethereum", **params).json()
    assert body["id"] == "ethereum" and body["symbol"] == "eth" and body["name"] == "Ethereum"
    assert "Cryptocurrency" in body["categories"] and isinstance(body["description"]["en"], str)
    assert body["links"]["homepage"][0].startswith("https://")
    unknown = get(sandbox, "coingecko", "/api/v3/coins/no-such-coin", **params)
    assert unknown.status_code == 404 and unknown.json() == {"error": "coin not found"}


# -- Stooq -----------------------------------------------------------------------------------------
def test_stooq_quote_time_is_warsaw_time_of_the_last_trade(sandbox: SandboxServer) -> None:
    # Given the market's clock stopped mid-session (10:00 in New York is 16:00 in Warsaw)
    frozen = datetime(2026, 11, 20, 15, 0, 7, tzinfo=UTC)
    sandbox.configure(frozen_at=frozen.timestamp())
    text = get(sandbox, "stooq", "/q/l/", s="jpm.us", f="sd2t2ohlcv", h="", e="csv").text
    row = next(csv.DictReader(io.StringIO(text)))
    assert (row["Date"], row["Time"]) == ("2026-11-20", "16:00:07")
    assert text.endswith("\r\n")


def test_stooq_history_daily_weekly_and_no_data(sandbox: SandboxServer) -> None:
    daily = get(sandbox, "stooq", "/q/d/l/", s="aapl.us", i="d", d1="20261102", d2="20261113")
    assert daily.status_code == 200 and daily.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(daily.text)))
    assert list(rows[0]) == ["Date", "Open", "High", "Low", "Close", "Volume"]
    assert [r["Date"] for r in rows][:2] == ["2026-11-02", "2026-11-03"] and len(rows) == 10
    for row in rows:
        assert Decimal(row["Low"]) <= Decimal(row["Close"]) <= Decimal(row["High"]) and int(row["Volume"]) > 0
    # weekly rows are dated by the week's last session: Thanksgiving week ends on Friday the 27th
    weekly = get(sandbox, "stooq", "/q/d/l/", s="aapl.us", i="w", d1="20261109", d2="20261120")
    assert [r["Date"] for r in csv.DictReader(io.StringIO(weekly.text))] == ["2026-11-13", "2026-11-20"]
    for params in ({"s": "zzzz.us", "i": "d"}, {"s": "aapl.us", "i": "d", "d1": "20261121", "d2": "20261122"}):
        empty = get(sandbox, "stooq", "/q/d/l/", **params)
        assert empty.status_code == 200 and empty.text == "No data"
        assert empty.headers["Content-Type"].startswith("text/plain")


def test_stooq_daily_limit_answers_200_with_the_text(sandbox: SandboxServer) -> None:
    sandbox.configure(stooq_daily_limit=2)
    answers = [get(sandbox, "stooq", "/q/d/l/", s="msft.us", i="d", d1="20261102", d2="20261106") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[1].text.startswith("Date,Open") and answers[2].text == "Exceeded the daily hits limit"


# -- one market behind every provider --------------------------------------------------------------
def test_same_symbol_and_time_quote_alike_across_providers(sandbox: SandboxServer) -> None:
    # Given the clock stopped mid-session, on a multiple of CoinGecko's 30 s refresh
    frozen = datetime(2026, 11, 20, 18, 30, 0, tzinfo=UTC)
    sandbox.configure(frozen_at=frozen.timestamp())
    meta = get(sandbox, "yahoo", "/v8/finance/chart/AAPL", range="1d", interval="1d").json()["chart"]["result"][0]
    spark = get(sandbox, "yahoo", "/v7/finance/spark", symbols="AAPL", range="1d", interval="1d").json()
    stooq = next(csv.DictReader(io.StringIO(get(sandbox, "stooq", "/q/l/", s="aapl.us", f="sd2t2ohlcv", h="").text)))
    assert meta["meta"]["regularMarketTime"] == int(frozen.timestamp())
    price = Decimal(str(meta["meta"]["regularMarketPrice"]))
    assert Decimal(str(spark["spark"]["result"][0]["response"][0]["meta"]["regularMarketPrice"])) == price
    assert Decimal(stooq["Close"]) == price
    binance = get(sandbox, "binance", "/api/v3/ticker/price", symbol="BTCUSDT").json()
    gecko = decimal_json(get(sandbox, "coingecko", "/api/v3/simple/price", ids="bitcoin", vs_currencies="usd"))
    assert Decimal(binance["price"]) == gecko["bitcoin"]["usd"]


def test_history_agrees_across_providers_and_servers(sandbox: SandboxServer) -> None:
    params = {"period1": epoch(date(2026, 10, 1)), "period2": epoch(date(2026, 11, 1)), "interval": "1d"}
    result = get(sandbox, "yahoo", "/v8/finance/chart/XOM", **params).json()["chart"]["result"][0]
    yahoo = {
        datetime.fromtimestamp(t, NEW_YORK).date().isoformat(): round(c, 2)
        for t, c in zip(result["timestamp"], result["indicators"]["quote"][0]["close"], strict=True)
    }
    stooq = get(sandbox, "stooq", "/q/d/l/", s="xom.us", i="d", d1="20261001", d2="20261031").text
    assert {r["Date"]: float(r["Close"]) for r in csv.DictReader(io.StringIO(stooq))} == yahoo
    # a fresh server computes the very same history
    other = SandboxServer()
    try:
        again = requests.get(f"{other.base_url('yahoo')}/v8/finance/chart/XOM", params=params, timeout=TIMEOUT)
        assert again.json()["chart"]["result"][0]["indicators"] == result["indicators"]
    finally:
        other.stop()


def test_a_coins_daily_kline_closes_at_the_next_days_open_price(sandbox: SandboxServer) -> None:
    # Given the clock stopped at midnight UTC
    midnight = datetime(2026, 11, 20, tzinfo=UTC)
    sandbox.configure(frozen_at=midnight.timestamp())
    rows = get(sandbox, "binance", "/api/v3/klines", symbol="SOLUSDT", interval="1d", limit=2).json()
    price = get(sandbox, "binance", "/api/v3/ticker/price", symbol="SOLUSDT").json()["price"]
    assert rows[-2][6] + 1 == int(midnight.timestamp() * 1000)
    assert rows[-2][4] == price  # yesterday's close is the price at midnight


def test_history_starts_at_the_listing(sandbox: SandboxServer) -> None:
    # Binance pages from the first bar when startTime is before it (BTCUSDT lists on 2017-08-17)
    rows = get(sandbox, "binance", "/api/v3/klines", symbol="BTCUSDT", interval="1d", startTime=0, limit=3).json()
    assert [datetime.fromtimestamp(r[0] / 1000, UTC).date() for r in rows] == [
        date(2017, 8, 17),
        date(2017, 8, 18),
        date(2017, 8, 19),
    ]
    # Yahoo has no bars before a stock's first trade (the sandbox's stocks start on 2016-01-04)
    before = get(sandbox, "yahoo", "/v8/finance/chart/AAPL", period1=0, period2=epoch(date(2015, 1, 1)), interval="1d")
    result = before.json()["chart"]["result"][0]
    assert before.status_code == 200 and "timestamp" not in result
    assert datetime.fromtimestamp(result["meta"]["firstTradeDate"], NEW_YORK).date() == date(2016, 1, 4)
