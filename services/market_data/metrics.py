"""Prometheus series of the provider clients: requests by outcome, latency, rate-limit waits, circuit state.

prometheus_client is imported when the series are first asked for, never at import time (see
services/lazy_series.py). Labels are bounded: `provider` is one of our four, `outcome` one of
OUTCOMES.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from services.lazy_series import LazySeries
from services.market_data.circuit import CircuitState, SharedCircuit
from services.settings import Settings
from services.storage.db import make_engine

log = logging.getLogger("tickwork.market_data")

PROVIDERS = ("yahoo", "binance", "coingecko", "stooq")  # the values of the `provider` label
# One per HTTP attempt (the first seven), or per call refused before any request (the last two).
OUTCOMES = (
    "ok",  # 2xx, and the provider could read the body
    "http_4xx",  # a 4xx other than 429/418 (an unknown symbol, a bad request)
    "http_5xx",
    "timeout",
    "connection",  # refused, reset, DNS, broken body
    "rate_limited",  # a 429 or 418 answer
    "error_body",  # a 2xx whose body is an error, HTML, or unreadable
    "circuit_open",  # refused by our circuit breaker, no request made
    "throttled",  # refused by our shared rate budget or a Retry-After block: waiting would take too long
)
# The attempts that got no usable answer: the errors the console counts per provider (a 4xx is the
# provider answering a bad or unknown request, not the provider failing).
FAILED_OUTCOMES = frozenset({"http_5xx", "timeout", "connection", "rate_limited", "error_body"})
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
WAIT_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


@dataclass(frozen=True)
class ProviderSeries:
    """The children of every provider series for one provider (label lookups done once)."""

    requests: dict[str, Any]  # outcome -> Counter child
    latency: Any
    rate_limit_wait: Any
    rate_limited: Any
    circuit: Any

    def request(self, outcome: str) -> None:
        self.requests[outcome].inc()

    def circuit_state(self, state: CircuitState) -> None:
        self.circuit.set(int(state))


class ProviderMetrics:
    def __init__(self, registry: Any = None) -> None:
        import prometheus_client as prom

        r = registry or prom.REGISTRY
        self.requests = prom.Counter(
            "tickwork_provider_requests",
            "Provider HTTP attempts and refused calls, by outcome",
            ["provider", "outcome"],
            registry=r,
        )
        self.latency = prom.Histogram(
            "tickwork_provider_request_seconds",
            "Time of one provider HTTP attempt, whatever its outcome",
            ["provider"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rate_limit_wait = prom.Histogram(
            "tickwork_provider_rate_limit_wait_seconds",
            "Sleeps before a call for the shared rate budget or a Retry-After block",
            ["provider"],
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.rate_limited = prom.Counter(
            "tickwork_provider_rate_limited",
            "Calls that gave up with RateLimited (budget or Retry-After longer than the caller may wait)",
            ["provider"],
            registry=r,
        )
        # Each process writes the state it last met; "livemostrecent" serves the newest write of a
        # live process, so a circuit closed by another process's trial shows closed, not the max.
        self.circuit = prom.Gauge(
            "tickwork_provider_circuit_state",
            "Provider circuit breaker: 0 closed, 1 half-open (a trial call runs), 2 open",
            ["provider"],
            multiprocess_mode="livemostrecent",
            registry=r,
        )
        self._series: dict[str, ProviderSeries] = {}
        self._lock = threading.Lock()

    def series(self, provider: str) -> ProviderSeries:
        """The provider's children, every outcome created at 0 so that rate() sees the first event."""
        with self._lock:
            found = self._series.get(provider)
            if found is None:
                found = self._series[provider] = ProviderSeries(
                    requests={outcome: self.requests.labels(provider, outcome) for outcome in OUTCOMES},
                    latency=self.latency.labels(provider),
                    rate_limit_wait=self.rate_limit_wait.labels(provider),
                    rate_limited=self.rate_limited.labels(provider),
                    circuit=self.circuit.labels(provider),
                )
            return found


# The process's provider series, created on first use.
provider_metrics = LazySeries(ProviderMetrics)


def declare_provider_series(settings: Settings | None = None) -> None:
    """Create every provider's series (a worker calls this at boot, before any refresh ran), so that
    dashboards and alerts see them and rate() sees the first event. The circuit gauge starts at the
    shared state read from the database (closed if it cannot be read): a "mostrecent" gauge is not
    served until it is set."""
    metrics = provider_metrics()
    states = dict.fromkeys(PROVIDERS, CircuitState.CLOSED)
    if settings is not None:
        try:
            circuit = SharedCircuit(
                make_engine(settings.database_url), failures_to_open=settings.tickwork_circuit_failures
            )
            states = {provider: circuit.state(provider) for provider in PROVIDERS}
        except SQLAlchemyError as error:
            log.warning("event=circuit_state_unread error=%r", str(error)[:200])
    for provider in PROVIDERS:
        metrics.series(provider).circuit_state(states[provider])
