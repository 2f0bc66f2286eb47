"""The worker process's provider clients: built on first use (after the worker has forked and set up
its metrics folder), closed when the worker shuts down."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from dramatiq.middleware import Middleware

from actors.broker import broker, settings
from services.market_data.providers.base import Provider

_lock = threading.Lock()
_clients: dict[str, Provider] = {}


def providers() -> Mapping[str, Provider]:
    """Every provider, sandbox or live per TICKWORK_MARKET_DATA, shared by the process's threads."""
    with _lock:
        if not _clients:
            from services.market_data.providers import build_providers

            # A short wait for a budget or a Retry-After: a refresh falls back to the next provider sooner.
            _clients.update(build_providers(settings, max_wait_s=10.0))
        return _clients


def close_providers() -> None:
    with _lock:
        if _clients:
            from services.market_data.providers import close_providers as close

            close(_clients)
        _clients.clear()


class MarketDataClients(Middleware):
    """Closes the provider clients' HTTP sessions when the worker stops."""

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        close_providers()


broker.add_middleware(MarketDataClients())
