"""The sandbox's HTTP server: each provider under its prefix, and the control endpoints under /_sandbox/.

    /yahoo/...  /binance/...  /coingecko/...  /stooq/...   the live paths, e.g. /yahoo/v8/finance/chart/AAPL
    GET  /_sandbox/health                                   {"status": "ok", ...}
    GET  /_sandbox/config, POST /_sandbox/config            latency, rate limits, clock (config.py)
    GET  /_sandbox/faults, POST /_sandbox/faults, DELETE    injected faults (faults.py)
    GET  /_sandbox/stats[?detail=1], DELETE                 requests answered (stats.py)
    POST /_sandbox/reset                                    config back to start-up, no faults, no stats

A provider request goes: latency, then a fault if one matches, then the rate limit, then the answer.
One thread per connection (HTTP/1.1 keep-alive), so slow answers do not queue behind each other.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from collections.abc import Callable
from copy import deepcopy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from services.sandbox import binance, coingecko, stooq, yahoo
from services.sandbox.config import PROVIDERS, ConfigError, SandboxConfig
from services.sandbox.faults import DELAYED, Fault, Faults
from services.sandbox.limits import MinuteLimits
from services.sandbox.market import Market
from services.sandbox.stats import Record, Stats
from services.sandbox.universe import STOCK_LISTED
from services.sandbox.wire import Request, Response, json_response
from services.scheduling.market_hours import NYSE

log = logging.getLogger(__name__)
MODULES: dict[str, ModuleType] = {"yahoo": yahoo, "binance": binance, "coingecko": coingecko, "stooq": stooq}
USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"


class Sandbox:
    """The sandbox's state and its request handling, apart from HTTP (so it is easy to test and reuse)."""

    def __init__(self, config: SandboxConfig | None = None, *, market: Market | None = None) -> None:
        self.market = market or Market(calendar=NYSE)
        self._initial = deepcopy(config or SandboxConfig())
        self.config = deepcopy(self._initial)
        self.faults = Faults()
        self.stats = Stats()
        self.limits = MinuteLimits()

    def reset(self) -> None:
        self.config = deepcopy(self._initial)
        self.faults.clear()
        self.stats.reset()
        self.limits.reset()

    # -- provider requests --------------------------------------------------------------------------
    def serve(self, provider: str, path: str, query: str) -> Response:
        arrival, generation = time.time(), self.stats.generation
        request = Request(provider, path, parse_qs(query, keep_blank_values=True), self.config.frozen_at or arrival)
        latency = self.config.latency_ms.get(provider, 0.0)
        if latency:
            time.sleep(latency / 1000)
        weight = binance.weight(request) if provider == "binance" else 1
        try:
            response, spent = self._answer(request, f"{path}?{query}", weight)
        except Exception:  # a bug of the sandbox, not a simulated fault: say so loudly
            log.error("sandbox failed on %s %s?%s\n%s", provider, path, query, traceback.format_exc())
            response, spent = json_response(500, {"sandbox_error": traceback.format_exc(limit=3)}), 0
        if provider == "binance":
            response.headers[USED_WEIGHT_HEADER] = str(self.limits.used("binance", time.time()))
        duration_ms = (time.time() - arrival) * 1000
        self.stats.record(
            Record(arrival, provider, path, query, response.status, spent, duration_ms), generation=generation
        )
        return response

    def _answer(self, request: Request, target: str, weight: int) -> tuple[Response, int]:
        provider, module = request.provider, MODULES[request.provider]
        fault = self.faults.take(provider, target)
        if fault is not None and fault.mode in DELAYED:
            time.sleep(fault.delay_s)
        elif fault is not None:
            return self._fault_response(fault, request), 0
        refused = self._refused(request, weight)
        if refused is not None:
            return refused
        return module.handle(request, market=self.market), weight

    def _refused(self, request: Request, weight: int) -> tuple[Response, int] | None:
        """The rate limiter's answer, when it refuses the request."""
        provider, now = request.provider, time.time()
        limit = self.config.limits.get(provider)
        if provider == "binance":
            verdict = self.limits.spend(provider, weight, limit, now, ban_s=self.config.binance_ban_s)
            if verdict.status == 418:
                return binance.banned(verdict.retry_after, now), 0
            if verdict.status == 429:
                return binance.rate_limited(verdict.retry_after, limit or 0), weight
            return None
        if provider == "stooq" and not self.limits.spend_daily(provider, self.config.stooq_daily_limit, now):
            return stooq.daily_limit_exceeded(), 1
        verdict = self.limits.spend(provider, 1, limit, now)
        if verdict.status == 429:
            return MODULES[provider].rate_limited(verdict.retry_after), 1
        return None

    def _fault_response(self, fault: Fault, request: Request) -> Response:
        module = MODULES[request.provider]
        if fault.mode == "http_500":
            return module.server_error(500)
        if fault.mode == "http_503":
            return module.server_error(503)
        if fault.mode == "error_in_200":
            return module.error_in_200(request)
        # rate_limit: the provider's own 429; for Binance, calling again before Retry-After is a ban
        if request.provider == "binance":
            self.limits.warn("binance", time.time() + fault.retry_after_s)
            return binance.rate_limited(fault.retry_after_s, self.config.limits.get("binance") or 6000)
        return module.rate_limited(fault.retry_after_s)

    # -- control ------------------------------------------------------------------------------------
    def control(self, method: str, name: str, query: str, body: Any) -> Response:
        routes: dict[tuple[str, str], Callable[[], Any]] = {
            ("GET", "health"): lambda: {"status": "ok", "providers": list(PROVIDERS), "clock": self._clock()},
            ("GET", "config"): self.config.as_json,
            ("POST", "config"): lambda: self._configure(body),
            ("GET", "faults"): lambda: {"faults": self.faults.as_json()},
            ("POST", "faults"): lambda: self._add_faults(body),
            ("DELETE", "faults"): lambda: {"cleared": self.faults.clear(_query_arg(query, "provider"))},
            ("GET", "stats"): lambda: self.stats.as_json(detail=_query_arg(query, "detail") in ("1", "true")),
            ("DELETE", "stats"): lambda: self._reset_stats(),
            ("POST", "reset"): lambda: self._reset(),
        }
        route = routes.get((method, name))
        if route is None:
            return json_response(404, {"error": f"no control endpoint {method} /_sandbox/{name}"})
        try:
            return json_response(200, route())
        except ConfigError as error:
            return json_response(400, {"error": str(error)})

    def _clock(self) -> float:
        return self.config.frozen_at or time.time()

    def _configure(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ConfigError("the body must be a JSON object")
        self.config.update(body)
        return self.config.as_json()

    def _add_faults(self, body: Any) -> dict[str, Any]:
        specs = body if isinstance(body, list) else [body]
        if not all(isinstance(spec, dict) for spec in specs):
            raise ConfigError("the body must be a fault object or a list of them")
        added = [self.faults.add(spec).id for spec in specs]
        return {"added": added, "faults": self.faults.as_json()}

    def _reset_stats(self) -> dict[str, Any]:
        self.stats.reset()
        return {"reset": True}

    def _reset(self) -> dict[str, Any]:
        self.reset()
        return {"reset": True, "config": self.config.as_json()}


def _query_arg(query: str, name: str) -> str | None:
    values = parse_qs(query).get(name)
    return values[-1] if values else None


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a connection thread never keeps the process alive
    block_on_close = False  # nor delays shutdown (a "timeout" fault may be sleeping in one)
    request_queue_size = 1024  # bursts of connections wait in the kernel, not refused
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, SandboxHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients' sessions expect
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart (delayed ACK)
    server_version = "tickwork-sandbox"
    timeout = 120  # an idle keep-alive connection is closed after this
    server: SandboxHTTPServer

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        prefix, _, rest = parts.path.lstrip("/").partition("/")
        body = self._body()
        if prefix == "_sandbox":
            try:
                parsed = json.loads(body) if body else None
            except json.JSONDecodeError as error:
                self._send(json_response(400, {"error": f"the body is not JSON: {error}"}))
                return
            self._send(self.server.sandbox.control(method, rest.strip("/"), parts.query, parsed))
        elif prefix in MODULES and method == "GET":
            self._send(self.server.sandbox.serve(prefix, f"/{unquote(rest)}", parts.query))
        elif prefix in MODULES:
            self._send(json_response(405, {"error": f"{method} is not served here"}))
        else:
            routes = ", ".join(f"/{p}" for p in PROVIDERS)
            self._send(json_response(404, {"error": f"unknown prefix /{prefix}; the sandbox serves {routes}"}))

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout fault, usually)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def start(host: str = "127.0.0.1", port: int = 8100, *, sandbox: Sandbox | None = None) -> SandboxHTTPServer:
    """Bind (port 0 picks a free one) and serve in a background thread; `.shutdown()` stops it."""
    server = SandboxHTTPServer((host, port), sandbox or Sandbox())
    # The NYSE calendar loads a year at a time: load the years history reaches before clients ask.
    market = server.sandbox.market
    this_year = time.gmtime().tm_year
    threading.Thread(target=market.warm_up, args=(STOCK_LISTED.year, this_year), daemon=True).start()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.name = f"sandbox-{server.server_address[1]}"
    thread.start()
    return server


def stop(server: SandboxHTTPServer) -> None:
    server.shutdown()
    server.server_close()
