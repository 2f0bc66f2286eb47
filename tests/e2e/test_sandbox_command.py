"""`tickwork sandbox` as a user runs it: it says what it serves, answers every provider, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import requests

from tests.support.ports import free_port
from tests.support.sandbox import TICKWORK, SandboxProcess
from tests.support.workers import ROOT, wait_for

TIMEOUT = 10


def test_sandbox_command_serves_every_provider_and_stops_on_sigterm(tmp_path: Path) -> None:
    # Given `tickwork sandbox` started with 20 ms of latency
    server = SandboxProcess(log_path=tmp_path / "sandbox.log", latency_ms=20)
    try:
        # Then its first line says what it serves and where
        first_line = (tmp_path / "sandbox.log").read_text().splitlines()[0]
        assert first_line.startswith("sandbox market:") and server.url in first_line
        for prefix in ("/yahoo", "/binance", "/coingecko", "/stooq"):
            assert prefix in first_line
        # and each provider answers in its format
        chart = requests.get(f"{server.base_url('yahoo')}/v8/finance/chart/AAPL?range=1d&interval=1d", timeout=TIMEOUT)
        assert chart.json()["chart"]["result"][0]["meta"]["symbol"] == "AAPL"
        price = requests.get(f"{server.base_url('binance')}/api/v3/ticker/price?symbol=BTCUSDT", timeout=TIMEOUT)
        assert float(price.json()["price"]) > 0 and "X-MBX-USED-WEIGHT-1M" in price.headers
        gecko = requests.get(
            f"{server.base_url('coingecko')}/api/v3/simple/price?ids=bitcoin&vs_currencies=usd", timeout=TIMEOUT
        )
        assert gecko.json()["bitcoin"]["usd"] > 0
        stooq = requests.get(f"{server.base_url('stooq')}/q/l/?s=aapl.us&f=sd2t2ohlcv&h&e=csv", timeout=TIMEOUT)
        assert stooq.text.startswith("Symbol,Date,Time")
        # with the latency it was started with, and the control endpoints
        assert server.config()["latency_ms"]["yahoo"] == 20
        assert server.stats()["total"] == 4
    finally:
        # When it gets SIGTERM, it stops cleanly
        code = server.stop(signal.SIGTERM)
    assert code == 0
    assert (tmp_path / "sandbox.log").read_text().splitlines()[-1] == "sandbox market stopped"


def test_sandbox_command_says_when_the_port_is_taken(tmp_path: Path) -> None:
    server = SandboxProcess(log_path=tmp_path / "first.log")
    try:
        second = subprocess.run(
            [TICKWORK, "sandbox", "--port", str(server.port)],
            cwd=ROOT,
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 2 and "cannot listen" in second.stderr
    finally:
        server.stop()


def test_sandbox_command_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    server = SandboxProcess(port, log_path=tmp_path / "sandbox.log")
    assert server.stop(signal.SIGINT) == 0
    wait_for(lambda: not _answers(port), 5, "the port to close")


def _answers(port: int) -> bool:
    try:
        requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1)
        return True
    except requests.ConnectionError:
        return False


def test_sandbox_command_listens_where_the_workers_look_by_default(tmp_path: Path) -> None:
    # Given TICKWORK_SANDBOX_URL names a port, and no --port
    port = free_port()
    env = {**os.environ, "TICKWORK_SANDBOX_URL": f"http://127.0.0.1:{port}"}
    log = (tmp_path / "sandbox.log").open("ab")
    process = subprocess.Popen([TICKWORK, "sandbox"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        # Then it serves there
        wait_for(lambda: _answers(port), 30, "tickwork sandbox on the port of TICKWORK_SANDBOX_URL", interval=0.1)
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0
        log.close()
