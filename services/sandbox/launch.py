"""Whether the main job (`tickwork run`) should start the sandbox market, and how.

With TICKWORK_MARKET_DATA=sandbox (the default) the providers call TICKWORK_SANDBOX_URL. If a
sandbox already answers there (another `tickwork sandbox`, a compose service), it is used as is;
if not and the URL is local, the main job starts `tickwork sandbox` on that host and port.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

LOCAL_HOSTS = ("127.0.0.1", "localhost", "0.0.0.0", "::1")


@dataclass(frozen=True)
class SandboxPlan:
    """The command to start (None: nothing to start) and the line that tells the user where prices come from."""

    command: list[str] | None
    line: str


def answers(url: str, *, timeout: float = 0.5) -> bool:
    """A sandbox market answers its health check at `url`."""
    try:
        return requests.get(f"{url.rstrip('/')}/_sandbox/health", timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def plan_sandbox(market_data: str, sandbox_url: str, *, tickwork: str) -> SandboxPlan:
    """What the main job does about market data, for TICKWORK_MARKET_DATA and TICKWORK_SANDBOX_URL."""
    if market_data != "sandbox":
        return SandboxPlan(None, "market data: live providers (Yahoo, Binance, CoinGecko, Stooq)")
    switch = "TICKWORK_MARKET_DATA=live for the real providers"
    if answers(sandbox_url):
        return SandboxPlan(None, f"market data: the sandbox market already running at {sandbox_url} ({switch})")
    parts = urlsplit(sandbox_url)
    if parts.hostname not in LOCAL_HOSTS:
        return SandboxPlan(None, f"market data: the sandbox market at {sandbox_url}, not answering yet ({switch})")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    command = [tickwork, "sandbox", "--host", parts.hostname or "127.0.0.1", "--port", str(port)]
    return SandboxPlan(command, f"market data: simulated by the sandbox market at {sandbox_url} ({switch})")
