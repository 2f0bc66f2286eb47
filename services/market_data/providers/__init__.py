"""The market-data providers, built from the settings: one HTTP client each, sharing each provider's
rate budget, circuit and recent latency through its `provider_state` row in the database.

    providers = build_providers(settings)   # sessions started
    try: ... providers["yahoo"].quotes(["AAPL"]) ...
    finally: close_providers(providers)

or `with open_providers(settings) as providers: ...`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from services.market_data.circuit import SharedCircuit
from services.market_data.http import ProviderHttp
from services.market_data.provider_latency import SharedLatency
from services.market_data.providers import binance, coingecko, stooq, yahoo
from services.market_data.providers.base import Provider
from services.market_data.rate_limit import SharedRateLimit
from services.settings import Settings, revealed
from services.storage.db import make_engine

LIVE_URLS = {
    "yahoo": yahoo.LIVE_URL,
    "binance": binance.LIVE_URL,
    "coingecko": coingecko.LIVE_URL,
    "stooq": stooq.LIVE_URL,
}


def base_urls(settings: Settings) -> dict[str, str]:
    """Each provider's base URL: its live endpoint, or its prefix on the sandbox market."""
    if settings.tickwork_market_data == "live":
        return dict(LIVE_URLS)
    sandbox = settings.tickwork_sandbox_url.rstrip("/")
    return {name: f"{sandbox}/{name}" for name in LIVE_URLS}


def budgets(settings: Settings) -> dict[str, int]:
    """Units per minute window: requests, except Binance's request weight."""
    return {
        "yahoo": settings.tickwork_yahoo_requests_per_minute,
        "binance": settings.tickwork_binance_weight_per_minute,
        "coingecko": settings.tickwork_coingecko_requests_per_minute,
        "stooq": settings.tickwork_stooq_requests_per_minute,
    }


def build_providers(
    settings: Settings,
    *,
    window_s: float = 60.0,
    max_wait_s: float = 60.0,
    retries: int = 2,
    backoff_s: float = 0.25,
) -> dict[str, Provider]:
    """Every provider, its HTTP session started. `window_s` (the budget window) is shortened only by
    tests; `max_wait_s` is the longest a call sleeps for the budget or a Retry-After before it
    raises RateLimited; `retries` quick retries on timeouts, resets and 5xx."""
    urls = base_urls(settings)
    rate_limit = SharedRateLimit(
        make_engine(settings.database_url), limits=budgets(settings), window_s=window_s, max_wait_s=max_wait_s
    )
    timeout_s = settings.tickwork_provider_timeout_seconds
    circuit = SharedCircuit(
        make_engine(settings.database_url),
        failures_to_open=settings.tickwork_circuit_failures,
        open_s=settings.tickwork_circuit_open_seconds,
        # Others stay refused while the half-open trial runs: its worst case, all retries timing out.
        trial_lease_s=(retries + 1) * timeout_s + 2 * backoff_s * 2**retries,
    )

    latency = SharedLatency(make_engine(settings.database_url))

    def client(name: str, **options: Any) -> ProviderHttp:
        http = ProviderHttp(
            provider=name,
            base_url=urls[name],
            timeout_s=timeout_s,
            rate_limit=rate_limit,
            circuit=circuit,
            latency=latency,
            retries=retries,
            backoff_s=backoff_s,
            **options,
        )
        http.start()
        return http

    key = revealed(settings.tickwork_coingecko_api_key)
    return {
        "yahoo": yahoo.YahooProvider(client("yahoo")),
        "binance": binance.BinanceProvider(client("binance", used_weight_header=binance.USED_WEIGHT_HEADER)),
        "coingecko": coingecko.CoinGeckoProvider(
            client("coingecko", headers={coingecko.API_KEY_HEADER: key} if key else None)
        ),
        "stooq": stooq.StooqProvider(client("stooq")),
    }


def close_providers(providers: Mapping[str, Provider]) -> None:
    """Close every provider's HTTP session."""
    for provider in providers.values():
        close = getattr(provider, "close", None)
        if close is not None:
            close()


@contextmanager
def open_providers(settings: Settings, **options: Any) -> Iterator[dict[str, Provider]]:
    """`build_providers` for the length of a `with` block."""
    providers = build_providers(settings, **options)
    try:
        yield providers
    finally:
        close_providers(providers)
