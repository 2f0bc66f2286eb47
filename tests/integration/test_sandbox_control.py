"""The sandbox's control side: rate limits as each provider enforces them, faults, latency and stats.

Uses the `sandbox` fixture (one server per session, reset for each test), and plain `requests`
calls shaped like the provider clients' calls.
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.support.sandbox import SandboxServer

TIMEOUT = 10
CHART = "/v8/finance/chart/AAPL"


def get(sandbox: SandboxServer, provider: str, path: str, timeout: float = TIMEOUT, **params: Any) -> requests.Response:
    return requests.get(f"{sandbox.base_url(provider)}{path}", params=params, timeout=timeout)


def btc(sandbox: SandboxServer) -> requests.Response:
    return get(sandbox, "binance", "/api/v3/ticker/price", symbol="BTCUSDT")


def away_from_a_minute_boundary(margin: float = 3.0) -> None:
    """Limits count per calendar minute: start a counting test where the minute cannot turn under it."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.05)


# -- rate limits ---------------------------------------------------------------------------------
def test_binance_counts_weight_then_429_with_retry_after_then_418(sandbox: SandboxServer) -> None:
    # Given a budget of 10 weight a minute (a single-symbol price costs 2)
    sandbox.configure(limits={"binance": 10}, binance_ban_s=5)
    away_from_a_minute_boundary()
    # When the budget is spent
    answers = [btc(sandbox) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert [a.headers["X-MBX-USED-WEIGHT-1M"] for a in answers] == ["2", "4", "6", "8", "10"]
    # Then the next call is refused with 429 and a Retry-After up to the next minute
    refused = btc(sandbox)
    assert refused.status_code == 429
    assert refused.json() == {
        "code": -1003,
        "msg": "Too much request weight used; current limit is 10 request weight per 1 MINUTE."
        " Please use WebSocket Streams for live updates to avoid polling the API.",
    }
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 60 and refused.headers["X-MBX-USED-WEIGHT-1M"] == "12"
    # and calling again during the Retry-After is a ban: 418, with its own Retry-After
    banned = btc(sandbox)
    assert banned.status_code == 418 and banned.json()["code"] == -1003 and "IP banned" in banned.json()["msg"]
    assert int(banned.headers["Retry-After"]) == 5 and "X-MBX-USED-WEIGHT-1M" in banned.headers


def test_coingecko_429_over_its_per_minute_limit(sandbox: SandboxServer) -> None:
    # Given CoinGecko's default of 30 calls a minute
    away_from_a_minute_boundary()
    answers = [get(sandbox, "coingecko", "/api/v3/simple/price", ids="bitcoin", vs_currencies="usd") for _ in range(31)]
    assert [a.status_code for a in answers[:30]] == [200] * 30
    refused = answers[30]
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["status"]["error_code"] == 429
    assert refused.json()["status"]["error_message"].startswith("You've exceeded the Rate Limit.")


def test_yahoo_429_is_plain_text(sandbox: SandboxServer) -> None:
    sandbox.configure(limits={"yahoo": 2})
    away_from_a_minute_boundary()
    statuses = [get(sandbox, "yahoo", CHART, range="1d", interval="1d").status_code for _ in range(2)]
    refused = get(sandbox, "yahoo", CHART, range="1d", interval="1d")
    assert statuses == [200, 200]
    assert refused.status_code == 429 and refused.text == "Too Many Requests"
    assert refused.headers["Content-Type"].startswith("text/plain") and "Retry-After" in refused.headers


def test_limits_can_be_lifted(sandbox: SandboxServer) -> None:
    sandbox.configure(limits={"coingecko": None})
    away_from_a_minute_boundary()
    answers = [get(sandbox, "coingecko", "/api/v3/ping") for _ in range(40)]
    assert {a.status_code for a in answers} == {200}


# -- faults --------------------------------------------------------------------------------------
def test_http_500_fault_hits_count_requests_then_clears(sandbox: SandboxServer) -> None:
    sandbox.fault("yahoo", "http_500", count=2)
    statuses = [get(sandbox, "yahoo", CHART, range="1d", interval="1d").status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert sandbox.faults() == []


def test_http_503_fault_for_binance_has_its_error_body(sandbox: SandboxServer) -> None:
    sandbox.fault("binance", "http_503", count=1)
    response = btc(sandbox)
    assert response.status_code == 503 and response.json()["code"] < 0
    assert "X-MBX-USED-WEIGHT-1M" in response.headers


def test_fault_with_path_only_hits_matching_requests(sandbox: SandboxServer) -> None:
    sandbox.fault("yahoo", "http_503", path="/v7/finance/spark")
    assert get(sandbox, "yahoo", CHART, range="1d", interval="1d").status_code == 200
    assert get(sandbox, "yahoo", "/v7/finance/spark", symbols="AAPL").status_code == 503
    assert get(sandbox, "yahoo", "/v7/finance/spark", symbols="AAPL").status_code == 503  # until cleared
    assert sandbox.clear_faults() == 1
    assert get(sandbox, "yahoo", "/v7/finance/spark", symbols="AAPL").status_code == 200


def test_timeout_fault_outlasts_the_client_timeout(sandbox: SandboxServer) -> None:
    sandbox.fault("stooq", "timeout", delay_s=2.0, count=1)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        get(sandbox, "stooq", "/q/l/", timeout=0.3, s="aapl.us", f="sd2t2ohlcv", h="")
    assert time.monotonic() - started < 1.5
    assert get(sandbox, "stooq", "/q/l/", s="aapl.us", f="sd2t2ohlcv", h="").status_code == 200


def test_slow_fault_answers_normally_but_late(sandbox: SandboxServer) -> None:
    sandbox.fault("coingecko", "slow", delay_s=0.4, count=1)
    started = time.monotonic()
    response = get(sandbox, "coingecko", "/api/v3/simple/price", ids="bitcoin", vs_currencies="usd")
    assert response.status_code == 200 and "bitcoin" in response.json()
    assert time.monotonic() - started >= 0.4


def test_rate_limit_fault_sends_the_providers_429_and_binance_bans_the_impatient(sandbox: SandboxServer) -> None:
    sandbox.configure(binance_ban_s=3)
    sandbox.fault("binance", "rate_limit", retry_after_s=7, count=1)
    first = btc(sandbox)
    assert first.status_code == 429 and first.headers["Retry-After"] == "7" and first.json()["code"] == -1003
    second = btc(sandbox)  # within the Retry-After
    assert second.status_code == 418 and second.headers["Retry-After"] == "3"
    sandbox.fault("yahoo", "rate_limit", retry_after_s=4, count=1)
    yahoo = get(sandbox, "yahoo", CHART, range="1d", interval="1d")
    assert yahoo.status_code == 429 and yahoo.headers["Retry-After"] == "4" and yahoo.text == "Too Many Requests"


def test_error_in_200_fault_takes_each_providers_real_form(sandbox: SandboxServer) -> None:
    for provider in ("yahoo", "binance", "coingecko", "stooq"):
        sandbox.fault(provider, "error_in_200")
    # Yahoo: HTTP 200 whose chart.error / spark.error is set
    chart = get(sandbox, "yahoo", CHART, range="1d", interval="1d")
    assert chart.status_code == 200
    assert chart.json()["chart"]["result"] is None and chart.json()["chart"]["error"]["code"]
    spark = get(sandbox, "yahoo", "/v7/finance/spark", symbols="AAPL")
    assert spark.status_code == 200 and spark.json()["spark"]["error"] is not None
    # Binance and CoinGecko: HTTP 200 with a body that is not JSON (a proxy's page)
    for provider, path in (("binance", "/api/v3/ticker/price"), ("coingecko", "/api/v3/simple/price")):
        response = get(sandbox, provider, path)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.text)
    # Stooq: its daily-limit text
    stooq = get(sandbox, "stooq", "/q/l/", s="aapl.us")
    assert stooq.status_code == 200 and stooq.text == "Exceeded the daily hits limit"


def test_bad_control_requests_are_400(sandbox: SandboxServer) -> None:
    url = f"{sandbox.url}/_sandbox"
    bad_mode = requests.post(f"{url}/faults", json={"provider": "yahoo", "mode": "explode"}, timeout=TIMEOUT)
    bad_provider = requests.post(f"{url}/config", json={"latency_ms": {"nasdaq": 5}}, timeout=TIMEOUT)
    bad_value = requests.post(f"{url}/config", json={"limits": {"yahoo": -1}}, timeout=TIMEOUT)
    not_json = requests.post(f"{url}/config", data="{", timeout=TIMEOUT)
    assert [r.status_code for r in (bad_mode, bad_provider, bad_value, not_json)] == [400, 400, 400, 400]
    assert "mode" in bad_mode.json()["error"]


# -- latency -------------------------------------------------------------------------------------
def test_latency_applies_to_every_request_without_queueing(sandbox: SandboxServer) -> None:
    sandbox.configure(latency_ms=50)
    # Each request takes at least 50 ms
    for provider, path in (("yahoo", CHART), ("binance", "/api/v3/ping"), ("stooq", "/q/l/")):
        started = time.monotonic()
        get(sandbox, provider, path)
        assert time.monotonic() - started >= 0.05
    # and 40 at once finish together, far sooner than 40 x 50 ms one after the other
    urls = [f"{sandbox.base_url('binance')}/api/v3/ticker/price?symbol=ETHUSDT" for _ in range(40)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(lambda url: requests.get(url, timeout=TIMEOUT).status_code, urls))
    elapsed = time.monotonic() - started
    assert statuses == [200] * 40
    # one after the other they would take 2 s; the bound leaves room for parallel test processes
    assert elapsed < 1.0, f"40 concurrent requests took {elapsed:.3f} s"


def test_latency_per_provider(sandbox: SandboxServer) -> None:
    sandbox.configure(latency_ms={"coingecko": 200})
    started = time.monotonic()
    btc(sandbox)
    binance_s = time.monotonic() - started
    started = time.monotonic()
    get(sandbox, "coingecko", "/api/v3/ping")
    assert time.monotonic() - started >= 0.2 and binance_s < 0.2


# -- stats ---------------------------------------------------------------------------------------
def test_stats_count_requests_by_provider_path_and_status(sandbox: SandboxServer) -> None:
    away_from_a_minute_boundary()
    for _ in range(3):
        get(sandbox, "yahoo", CHART, range="1d", interval="1d")
    get(sandbox, "yahoo", "/v8/finance/chart/ZZZZ", range="1d", interval="1d")
    btc(sandbox)
    get(sandbox, "binance", "/api/v3/exchangeInfo", symbol="BTCUSDT")
    stats = sandbox.stats(detail=True)
    yahoo, binance = stats["providers"]["yahoo"], stats["providers"]["binance"]
    assert stats["total"] == 6 and yahoo["requests"] == 4
    assert yahoo["by_path"] == {CHART: 3, "/v8/finance/chart/ZZZZ": 1}
    assert yahoo["by_status"] == {"200": 3, "404": 1}
    assert yahoo["max_per_minute"] == 4 and yahoo["max_in_60s"] == 4
    assert binance["max_weight_per_minute"] == 22
    times = [r["at"] for r in stats["requests"]]
    assert times == sorted(times) and all(math.isfinite(t) for t in times)
    sandbox.reset_stats()
    assert sandbox.stats() == {"total": 0, "providers": {}}


def test_control_endpoints_are_not_counted_and_health_answers(sandbox: SandboxServer) -> None:
    assert sandbox.health()["status"] == "ok"
    sandbox.config()
    assert sandbox.stats()["total"] == 0


def test_unknown_prefix_and_path(sandbox: SandboxServer) -> None:
    assert requests.get(f"{sandbox.url}/nasdaq/quote", timeout=TIMEOUT).status_code == 404
    assert get(sandbox, "binance", "/api/v3/nothing").status_code == 404


def test_a_request_answered_after_a_reset_is_not_counted(sandbox: SandboxServer) -> None:
    # Given a request kept waiting by a timeout fault, which the client gave up on
    sandbox.fault("yahoo", "timeout", delay_s=1.0, count=1)
    with pytest.raises(requests.ReadTimeout):
        get(sandbox, "yahoo", CHART, timeout=0.2, range="1d", interval="1d")
    # When the stats are reset before the sandbox answers it
    sandbox.reset_stats()
    time.sleep(1.2)
    # Then it does not count in the new stats (it belongs to the test before the reset)
    assert sandbox.stats()["total"] == 0
