"""How much the sandbox market serves: `python -m bench.sandbox_load [--latency-ms 50] [--clients 50]`.

Starts `tickwork sandbox` in its own process (as the benchmarks use it), then has N keep-alive
clients call it at once: Binance pings (the server's own overhead), Binance prices of 100
generated coins, and Yahoo spark quotes of 20 generated stocks (all different, so none cached).
Prints requests per second and latency percentiles per kind.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import requests

TICKWORK = str(Path(sys.executable).with_name("tickwork"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{url}/_sandbox/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError("tickwork sandbox did not start")


def run(name: str, clients: int, per_client: int, url_for: Callable[[int], str]) -> str:
    latencies: list[float] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        with requests.Session() as session:
            for call in range(per_client):
                started = time.perf_counter()
                response = session.get(url_for(number * per_client + call), timeout=60)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise RuntimeError(f"{name}: HTTP {response.status_code}")
                with lock:
                    latencies.append(elapsed)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    return (
        f"| {name} | {clients} x {per_client} | {len(latencies) / seconds:.0f} | {p50 * 1000:.0f} | {p99 * 1000:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=10, help="per client and kind")
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [TICKWORK, "sandbox", "--port", str(port), "--latency-ms", str(args.latency_ms)]
    sandbox = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        wait_until_up(base, sandbox)
        limits = {"limits": {"binance": None, "yahoo": None}}
        requests.post(f"{base}/_sandbox/config", json=limits, timeout=10).raise_for_status()
        time.sleep(3)  # the NYSE calendar loads in the background
        coins = quote(json.dumps([f"SIMC{n:04d}USDT" for n in range(1, 101)], separators=(",", ":")))

        def spark(n: int) -> str:
            first = n * 20 % 9980 + 1
            symbols = ",".join(f"SIM{k:04d}" for k in range(first, first + 20))
            return f"{base}/yahoo/v7/finance/spark?symbols={symbols}&range=1d&interval=1d"

        print(f"sandbox at {base}, {args.latency_ms:g} ms latency per request")
        print("| requests | clients x each | requests/s | p50 ms | p99 ms |")
        print("|---|---|---|---|---|")
        print(run("Binance ping", args.clients, args.requests, lambda n: f"{base}/binance/api/v3/ping"))
        prices = f"{base}/binance/api/v3/ticker/price?symbols={coins}"
        print(run("Binance price, 100 coins", args.clients, args.requests, lambda n: prices))
        print(run("Yahoo spark, 20 new stocks", args.clients, args.requests, spark))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=20)


if __name__ == "__main__":
    main()
