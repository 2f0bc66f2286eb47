"""The sandbox market answers in each provider's real wire format, with their errors and rate limits.

Bodies are parsed the way a provider client parses them (JSON shapes, CSV headers, string prices,
`parse_float=Decimal`), against the `sandbox` fixture: one server per session, reset for each test.
"""

from __future__ import annotations

import csv
import io
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import requests

from services.scheduling.market_hours import NEW_YORK, NYSE
from tests.support.sandbox import SandboxServer

TIMEOUT = 10
WARSAW = ZoneInfo("Europe/Warsaw")


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
    many = requests.get(
        f"{sandbox.base_url('binance')}/api/v3/ticker/price?symbols={quote(symbols)}", timeout=TIMEOUT
    )
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
