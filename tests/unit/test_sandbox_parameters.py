"""Odd query parameters get each provider's own error answers from the sandbox, never a crash (a 5xx)."""

from __future__ import annotations

import random
from urllib.parse import urlencode

import pytest

from services.sandbox.config import ConfigError
from services.sandbox.faults import Faults
from services.sandbox.server import Sandbox

VALUES = [
    "", "0", "-1", "1", "abc", "1e10", "99999999999999", "1700000000", "1d", "1m", "5m", "1wk", "1mo", "5d",
    "max", "ytd", "7m", "[]", '["BTCUSDT"]', '["btcusdt"]', "BTCUSDT", "AAPL", "aapl.us", "bitcoin", "usd", "true",
    "d", "w", "20260101", "20261301", "SIM0001", "SIMC0001USDT", "1h", "1w", "3d", "%00", "a,b", "nan", "inf",
]  # fmt: skip
ENDPOINTS = [
    ("yahoo", "/v8/finance/chart/AAPL", ["period1", "period2", "interval", "range", "events"]),
    ("yahoo", "/v7/finance/spark", ["symbols", "range", "interval"]),
    ("yahoo", "/v1/finance/search", ["q", "quotesCount"]),
    ("binance", "/api/v3/ticker/price", ["symbol", "symbols"]),
    ("binance", "/api/v3/klines", ["symbol", "interval", "startTime", "endTime", "limit"]),
    ("binance", "/api/v3/exchangeInfo", ["symbol", "symbols"]),
    ("coingecko", "/api/v3/simple/price", ["ids", "vs_currencies", "include_24hr_change", "precision"]),
    ("coingecko", "/api/v3/coins/bitcoin", []),
    ("stooq", "/q/l/", ["s", "f", "h", "e"]),
    ("stooq", "/q/d/l/", ["s", "i", "d1", "d2"]),
]
CLOCKS = [None, 1795460400.0, 1795550000.0, 1502928000.0]  # now, mid-session, a Saturday, BTC's first day


def test_odd_parameters_never_crash_the_sandbox() -> None:
    sandbox = Sandbox()
    sandbox.config.update({"limits": dict.fromkeys(("yahoo", "binance", "coingecko", "stooq"))})
    draw = random.Random(20261124)
    for _ in range(600):
        provider, path, names = draw.choice(ENDPOINTS)
        query = {name: draw.choice(VALUES) for name in names if draw.random() < 0.7}
        sandbox.config.frozen_at = draw.choice(CLOCKS)
        response = sandbox.serve(provider, path, urlencode(query))
        assert response.status < 500, (provider, path, query, response.body[:500])


@pytest.mark.parametrize(
    "spec",
    [
        {"provider": "yahoo", "mode": "http_500", "count": True},
        {"provider": "yahoo", "mode": "http_500", "count": 0},
        {"provider": "yahoo", "mode": "http_500", "path": 5},
        {"provider": "yahoo", "mode": "slow", "delay_s": "1"},
        {"provider": "yahoo", "mode": "rate_limit", "retry_after_s": 1.5},
        {"provider": "nasdaq", "mode": "http_500"},
        {"provider": "yahoo", "mode": "http_500", "extra": 1},
    ],
)
def test_malformed_faults_are_refused(spec: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Faults().add(spec)
