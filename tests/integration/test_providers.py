"""The four providers against the sandbox market: parsed values, unknown symbols, and every failure mode
of the one HTTP path (Retry-After, 418, 5xx, 4xx, timeouts, errors inside a 200, the circuit).

Values are checked against the raw body the sandbox serves for the same request (its market clock
is frozen, so asking twice gives the same answer), parsed here independently of the providers.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from prometheus_client import REGISTRY
from sqlalchemy import select

from services.errors import CircuitOpen, NotSupported, ProviderError, RateLimited, UnknownSymbol
from services.market_data.circuit import CircuitState
from services.market_data.provider_state import COLUMNS
from services.market_data.providers import budgets, open_providers
from services.market_data.providers.base import Provider
from services.settings import Settings
from services.storage.db import make_engine
from tests.support.workers import wait_for

FROZEN = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # a Friday, 10:00 in New York: markets open
NEW_YORK = ZoneInfo("America/New_York")
WARSAW = ZoneInfo("Europe/Warsaw")
FAILURES_TO_OPEN = 3
OPEN_S = 1.0
TIMEOUT_S = 15.0  # generous: on a loaded CI machine a retried slow answer would change the call counts


@pytest.fixture
def market(sandbox: Any) -> Any:
    sandbox.configure(frozen_at=FROZEN.timestamp())
    return sandbox


def settings_for(sandbox: Any, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "tickwork_market_data": "sandbox",
        "tickwork_sandbox_url": sandbox.url,
        "tickwork_provider_timeout_seconds": TIMEOUT_S,
        "tickwork_circuit_failures": FAILURES_TO_OPEN,
        "tickwork_circuit_open_seconds": OPEN_S,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def providers(market: Any, database_url: str) -> Iterator[dict[str, Provider]]:
    with open_providers(settings_for(market, database_url), max_wait_s=5, backoff_s=0.01) as built:
        yield built


def raw(sandbox: Any, provider: str, path: str, **params: str) -> requests.Response:
    """The sandbox's answer to a request made here, without the provider code."""
    return requests.get(sandbox.base_url(provider) + path, params=params, timeout=10)


def calls(sandbox: Any, provider: str, path: str | None = None) -> int:
    summary = sandbox.stats()["providers"].get(provider, {})
    if path is None:
        return summary.get("requests", 0)
    return summary.get("by_path", {}).get(path, 0)


def statuses(sandbox: Any, provider: str) -> dict[str, int]:
    return sandbox.stats()["providers"].get(provider, {}).get("by_status", {})


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def requests_counted(provider: str, outcome: str) -> float:
    return sample("tickwork_provider_requests_total", provider=provider, outcome=outcome)


def state_row(database_url: str, provider: str) -> Any:
    with make_engine(database_url).connect() as connection:
        return connection.execute(select(COLUMNS).where(COLUMNS.provider == provider)).one()


def decimal_json(response: requests.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal, parse_int=Decimal)


def rounded(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals))


# -- Yahoo --------------------------------------------------------------------------------------------


def test_yahoo_quotes_are_spark_prices_and_a_missing_symbol_is_confirmed_unknown(market, providers):
    # Given two known symbols and one the sandbox does not know
    body = decimal_json(raw(market, "yahoo", "/v7/finance/spark", symbols="AAPL,MSFT", range="1d", interval="1d"))
    metas = {r["symbol"]: r["response"][0]["meta"] for r in body["spark"]["result"]}
    market.reset_stats()
    # When Yahoo is asked for them
    batch = providers["yahoo"].quotes(["AAPL", "MSFT", "ZZZZ"])
    # Then the prices are the served ones, as Decimal, at the served time
    for symbol in ("AAPL", "MSFT"):
        quote, meta = batch.quotes[symbol], metas[symbol]
        assert quote.price == meta["regularMarketPrice"] and isinstance(quote.price, Decimal)
        assert quote.at == datetime.fromtimestamp(int(meta["regularMarketTime"]), UTC)
        assert quote.currency == "USD"
    # And the missing symbol took one spark call and one chart call to be called unknown
    assert set(batch.unknown) == {"ZZZZ"} and "No data found" in batch.unknown["ZZZZ"]
    assert calls(market, "yahoo", "/v7/finance/spark") == 1
    assert calls(market, "yahoo", "/v8/finance/chart/ZZZZ") == 1


def test_yahoo_quotes_go_in_batches_of_20(market, providers):
    symbols = [f"SIM{n:04d}" for n in range(1, 46)]
    batch = providers["yahoo"].quotes(symbols)
    assert set(batch.quotes) == set(symbols)
    assert calls(market, "yahoo") == 3


def test_yahoo_daily_history_is_the_chart_on_exchange_dates_with_splits_and_dividends(market, providers):
    # Given AAPL's chart over its 2020 4:1 split and two ex-dividend dates
    start, end = date(2020, 8, 1), date(2020, 11, 30)
    history = providers["yahoo"].history("AAPL", start, end, "1d")
    period = {"period1": "1596240000", "period2": "1606867200", "interval": "1d", "events": "div,splits"}
    result = decimal_json(raw(market, "yahoo", "/v8/finance/chart/AAPL", **period))["chart"]["result"][0]
    hint = int(result["meta"]["priceHint"])
    quote = result["indicators"]["quote"][0]
    served = {}
    for i, epoch in enumerate(result["timestamp"]):
        day = datetime.fromtimestamp(int(epoch), NEW_YORK).date()
        if start <= day <= end and quote["close"][i] is not None:
            served[datetime(day.year, day.month, day.day, tzinfo=UTC)] = (quote["open"][i], quote["close"][i])
    # Then each bar is the served one, stamped 00:00 UTC of its New York date, rounded to priceHint
    assert [bar.ts for bar in history.bars] == sorted(served)
    for bar in history.bars:
        served_open, served_close = served[bar.ts]
        assert bar.close == rounded(served_close, hint) and bar.open == rounded(served_open, hint)
        assert bar.ts.weekday() < 5
    # And the split and the dividends are on their New York dates
    assert history.splits == {date(2020, 8, 31): Decimal(4)}
    assert history.dividends == {date(2020, 8, 10): Decimal("0.25"), date(2020, 11, 10): Decimal("0.25")}


def test_yahoo_drops_bars_without_a_trade(market, providers):
    # Given one-minute bars of a thinly traded generated stock, some of them null
    day = date(2026, 11, 19)
    symbol, nulls = _symbol_with_null_minutes(market, day)
    # When its history is asked for
    history = providers["yahoo"].history(symbol, day, day, "1m")
    # Then the null bars are gone, none invented, and the others are at their UTC minute
    result = _minute_chart(market, symbol, day)
    closes = result["indicators"]["quote"][0]["close"]
    kept = [datetime.fromtimestamp(int(t), UTC) for t, c in zip(result["timestamp"], closes, strict=True) if c]
    assert [bar.ts for bar in history.bars] == kept
    assert len(history.bars) == len(closes) - nulls


def _minute_chart(sandbox: Any, symbol: str, day: date) -> dict[str, Any]:
    period1 = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    params = {"period1": str(period1), "period2": str(period1 + 86400), "interval": "1m"}
    return json.loads(raw(sandbox, "yahoo", f"/v8/finance/chart/{symbol}", **params).text)["chart"]["result"][0]


def _symbol_with_null_minutes(sandbox: Any, day: date) -> tuple[str, int]:
    for n in range(1, 200):
        symbol = f"SIM{n:04d}"
        closes = _minute_chart(sandbox, symbol, day)["indicators"]["quote"][0]["close"]
        nulls = sum(1 for c in closes if c is None)
        if nulls:
            return symbol, nulls
    raise AssertionError("no generated stock has a minute without a trade")


def test_yahoo_asset_info_comes_from_search(market, providers):
    info = providers["yahoo"].asset_info("AAPL")
    served = raw(market, "yahoo", "/v1/finance/search", q="AAPL", quotesCount="1", newsCount="0").json()
    first = served["quotes"][0]
    assert info.name == first["longname"] == "Apple Inc."
    assert (info.asset_type, info.exchange) == ("equity", first["exchDisp"])
    assert (info.sector, info.industry) == (first["sector"], first["industry"])


def test_an_unknown_symbol_is_asked_once_and_never_retried(market, providers):
    with pytest.raises(UnknownSymbol):
        providers["yahoo"].history("ZZZZ", date(2026, 11, 2), date(2026, 11, 6), "1d")
    with pytest.raises(UnknownSymbol):
        providers["yahoo"].asset_info("ZZZZ")
    with pytest.raises(UnknownSymbol):
        providers["binance"].history("NOPEUSDT", date(2026, 11, 2), date(2026, 11, 6), "1d")
    with pytest.raises(UnknownSymbol):
        providers["coingecko"].asset_info("no-such-coin")
    assert calls(market, "yahoo") == 2 and calls(market, "binance") == 1 and calls(market, "coingecko") == 1


def test_an_interval_a_provider_lacks_is_not_supported_without_a_request(market, providers):
    for name, interval in (("yahoo", "1mo"), ("binance", "3d"), ("stooq", "1h"), ("coingecko", "1d")):
        with pytest.raises(NotSupported):
            providers[name].history("X", date(2026, 11, 2), date(2026, 11, 6), interval)
    with pytest.raises(NotSupported):
        providers["stooq"].asset_info("aapl.us")
    assert market.stats()["total"] == 0


def test_a_4xx_is_not_retried(market, providers):
    # A range Yahoo refuses (422: one-minute bars only for the last 30 days) is not retried either
    with pytest.raises(NotSupported, match="within the last 30 days"):
        providers["yahoo"].history("AAPL", date(2026, 1, 5), date(2026, 1, 5), "1m")
    assert statuses(market, "yahoo") == {"422": 1}


# -- Binance ------------------------------------------------------------------------------------------


def test_binance_prices_are_the_served_strings_and_unknown_symbols_are_found_by_halving(market, providers):
    served = {row["symbol"]: row["price"] for row in raw(market, "binance", "/api/v3/ticker/price").json()}
    market.reset_stats()
    # When a batch of four holds one unknown symbol
    batch = providers["binance"].quotes(["BTCUSDT", "ETHUSDT", "NOPEUSDT", "SOLUSDT"])
    # Then the prices are the served strings as Decimal
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        assert batch.quotes[symbol].price == Decimal(served[symbol])
        assert abs((batch.quotes[symbol].at - datetime.now(UTC)).total_seconds()) < 5  # the Date header
    assert set(batch.unknown) == {"NOPEUSDT"} and "-1121" in batch.unknown["NOPEUSDT"]
    # And halving took five calls: [all four], [BTC ETH] ok, [NOPE SOL], [NOPE], [SOL] ok
    assert calls(market, "binance") == 5
    assert statuses(market, "binance") == {"400": 3, "200": 2}


@pytest.mark.both_databases
def test_binance_spends_request_weight_and_takes_the_servers_count(market, providers, database_url):
    _not_near_a_minute_boundary()
    providers["binance"].quotes(["BTCUSDT"])  # weight 2
    providers["binance"].quotes(["BTCUSDT", "ETHUSDT"])  # weight 4
    providers["binance"].asset_info("BTCUSDT")  # weight 20
    assert state_row(database_url, "binance").used == 26
    # When another client on our IP spends weight the sandbox counts
    raw(market, "binance", "/api/v3/exchangeInfo")
    providers["binance"].quotes(["BTCUSDT"])
    # Then our count is raised to the server's (X-MBX-USED-WEIGHT-1M): 26 + 20 + 2
    assert state_row(database_url, "binance").used == 48


def _not_near_a_minute_boundary() -> None:
    if time.time() % 60 > 55:
        time.sleep(60 - time.time() % 60 + 0.1)


def test_binance_klines_are_paged_1000_at_a_time(market, providers):
    start, end = date(2026, 11, 10), date(2026, 11, 11)
    history = providers["binance"].history("BTCUSDT", start, end, "1m")
    assert len(history.bars) == 2 * 24 * 60 and calls(market, "binance", "/api/v3/klines") == 3
    first = datetime(2026, 11, 10, tzinfo=UTC)
    params = {"symbol": "BTCUSDT", "interval": "1m", "startTime": str(int(first.timestamp() * 1000)), "limit": "2"}
    served = raw(market, "binance", "/api/v3/klines", **params).json()
    for bar, row in zip(history.bars, served, strict=False):
        assert bar.ts == datetime.fromtimestamp(row[0] / 1000, UTC)
        assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == tuple(Decimal(v) for v in row[1:6])
    assert history.bars[-1].ts == datetime(2026, 11, 11, 23, 59, tzinfo=UTC)


def test_binance_weekly_bars_and_pair_info(market, providers):
    weekly = providers["binance"].history("ETHUSDT", date(2026, 10, 1), date(2026, 10, 31), "1wk")
    assert weekly.bars and all(bar.ts.weekday() == 0 for bar in weekly.bars)  # Binance weeks start Monday
    info = providers["binance"].asset_info("ETHUSDT")
    assert (info.name, info.asset_type, info.currency) == ("ETH/USDT", "crypto", "USDT")


# -- CoinGecko ----------------------------------------------------------------------------------------


def test_coingecko_prices_are_decimal_and_an_absent_id_is_unknown(market, providers):
    params = {"ids": "bitcoin,ethereum", "vs_currencies": "usd", "include_last_updated_at": "true", "precision": "full"}
    served = json.loads(raw(market, "coingecko", "/api/v3/simple/price", **params).text, parse_float=Decimal)
    market.reset_stats()
    batch = providers["coingecko"].quotes(["bitcoin", "ethereum", "no-such-coin"])
    for coin in ("bitcoin", "ethereum"):
        assert batch.quotes[coin].price == Decimal(served[coin]["usd"])
        assert batch.quotes[coin].at == datetime.fromtimestamp(served[coin]["last_updated_at"], UTC)
    assert set(batch.unknown) == {"no-such-coin"}
    assert calls(market, "coingecko") == 1


def test_coingecko_coin_info_and_no_history(market, providers):
    info = providers["coingecko"].asset_info("ethereum")
    assert info.name == "Ethereum" and info.asset_type == "crypto"
    assert "Smart Contract Platform" in info.details["categories"]
    with pytest.raises(NotSupported):
        providers["coingecko"].history("bitcoin", date(2026, 11, 2), date(2026, 11, 6), "1d")


def test_coingecko_sends_the_demo_key_when_one_is_set(market, database_url):
    settings = settings_for(market, database_url, tickwork_coingecko_api_key="CG-demo")
    with open_providers(settings) as built:
        assert built["coingecko"].http.session.headers["x-cg-demo-api-key"] == "CG-demo"  # type: ignore[attr-defined]
        assert "x-cg-demo-api-key" not in built["yahoo"].http.session.headers  # type: ignore[attr-defined]


# -- Stooq --------------------------------------------------------------------------------------------


def test_stooq_quotes_are_one_csv_call_with_warsaw_times_in_utc(market, providers):
    served_text = requests.get(
        market.base_url("stooq") + "/q/l/?s=aapl.us+msft.us&f=sd2t2ohlcv&h&e=csv", timeout=10
    ).text
    served = {row["Symbol"]: row for row in csv.DictReader(io.StringIO(served_text))}
    market.reset_stats()
    batch = providers["stooq"].quotes(["aapl.us", "msft.us", "zzzz.us"])
    for symbol in ("aapl.us", "msft.us"):
        row = served[symbol.upper()]
        local = datetime.fromisoformat(f"{row['Date']}T{row['Time']}").replace(tzinfo=WARSAW)
        assert batch.quotes[symbol].price == Decimal(row["Close"])
        assert batch.quotes[symbol].at == local.astimezone(UTC) and batch.quotes[symbol].currency == "USD"
    assert set(batch.unknown) == {"zzzz.us"}
    assert calls(market, "stooq") == 1


def test_stooq_daily_history_and_no_data(market, providers):
    start, end = date(2026, 11, 2), date(2026, 11, 13)
    history = providers["stooq"].history("aapl.us", start, end, "1d")
    served = raw(market, "stooq", "/q/d/l/", s="aapl.us", i="d", d1="20261102", d2="20261113").text
    rows = list(csv.DictReader(io.StringIO(served)))
    assert [bar.ts.date().isoformat() for bar in history.bars] == [row["Date"] for row in rows]
    assert [bar.close for bar in history.bars] == [Decimal(row["Close"]) for row in rows]
    market.reset_stats()
    # "No data" over a weekend is an empty history (a quote call says the symbol exists) ...
    assert providers["stooq"].history("aapl.us", date(2026, 11, 14), date(2026, 11, 15), "1d").bars == []
    # ... and for an unknown symbol it is UnknownSymbol, after the same two calls
    with pytest.raises(UnknownSymbol):
        providers["stooq"].history("zzzz.us", start, end, "1d")
    assert calls(market, "stooq", "/q/d/l/") == 2 and calls(market, "stooq", "/q/l/") == 2


def test_weekly_bars_start_on_monday_whichever_provider_serves_them(market, providers):
    start, end = date(2026, 10, 5), date(2026, 10, 30)
    stooq_weeks = providers["stooq"].history("aapl.us", start, end, "1wk").bars
    yahoo_weeks = providers["yahoo"].history("AAPL", start, end, "1wk").bars
    mondays = [datetime(2026, 10, day, tzinfo=UTC) for day in (5, 12, 19, 26)]
    assert [bar.ts for bar in stooq_weeks] == mondays == [bar.ts for bar in yahoo_weeks]
    assert [bar.close for bar in stooq_weeks] == [bar.close for bar in yahoo_weeks]


def test_stooq_daily_limit_blocks_every_process_until_the_next_utc_day(market, providers, database_url):
    market.configure(stooq_daily_limit=1)
    providers["stooq"].quotes(["aapl.us"])
    with pytest.raises(RateLimited) as raised:
        providers["stooq"].quotes(["aapl.us"])
    now = datetime.now(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC).timestamp() + 86400
    assert abs(raised.value.retry_after_s - (midnight - now.timestamp())) < 5
    assert state_row(database_url, "stooq").blocked_until == pytest.approx(midnight, abs=5)
    # Then another process's client does not even call
    with open_providers(settings_for(market, database_url)) as other, pytest.raises(RateLimited):
        other["stooq"].history("aapl.us", date(2026, 11, 2), date(2026, 11, 6), "1d")
    assert calls(market, "stooq") == 2


# -- Retry-After, 418, retries, timeouts, errors inside a 200 -----------------------------------------


def test_a_429_retry_after_is_waited_out_and_shared(market, providers, database_url):
    waits_before = sample("tickwork_provider_rate_limit_wait_seconds_sum", provider="yahoo")
    market.fault("yahoo", "rate_limit", retry_after_s=2, count=1)
    started = time.monotonic()
    batch = providers["yahoo"].quotes(["AAPL"])
    assert "AAPL" in batch.quotes
    assert time.monotonic() - started >= 1.9
    assert sample("tickwork_provider_rate_limit_wait_seconds_sum", provider="yahoo") - waits_before >= 1.9
    assert statuses(market, "yahoo") == {"429": 1, "200": 1}
    assert state_row(database_url, "yahoo").blocked_until > time.time() - 2


@pytest.mark.both_databases
def test_a_retry_after_longer_than_the_wait_allowed_raises_rate_limited_for_every_process(market, database_url):
    market.fault("yahoo", "rate_limit", retry_after_s=30, count=1)
    rate_limited_before = sample("tickwork_provider_rate_limited_total", provider="yahoo")
    settings = settings_for(market, database_url)
    with open_providers(settings, max_wait_s=2) as first, pytest.raises(RateLimited) as raised:
        first["yahoo"].quotes(["AAPL"])
    assert 28 <= raised.value.retry_after_s <= 30
    # And a second process waits for the same block without calling
    with open_providers(settings, max_wait_s=2) as second, pytest.raises(RateLimited):
        second["yahoo"].asset_info("AAPL")
    assert calls(market, "yahoo") == 1
    assert sample("tickwork_provider_rate_limited_total", provider="yahoo") - rate_limited_before == 2


def test_binance_418_ban_is_honoured_and_never_prolonged(market, providers):
    # Given an IP banned by Binance for calling through a Retry-After (another client did it)
    market.configure(binance_ban_s=2)
    market.fault("binance", "rate_limit", retry_after_s=2, count=1)
    assert raw(market, "binance", "/api/v3/ticker/price", symbol="BTCUSDT").status_code == 429
    assert raw(market, "binance", "/api/v3/ticker/price", symbol="BTCUSDT").status_code == 418
    market.reset_stats()
    # When our client asks
    started = time.monotonic()
    batch = providers["binance"].quotes(["BTCUSDT"])
    # Then it met the 418 once, waited out its Retry-After (shared), and was answered after
    assert "BTCUSDT" in batch.quotes and time.monotonic() - started >= 1
    assert statuses(market, "binance") == {"418": 1, "200": 1}


def test_a_5xx_is_retried_quickly_then_fails_as_provider_error(market, providers, database_url):
    market.fault("yahoo", "http_503")
    before = requests_counted("yahoo", "http_5xx")
    with pytest.raises(ProviderError, match="HTTP 503") as raised:
        providers["yahoo"].asset_info("AAPL")
    assert type(raised.value) is ProviderError
    assert calls(market, "yahoo") == 3  # the first attempt and two quick retries
    assert requests_counted("yahoo", "http_5xx") - before == 3
    row = state_row(database_url, "yahoo")
    assert row.failures == 1  # one failed call for the circuit
    assert (row.attempts, row.errors) == (3, 3)  # three failed attempts for the console


def test_a_transient_5xx_is_retried_to_success(market, providers, database_url):
    market.fault("binance", "http_500", count=1)
    assert "BTCUSDT" in providers["binance"].quotes(["BTCUSDT"]).quotes
    assert statuses(market, "binance") == {"500": 1, "200": 1}
    row = state_row(database_url, "binance")
    assert row.failures == 0
    assert (row.attempts, row.errors) == (2, 1) and row.last_latency_s > 0


def test_a_timeout_is_retried_then_fails(market, database_url):
    market.fault("coingecko", "timeout", delay_s=1.0)
    before = requests_counted("coingecko", "timeout")
    settings = settings_for(market, database_url, tickwork_provider_timeout_seconds=0.3)
    with open_providers(settings, backoff_s=0.01) as impatient, pytest.raises(ProviderError, match="no answer within"):
        impatient["coingecko"].quotes(["bitcoin"])
    assert requests_counted("coingecko", "timeout") - before == 3
    # The sandbox logs a request when it has answered it: wait for the late answers (not for the next test)
    wait_for(lambda: calls(market, "coingecko") == 3, 5, "the sandbox to answer the three late requests")


@pytest.mark.parametrize("provider", ["yahoo", "binance", "coingecko"])
def test_an_error_inside_a_200_is_a_failure_not_retried(market, providers, database_url, provider):
    market.fault(provider, "error_in_200", count=1)
    before = requests_counted(provider, "error_body")
    symbol = {"yahoo": "AAPL", "binance": "BTCUSDT", "coingecko": "bitcoin"}[provider]
    with pytest.raises(ProviderError):
        providers[provider].quotes([symbol])
    assert calls(market, provider) == 1
    assert requests_counted(provider, "error_body") - before == 1
    assert state_row(database_url, provider).failures == 1


def test_html_instead_of_yahoo_search_json_is_a_failure(market, providers):
    market.fault("yahoo", "error_in_200", count=1)
    with pytest.raises(ProviderError, match="HTML instead of JSON"):
        providers["yahoo"].asset_info("AAPL")


# -- the circuit --------------------------------------------------------------------------------------


def circuit_gauge(provider: str) -> float:
    return sample("tickwork_provider_circuit_state", provider=provider)


@pytest.mark.both_databases
def test_the_circuit_opens_refuses_without_calling_then_half_opens_and_closes(market, providers, database_url):
    # Given N consecutive failed calls
    market.fault("coingecko", "error_in_200")
    for _ in range(FAILURES_TO_OPEN):
        with pytest.raises(ProviderError):
            providers["coingecko"].quotes(["bitcoin"])
    assert circuit_gauge("coingecko") == CircuitState.OPEN
    # Then the next call is refused without a request
    with pytest.raises(CircuitOpen):
        providers["coingecko"].quotes(["bitcoin"])
    assert calls(market, "coingecko") == FAILURES_TO_OPEN
    # When the provider recovers and the open time has passed
    market.clear_faults()
    time.sleep(OPEN_S + 0.1)
    # Then one trial call goes through, and its success closes the circuit
    assert "bitcoin" in providers["coingecko"].quotes(["bitcoin"]).quotes
    assert circuit_gauge("coingecko") == CircuitState.CLOSED
    assert state_row(database_url, "coingecko").failures == 0
    assert "ethereum" in providers["coingecko"].quotes(["ethereum"]).quotes


def test_a_failed_trial_opens_the_circuit_again(market, providers):
    market.fault("yahoo", "error_in_200")
    for _ in range(FAILURES_TO_OPEN):
        with pytest.raises(ProviderError):
            providers["yahoo"].quotes(["AAPL"])
    time.sleep(OPEN_S + 0.1)
    with pytest.raises(ProviderError):  # the trial, still failing
        providers["yahoo"].quotes(["AAPL"])
    with pytest.raises(CircuitOpen):
        providers["yahoo"].quotes(["AAPL"])
    assert calls(market, "yahoo") == FAILURES_TO_OPEN + 1
    assert circuit_gauge("yahoo") == CircuitState.OPEN


def test_an_open_circuit_is_shared_by_every_process(market, providers, database_url):
    market.fault("stooq", "http_500")
    for _ in range(FAILURES_TO_OPEN):
        with pytest.raises(ProviderError):
            providers["stooq"].quotes(["aapl.us"])
    requests_made = calls(market, "stooq")
    with open_providers(settings_for(market, database_url)) as other, pytest.raises(CircuitOpen):
        other["stooq"].quotes(["aapl.us"])
    assert calls(market, "stooq") == requests_made


def test_default_budgets_follow_the_settings(market, database_url):
    assert budgets(settings_for(market, database_url)) == {"yahoo": 120, "binance": 5000, "coingecko": 30, "stooq": 60}


def test_every_provider_returns_the_same_weeks_for_a_range(providers):
    # A Wednesday to a Thursday: the weeks starting in the range, stamped with their Monday, whoever answers
    start, end = date(2025, 11, 5), date(2025, 11, 20)
    weeks = {
        name: [bar.ts.date() for bar in providers[name].history(symbol, start, end, "1wk").bars]
        for name, symbol in (("yahoo", "AAPL"), ("stooq", "aapl.us"), ("binance", "BTCUSDT"))
    }
    assert weeks["stooq"] == weeks["yahoo"] == weeks["binance"] == [date(2025, 11, 10), date(2025, 11, 17)]
