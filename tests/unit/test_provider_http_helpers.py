"""The pieces of the provider HTTP path that need no server: Retry-After, batching, backoff, metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from services.market_data.http import retry_after_seconds
from services.market_data.providers.batching import chunked

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC).timestamp()


def test_retry_after_in_seconds():
    assert retry_after_seconds("7", NOW) == 7.0
    assert retry_after_seconds(" 0 ", NOW) == 0.0


def test_retry_after_as_an_http_date():
    later = datetime(2026, 11, 24, 12, 0, 30, tzinfo=UTC)
    assert retry_after_seconds(format_datetime(later, usegmt=True), NOW) == 30.0


def test_a_retry_after_in_the_past_means_now_and_junk_means_none():
    earlier = datetime(2026, 11, 24, 11, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(format_datetime(earlier, usegmt=True), NOW) == 0.0
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(None, NOW) is None
    assert retry_after_seconds("", NOW) is None


def test_batches_keep_order_and_ask_each_symbol_once():
    symbols = [f"S{n}" for n in range(45)] + ["S0"]
    batches = list(chunked(symbols, 20))
    assert [len(b) for b in batches] == [20, 20, 5]
    assert [s for b in batches for s in b] == [f"S{n}" for n in range(45)]


def test_provider_series_exist_at_zero_with_bounded_labels():
    import prometheus_client as prom

    from services.market_data.metrics import OUTCOMES, PROVIDERS, ProviderMetrics

    registry = prom.CollectorRegistry()
    metrics = ProviderMetrics(registry)
    for provider in PROVIDERS:
        metrics.series(provider)
    names = {sample.name for family in registry.collect() for sample in family.samples}
    assert {
        "tickwork_provider_requests_total",
        "tickwork_provider_request_seconds_bucket",
        "tickwork_provider_rate_limit_wait_seconds_bucket",
        "tickwork_provider_rate_limited_total",
        "tickwork_provider_circuit_state",
    } <= names
    for provider in PROVIDERS:
        for outcome in OUTCOMES:
            labels = {"provider": provider, "outcome": outcome}
            assert registry.get_sample_value("tickwork_provider_requests_total", labels) == 0
