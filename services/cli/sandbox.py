"""`tickwork sandbox`: serve the sandbox market (simulated quotes and history in each provider's wire format)."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8100, show_default=True)
@click.option("--latency-ms", type=float, default=0.0, show_default=True, help="Added to every provider answer.")
def sandbox(host: str, port: int, latency_ms: float) -> None:
    """Serve Yahoo, Binance, CoinGecko and Stooq's formats from a simulated market until Ctrl-C/SIGTERM.

    Workers use it while TICKWORK_MARKET_DATA=sandbox (the default) at TICKWORK_SANDBOX_URL.
    """
    from services.sandbox.config import PROVIDERS, SandboxConfig
    from services.sandbox.server import Sandbox, start, stop

    config = SandboxConfig(latency_ms=dict.fromkeys(PROVIDERS, latency_ms))
    try:
        server = start(host, port, sandbox=Sandbox(config))
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror}") from None
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
