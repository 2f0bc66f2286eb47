"""`tickwork sandbox`: serve the sandbox market (simulated quotes and history in each provider's wire format)."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from urllib.parse import urlsplit

import click

from services.cli.settings import Failure, settings_or_exit


@click.command()
@click.option("--host", default=None, help="Default: the host of TICKWORK_SANDBOX_URL (127.0.0.1).")
@click.option("--port", type=int, default=None, help="Default: the port of TICKWORK_SANDBOX_URL (8100).")
@click.option("--latency-ms", type=float, default=0.0, show_default=True, help="Added to every provider answer.")
def sandbox(host: str | None, port: int | None, latency_ms: float) -> None:
    """Serve Yahoo, Binance, CoinGecko and Stooq's formats from a simulated market until Ctrl-C/SIGTERM.

    Workers use it while TICKWORK_MARKET_DATA=sandbox (the default), at TICKWORK_SANDBOX_URL.
    """
    from services.sandbox.config import PROVIDERS, SandboxConfig
    from services.sandbox.server import Sandbox, start, stop

    if host is None or port is None:  # where the workers will look for it
        where = urlsplit(settings_or_exit().tickwork_sandbox_url)
        host = host or where.hostname or "127.0.0.1"
        port = port if port is not None else where.port or (443 if where.scheme == "https" else 80)
    config = SandboxConfig(latency_ms=dict.fromkeys(PROVIDERS, latency_ms))
    try:
        server = start(host, port, sandbox=Sandbox(config))
    except OSError as error:
        raise Failure(f"sandbox: cannot listen on {host}:{port}: {error.strerror}") from None
    prefixes = " ".join(f"/{p}" for p in PROVIDERS)
    click.echo(f"sandbox market: simulated {prefixes} at {server.url} (latency {latency_ms:g} ms); Ctrl-C stops it")
    sys.stdout.flush()
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stopping.wait()
    stop(server)
    click.echo("sandbox market stopped")
