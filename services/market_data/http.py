"""The one HTTP path of every provider: shared rate budget, timeouts, Retry-After, quick retries,
the shared circuit breaker and the provider metrics, around a `requests.Session` per provider.

A call (`ProviderHttp.get`) goes:
1. the circuit: open -> CircuitOpen at once, no request made;
2. the shared rate budget: spend the request's cost (Binance: its weight), sleeping while the window
   is spent or a Retry-After block is on, or RateLimited if that would take longer than allowed;
3. the request, with `timeout=`;
4. 429/418: the Retry-After becomes a block every process obeys (without one, the rest of the budget
   window is spent), then back to 2 -- which waits for the block, or raises RateLimited;
5. timeout, connection error, 5xx: a few quick retries with exponential backoff and jitter, then one
   failure for the circuit and ProviderError (the actor's retry policy takes over from there);
6. anything else (2xx, other 4xx) goes to the provider's `read`, never retried: the value it returns
   is a success; UnknownSymbol / NotSupported mean the provider answered (also a success for the
   circuit); BadResponse or any other error (an error inside a 200, HTML, junk) is a failure.

Each attempt's outcome and latency go to the Prometheus series and to the provider's shared row
(provider_latency.py), which the console reads.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn, TypeVar

import requests
from requests.adapters import HTTPAdapter

from services.errors import CircuitOpen, NotSupported, ProviderError, RateLimited, TickworkError, UnknownSymbol
from services.market_data.circuit import CircuitState, SharedCircuit
from services.market_data.metrics import FAILED_OUTCOMES, ProviderSeries, provider_metrics
from services.market_data.provider_latency import SharedLatency
from services.market_data.rate_limit import SharedRateLimit

log = logging.getLogger("tickwork.market_data")

T = TypeVar("T")
USER_AGENT = "Mozilla/5.0 (compatible; tickwork market data)"


class BadResponse(TickworkError):
    """Raised when a provider's reader cannot use an answer (an error in a 200, HTML, junk)."""

    # It never leaves this module: the call fails as a ProviderError and counts against the circuit.


def read_json(response: requests.Response, *, decimals: bool = False) -> Any:
    """The body as JSON; with `decimals`, every JSON number with a fraction becomes a Decimal
    (no binary float ever touches a price). HTML or junk raises BadResponse."""
    text = response.text
    if text.lstrip()[:1] == "<":
        raise BadResponse(f"HTTP {response.status_code}: HTML instead of JSON: {snippet(text)}")
    try:
        return json.loads(text, parse_float=Decimal) if decimals else json.loads(text)
    except ValueError as error:
        raise BadResponse(f"HTTP {response.status_code}: not JSON ({error}): {snippet(text)}") from None


def snippet(text: str, length: int = 200) -> str:
    """The start of a body, on one line, for error messages."""
    return " ".join(text[:length].split())


def unexpected(response: requests.Response) -> BadResponse:
    """The error for an answer the provider's reader has no meaning for."""
    return BadResponse(f"unexpected HTTP {response.status_code}: {snippet(response.text)}")


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """A Retry-After header (delta seconds or an HTTP date) as seconds from `now`; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    with suppress(ValueError):  # not delta seconds: an HTTP date, below
        return max(0.0, float(value))
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return None


def response_time(response: requests.Response) -> datetime:
    """When the server answered (its Date header), else now; aware UTC."""
    try:
        return parsedate_to_datetime(response.headers["Date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError, IndexError):
        return datetime.now(UTC)


class ProviderHttp:
    """One provider's HTTP client. `start()` opens its session, `close()` closes it."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        timeout_s: float,
        rate_limit: SharedRateLimit,
        circuit: SharedCircuit,
        latency: SharedLatency,
        headers: Mapping[str, str] | None = None,
        used_weight_header: str | None = None,
        retries: int = 2,
        backoff_s: float = 0.25,
        max_rate_limited: int = 3,
        metrics: ProviderSeries | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.rate_limit = rate_limit
        self.circuit = circuit
        self.latency = latency
        self.headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self.used_weight_header = used_weight_header  # Binance's X-MBX-USED-WEIGHT-1M
        self.retries = retries  # quick retries after the first attempt, on timeouts, resets and 5xx
        self.backoff_s = backoff_s
        self.max_rate_limited = max_rate_limited  # 429/418 answers in one call before giving up
        self.metrics = metrics or provider_metrics().series(provider)
        self.sleep = sleep
        self.jitter = jitter
        self.session: requests.Session | None = None

    def start(self) -> None:
        if self.session is None:
            session = requests.Session()
            session.headers.update(self.headers)
            # Providers are called from several threads; we retry ourselves, so urllib3 must not.
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=16, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self.session = session

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def get(
        self,
        path: str,
        read: Callable[[requests.Response], T],
        *,
        params: Mapping[str, str] | str | None = None,
        cost: int = 1,
    ) -> T:
        """GET `path` (below the base URL) and return what `read` makes of the answer.

        `params` as a string is sent as written (Stooq wants a literal `+` between symbols).
        Raises CircuitOpen, RateLimited, ProviderError, or what `read` raises of UnknownSymbol
        and NotSupported.
        """
        if self.session is None:
            raise RuntimeError(f"{self.provider}: start() the HTTP client before calling it")
        session = self.session
        try:
            self.metrics.circuit_state(self.circuit.before_call(self.provider))
        except CircuitOpen:
            self.metrics.circuit_state(CircuitState.OPEN)
            self.metrics.request("circuit_open")
            raise
        transient_failures = 0
        rate_limited_answers = 0
        while True:
            self._spend(cost)
            started = time.perf_counter()
            response: requests.Response | None = None
            try:
                response = session.get(self.base_url + path, params=params, timeout=self.timeout_s)
            except requests.Timeout:
                outcome, detail = "timeout", f"no answer within {self.timeout_s} s"
            except requests.RequestException as error:
                outcome, detail = "connection", f"{type(error).__name__}: {snippet(str(error))}"
            finally:
                elapsed = time.perf_counter() - started
                self.metrics.latency.observe(elapsed)
            if response is not None:
                self._sync_used_weight(response)
                if response.status_code in (429, 418):
                    self._attempted("rate_limited", elapsed)
                    rate_limited_answers += 1
                    self._obey_retry_after(response, rate_limited_answers)
                    continue
                if response.status_code < 500:
                    return self._read(response, read, elapsed)
                outcome, detail = "http_5xx", f"HTTP {response.status_code}: {snippet(response.text)}"
            self._attempted(outcome, elapsed)
            transient_failures += 1
            if transient_failures > self.retries:
                self._fail(f"{detail} ({transient_failures} attempts)")
            log.info("provider=%s event=retry attempt=%d error=%r", self.provider, transient_failures, detail)
            self.sleep(self._backoff(transient_failures))

    def _spend(self, cost: int) -> None:
        try:
            self.rate_limit.acquire(self.provider, cost, on_wait=self.metrics.rate_limit_wait.observe)
        except RateLimited:
            self.metrics.request("throttled")
            self.metrics.rate_limited.inc()
            raise

    def _backoff(self, failures: int) -> float:
        """Exponential (0.25 s, 0.5 s, 1 s...) with the upper half jittered, so retries spread out."""
        ceiling = self.backoff_s * 2 ** (failures - 1)
        return ceiling / 2 + self.jitter() * ceiling / 2

    def _sync_used_weight(self, response: requests.Response) -> None:
        if self.used_weight_header is None:
            return
        value = response.headers.get(self.used_weight_header, "")
        if value.isdigit():
            self.rate_limit.observe_used(self.provider, int(value))

    def _obey_retry_after(self, response: requests.Response, answers: int) -> None:
        """Share the provider's Retry-After with every process (Binance bans an IP that keeps calling)."""
        now = self.rate_limit.clock()
        after = retry_after_seconds(response.headers.get("Retry-After"), now)
        if after is None:
            self.rate_limit.exhaust(self.provider)
        else:
            self.rate_limit.block(self.provider, now + after)
        log.warning(
            "provider=%s event=rate_limited status=%d retry_after=%s", self.provider, response.status_code, after
        )
        if answers >= self.max_rate_limited:
            self.metrics.rate_limited.inc()
            wait = after if after is not None else self.rate_limit.window_s
            raise RateLimited(
                self.provider, f"HTTP {response.status_code} {answers} times in one call", retry_after_s=wait
            )

    def _read(self, response: requests.Response, read: Callable[[requests.Response], T], elapsed: float) -> T:
        answered = "ok" if response.status_code < 400 else "http_4xx"
        try:
            value = read(response)
        except (UnknownSymbol, NotSupported):
            self._attempted(answered, elapsed)
            self._succeed()
            raise
        except RateLimited as error:
            # A limit told inside a body (Stooq's daily hits): every process waits it out.
            self._attempted("rate_limited", elapsed)
            self.metrics.rate_limited.inc()
            self.rate_limit.block(self.provider, self.rate_limit.clock() + error.retry_after_s)
            raise
        except Exception as error:
            self._attempted("error_body" if answered == "ok" else "http_4xx", elapsed)
            self._fail(str(error) if isinstance(error, BadResponse) else f"{type(error).__name__}: {error}")
        self._attempted(answered, elapsed)
        self._succeed()
        return value

    def _attempted(self, outcome: str, seconds: float) -> None:
        """One HTTP attempt: its outcome in Prometheus, its latency and whether it failed in the shared row."""
        self.metrics.request(outcome)
        self.latency.record(self.provider, seconds, failed=outcome in FAILED_OUTCOMES)

    def _succeed(self) -> None:
        self.metrics.circuit_state(self.circuit.record_success(self.provider))

    def _fail(self, detail: str) -> NoReturn:
        """Count one failure against the circuit and raise ProviderError."""
        self.metrics.circuit_state(self.circuit.record_failure(self.provider, detail))
        raise ProviderError(self.provider, detail)
