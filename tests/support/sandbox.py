"""The sandbox market for tests: in this process (`SandboxServer`) or as `tickwork sandbox` (`SandboxProcess`).

Both have the same control methods, which talk to the server's /_sandbox/ endpoints over HTTP, so
a test reads the same whichever it uses. The `sandbox` fixture (tests/conftest.py) hands each test
one server per session, reset before the test: no faults, no stats, start-up latency and limits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from services.sandbox.server import Sandbox, SandboxHTTPServer, start, stop
from tests.support.ports import free_port
from tests.support.workers import ROOT, wait_for

TICKWORK = str(Path(sys.executable).with_name("tickwork"))
TIMEOUT = 10


class SandboxControl:
    """What tests do with a running sandbox, through its control endpoints."""

    url: str

    def base_url(self, provider: str) -> str:
        """Where a provider's client points instead of the live host, e.g. http://127.0.0.1:8100/yahoo."""
        return f"{self.url}/{provider}"

    @property
    def env(self) -> dict[str, str]:
        """Settings that point Tickwork's providers here (for worker processes)."""
        return {"TICKWORK_MARKET_DATA": "sandbox", "TICKWORK_SANDBOX_URL": self.url}

    def _control(self, method: str, name: str, body: Any = None, **params: Any) -> Any:
        response = requests.request(method, f"{self.url}/_sandbox/{name}", json=body, params=params, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json()

    def configure(self, **changes: Any) -> dict[str, Any]:
        """e.g. `configure(latency_ms=50)`, `configure(latency_ms={"yahoo": 50}, limits={"coingecko": 5})`."""
        return self._control("POST", "config", changes)

    def config(self) -> dict[str, Any]:
        return self._control("GET", "config")

    def fault(self, provider: str, mode: str, **options: Any) -> int:
        """Inject a fault (`count=`, `path=`, `delay_s=`, `retry_after_s=`); returns its id."""
        return self._control("POST", "faults", {"provider": provider, "mode": mode, **options})["added"][0]

    def faults(self) -> list[dict[str, Any]]:
        return self._control("GET", "faults")["faults"]

    def clear_faults(self, provider: str | None = None) -> int:
        params = {"provider": provider} if provider else {}
        return self._control("DELETE", "faults", **params)["cleared"]

    def stats(self, *, detail: bool = False) -> dict[str, Any]:
        """`{"total", "providers": {name: {"requests", "by_path", "by_status", "max_per_minute", ...}}}`."""
        return self._control("GET", "stats", **({"detail": "1"} if detail else {}))

    def requests_to(self, provider: str) -> int:
        return self.stats()["providers"].get(provider, {}).get("requests", 0)

    def reset_stats(self) -> None:
        self._control("DELETE", "stats")

    def reset(self) -> None:
        """Back to the start-up config, with no faults and no stats (rate-limit windows restart too)."""
        self._control("POST", "reset")

    def health(self) -> dict[str, Any]:
        return self._control("GET", "health")


class SandboxServer(SandboxControl):
    """The sandbox in a background thread of this process, on a free port (starts in milliseconds)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, sandbox: Sandbox | None = None) -> None:
        self.sandbox = sandbox or Sandbox()
        self._server: SandboxHTTPServer | None = start(host, port, sandbox=self.sandbox)
        self.url = self._server.url
        self.port = self._server.server_address[1]

    def stop(self) -> None:
        if self._server is not None:
            stop(self._server)
            self._server = None


class SandboxProcess(SandboxControl):
    """`tickwork sandbox` as a user starts it, in its own process."""

    def __init__(
        self, port: int | None = None, *, log_path: Path, latency_ms: float = 0, env: dict[str, str] | None = None
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("ab")
        command = [TICKWORK, "sandbox", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--latency-ms", str(latency_ms)]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env or dict(os.environ), stdout=self._log, stderr=subprocess.STDOUT
        )
        wait_for(self._ready, 30, f"tickwork sandbox to answer (log: {log_path})", interval=0.1)

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"tickwork sandbox exited with {self.process.returncode}: {self.log_path.read_text()}")
        try:
            return requests.get(f"{self.url}/_sandbox/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        """Signal the process and wait; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=timeout)
        self._log.close()
        return self.process.returncode
