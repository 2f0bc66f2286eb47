"""Market-data figures: `python -m bench.market_data` (`make bench-market-data`).

1. Upserting 100,000 daily bars (100 instruments x 1,000 days) into PostgreSQL with the code
   fetch_market_data stores them with, first as inserts, then again as overwrites.
2. refresh_all_prices end to end: `tickwork sandbox` answering each request after 50 ms, two worker
   processes (`dramatiq actors -Q refresh -p 2`), 5,000 generated instruments (2,000 equities asking
   Yahoo first, 1,000 asking Stooq first, 2,000 crypto on Binance then CoinGecko: a mix whose requests
   fit the default per-minute budgets); the time from sending the message to its ledger row
   completing, and the requests the sandbox counted per provider and minute.
Prints a markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import requests

from bench.database import server_version, throwaway_database
from bench.procs import DRAMATIQ, Group, free_port, stop_all
from services.engine.client import TickworkClient
from services.market_data.bars import upsert_bars
from services.market_data.providers.base import Bar
from services.settings import Settings
from services.storage.db import session_factory, session_scope
from services.storage.models import Instrument, Task

TICKWORK = str(Path(DRAMATIQ).with_name("tickwork"))
RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def bars_for(days: int, shift: int) -> list[Bar]:
    first = datetime(2020, 1, 1, tzinfo=UTC)
    return [
        Bar(
            ts=first + timedelta(days=n),
            open=Decimal(f"{100 + n % 50}.1234"),
            high=Decimal(f"{101 + n % 50}.5"),
            low=Decimal(f"{99 + n % 50}.25"),
            close=Decimal(f"{100 + (n + shift) % 50}.75"),
            adj_close=Decimal(f"{100 + (n + shift) % 50}.7"),
            volume=Decimal(1_000_000 + n),
        )
        for n in range(days)
    ]


def bench_bars(url: str, instruments: int, days: int) -> list[str]:
    with session_scope(url) as session:
        rows = [Instrument(symbol=f"BAR{n:04d}", asset_class="equity", providers=["yahoo"]) for n in range(instruments)]
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows if row.id is not None]
    lines = []
    for label, shift in (("insert", 0), ("overwrite (same keys, new figures)", 7)):
        series = bars_for(days, shift)
        started = time.perf_counter()
        for instrument_id in ids:
            # One transaction per instrument, as fetch_market_data writes them.
            with session_scope(url) as session:
                upsert_bars(session=session, instrument_id=instrument_id, interval="1d", bars=series, source="bench")
        seconds = time.perf_counter() - started
        total = instruments * days
        lines.append(f"| upsert daily bars: {label} | {total:,} | {seconds:.2f} | {total / seconds:,.0f} |")
    return lines


def add_generated_instruments(url: str, yahoo: int, stooq: int, crypto: int) -> None:
    """The sandbox's generated symbols: equities asking Yahoo first, others Stooq first, and crypto."""
    rows = []
    for n in range(1, yahoo + stooq + 1):
        first = ["yahoo", "stooq"] if n <= yahoo else ["stooq", "yahoo"]
        rows.append(
            Instrument(
                symbol=f"SIM{n:04d}",
                asset_class="equity",
                providers=first,
                provider_symbols={"stooq": f"sim{n:04d}.us"},
            )
        )
    for n in range(1, crypto + 1):
        symbols = {"binance": f"SIMC{n:04d}USDT", "coingecko": f"sim-coin-{n:04d}"}
        rows.append(
            Instrument(
                symbol=f"SIMC{n:04d}",
                asset_class="crypto",
                providers=["binance", "coingecko"],
                provider_symbols=symbols,
            )
        )
    with session_scope(url) as session:
        session.add_all(rows)


def bench_refresh(url: str, folder: Path, *, yahoo: int, stooq: int, crypto: int, latency_ms: float) -> list[str]:
    """refresh_all_prices end to end: the sandbox, two worker processes, the message, the ledger."""
    add_generated_instruments(url, yahoo, stooq, crypto)
    sandbox_port, metrics_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "RABBITMQ_URL": RABBITMQ_URL,
        "METRICS_PORT": str(metrics_port),
        "TICKWORK_METRICS_DIR": str(folder / "metrics"),
        "TICKWORK_SANDBOX_URL": sandbox_url,
        "TICKWORK_MARKET_DATA": "sandbox",
    }
    sandbox = Group(
        "sandbox", [TICKWORK, "sandbox", "--port", str(sandbox_port), "--latency-ms", str(latency_ms)], env, folder
    )
    workers = Group("workers", [DRAMATIQ, "actors", "-Q", "refresh", "-p", "2", "-t", "8"], env, folder)
    try:
        workers.wait_healthz(metrics_port)
        _wait_answers(f"{sandbox_url}/_sandbox/health", sandbox)
        requests.delete(f"{sandbox_url}/_sandbox/stats", timeout=5)
        settings = Settings(database_url=url, rabbitmq_url=RABBITMQ_URL)
        with TickworkClient(settings=settings, ledger=session_factory(url)) as client:
            started = time.perf_counter()
            sent = client.send("refresh_all_prices", {})
        task = _wait_final(url, sent.message_id, workers)
        seconds = time.perf_counter() - started
        stats = requests.get(f"{sandbox_url}/_sandbox/stats", timeout=5).json()
    finally:
        workers.stop()
        sandbox.stop()
    total = yahoo + stooq + crypto
    lines = [
        "",
        f"refresh_all_prices, {total:,} instruments ({yahoo:,} equities Yahoo-first, {stooq:,} Stooq-first, "
        f"{crypto:,} crypto Binance-first), sandbox latency {latency_ms:g} ms per request, "
        "`dramatiq actors -Q refresh -p 2 -t 8`:",
        "",
        f"- {task.state} in **{seconds:.2f} s** from send to the ledger row's end; result: {task.result_summary}",
        "",
        "| provider | requests | most in one minute (requests) | most in one minute (weight) | budget per minute |",
        "|---|---|---|---|---|",
    ]
    budgets = {"yahoo": "120 requests", "stooq": "60 requests", "binance": "5,000 weight", "coingecko": "30 requests"}
    for name, summary in sorted(stats["providers"].items()):
        lines.append(
            f"| {name} | {summary['requests']:,} | {summary['max_per_minute']} "
            f"| {summary['max_weight_per_minute']} | {budgets.get(name, '?')} |"
        )
    return lines


def _wait_answers(url: str, process: Group, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.check_alive()
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


def _wait_final(url: str, message_id: str, workers: Group, timeout: float = 300) -> Task:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers.check_alive()
        with session_scope(url) as session:
            task = session.get(Task, message_id)
            if task is not None and task.state in ("completed", "failed"):
                return task
        time.sleep(0.02)
    raise RuntimeError(f"refresh_all_prices did not finish in {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.market_data")
    parser.add_argument("--bar-instruments", type=int, default=100)
    parser.add_argument("--bar-days", type=int, default=1000)
    parser.add_argument("--yahoo", type=int, default=2000, help="generated equities asking Yahoo first")
    parser.add_argument("--stooq", type=int, default=1000, help="generated equities asking Stooq first")
    parser.add_argument("--crypto", type=int, default=2000, help="generated crypto (Binance, then CoinGecko)")
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()
    command = (
        f"python -m bench.market_data --bar-instruments {args.bar_instruments} --bar-days {args.bar_days} "
        f"--yahoo {args.yahoo} --stooq {args.stooq} --crypto {args.crypto} --latency-ms {args.latency_ms:g}"
    )
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores; `{command}`", ""]
    with tempfile.TemporaryDirectory() as folder, throwaway_database("postgresql", Path(folder)) as url:
        lines += [f"Database: {server_version(url)}", "", "| step | rows | seconds | rows/s |", "|---|---|---|---|"]
        lines += bench_bars(url, args.bar_instruments, args.bar_days)
    with tempfile.TemporaryDirectory() as folder, throwaway_database("postgresql", Path(folder)) as url:
        try:
            lines += bench_refresh(
                url, Path(folder), yahoo=args.yahoo, stooq=args.stooq, crypto=args.crypto, latency_ms=args.latency_ms
            )
        finally:
            stop_all()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
