"""Trading bot figures: `python -m bench.bots [--bots N] [--portfolios P] [--database postgresql|sqlite]
[--processes W] [--threads T]` (`make bench-bots`).

A throw-away database with N bots on a one-minute cadence over P funded portfolios and 10 crypto
instruments whose stored daily bars end in an EMA cross up, so that every run takes the heaviest
path: lock, follow the position, strategy, sizing, a bracket entry through the orders service
(three orders), signal row, release. A worker group (`dramatiq actors -Q bots -p W -t T`, as a user
starts it) on a fresh RabbitMQ vhost; then one `run_all_bots` is sent and the clock runs until every
bot's run of that tick has committed its signal. Prints a markdown table for docs/benchmarks.md,
with the worker processes' RSS.
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

from sqlalchemy import insert
from sqlmodel import col, func, select

from bench import report
from bench.database import server_version, throwaway_database
from bench.portfolio import backend_cpu
from bench.procs import DRAMATIQ, Group, _proc_stats, busy_cpu_seconds, cpu_seconds, free_port
from bench.rabbit import create_vhost, delete_vhost
from services.bots.admin import create_bot
from services.engine.client import TickworkClient
from services.settings import Settings
from services.storage.db import session_factory, session_scope
from services.storage.models import CashFlow, DailyBar, Instrument, Order, Portfolio, TradingSignal

TARGET_S = 20.0
# A slow decline then one up bar: fast 3 / slow 6 / RSI 5 cross up with RSI under 70.
CLOSES = [100 - 0.5 * i for i in range(40)] + [84.0]
FLAT = [100.0] * 41  # no cross: every run holds
PARAMS = {"fast": 3, "slow": 6, "rsi_window": 5, "rsi_overbought": 70}


def seed(url: str, bots: int, portfolios: int, instruments: int = 10, closes: list[float] = CLOSES) -> None:
    now = datetime.now(UTC)
    with session_scope(url) as session:
        symbols = [f"BOT{i:02d}-USD" for i in range(instruments)]
        for symbol in symbols:
            session.add(Instrument(symbol=symbol, asset_class="crypto", last_price=Decimal("84"), last_price_at=now))
        session.flush()
        ids = {i.symbol: i.id for i in session.exec(select(Instrument))}
        start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=len(closes))
        rows = [
            {
                "instrument_id": ids[s],
                "interval": "1d",
                "ts": start + timedelta(days=d),
                "close": Decimal(str(c)),
                "source": "bench",
            }
            for s in symbols
            for d, c in enumerate(closes)
        ]
        session.execute(insert(DailyBar), rows)
        owners = []
        for number in range(portfolios):
            portfolio = Portfolio(
                name=f"bots-{number}", account=f"bench-{number}", created_at=now, cash=Decimal(10_000_000)
            )
            session.add(portfolio)
            session.flush()
            session.add(CashFlow(portfolio_id=portfolio.id or 0, at=now, amount=Decimal(10_000_000)))
            owners.append(portfolio.id or 0)
        for number in range(bots):
            fields = {
                "name": f"bench-bot-{number}",
                "portfolio_id": owners[number % portfolios],
                "symbol": symbols[number % instruments],
                "strategy": "ema_crossover_rsi",
                "params": PARAMS,
                "bars_needed": 30,
                "sizing_value": Decimal(1000),
                "stop_loss_pct": Decimal(2),
                "take_profit_pct": Decimal(5),
            }
            create_bot(session=session, fields=fields, by="bench", now=now)


def rss_mb(session_id: int) -> tuple[float, float, int]:
    """(sum, largest, count) of the resident memory of a worker group's processes, in MB."""
    sizes = []
    for entry, fields, _name in _proc_stats():
        if int(fields[3]) != session_id:
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        sizes.append(kb / 1024)
    return sum(sizes), max(sizes, default=0.0), len(sizes)


def signals_of(url: str, tick: datetime) -> tuple[int, int]:
    with session_scope(url) as session:
        done = session.exec(
            select(func.count()).select_from(TradingSignal).where(col(TradingSignal.tick) >= tick)
        ).one()
        orders = session.exec(select(func.count()).select_from(Order)).one()
    return int(done), int(orders)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=1000)
    parser.add_argument("--portfolios", type=int, default=100)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--scenario", choices=["trade", "hold"], default="trade", help="every run places a bracket, or every run holds"
    )
    args = parser.parse_args()
    load_before = report.load()
    with (
        tempfile.TemporaryDirectory(prefix="bench-bots-") as folder,
        throwaway_database(args.database, Path(folder)) as url,
    ):
        seed(url, args.bots, args.portfolios, closes=CLOSES if args.scenario == "trade" else FLAT)
        vhost, amqp = create_vhost()
        port = free_port()
        env = dict(
            os.environ,
            RABBITMQ_URL=amqp,
            DATABASE_URL=url,
            METRICS_PORT=str(port),
            TICKWORK_METRICS_DIR=str(Path(folder) / "metrics"),
            TICKWORK_ENV="test",
        )
        command = [DRAMATIQ, "actors", "-Q", "bots", "-p", str(args.processes), "-t", str(args.threads)]
        group = Group("bots", command, env, Path(folder))
        try:
            group.wait_healthz(port, timeout=120)
            idle_rss = rss_mb(group.process.pid)
            settings = Settings(rabbitmq_url=amqp, database_url=url)
            with TickworkClient(settings=settings, ledger=session_factory(url)) as client:
                # The fan-out's tick is the minute the message is sent in: runs of ticks from then on count.
                tick = datetime.now(UTC).replace(second=0, microsecond=0)
                cpu_before = cpu_seconds(session=group.process.pid), sum(backend_cpu(url).values()), busy_cpu_seconds()
                started = time.monotonic()
                client.send("run_all_bots", {})
            peak = idle_rss
            done = orders = 0
            while time.monotonic() - started < 300:
                done, orders = signals_of(url, tick)
                rss = rss_mb(group.process.pid)
                peak = max(peak, rss, key=lambda r: r[0])
                if done >= args.bots:
                    break
                time.sleep(0.2)
            elapsed = time.monotonic() - started
            worker_cpu = cpu_seconds(session=group.process.pid) - cpu_before[0]
            server_cpu = sum(backend_cpu(url).values()) - cpu_before[1]
            machine_cpu = busy_cpu_seconds() - cpu_before[2]
        finally:
            group.stop()
            delete_vhost(vhost)
        traded = 0
        with session_scope(url) as session:
            traded = int(
                session.exec(
                    select(func.count()).select_from(TradingSignal).where(TradingSignal.outcome == "traded")
                ).one()
            )
        version = server_version(url)
    verdict = "met" if elapsed < TARGET_S and done >= args.bots else "missed"
    print(f"\n## Trading bots: {args.bots} bots, fan-out plus every run ({args.database}, {args.scenario})\n")
    print(
        f"Machine: {platform.node()}, {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"{version}; load average before the run: {load_before} (1 / 5 / 15 min)."
    )
    print(
        f"Command: `python -m bench.bots --bots {args.bots} --portfolios {args.portfolios} "
        f"--database {args.database} --processes {args.processes} --threads {args.threads} "
        f"--scenario {args.scenario}`\n"
    )
    print("| bots | runs done | traded | orders placed | fan-out + runs | target | worker RSS idle | worker RSS peak |")
    print("|---:|---:|---:|---:|---:|---|---:|---:|")
    share = (worker_cpu + server_cpu) / machine_cpu if machine_cpu else 0.0
    print(
        f"| {args.bots} | {done} | {traded} | {orders} | {elapsed:.1f} s | < {TARGET_S:.0f} s ({verdict}) "
        f"| {idle_rss[0]:.0f} MB in {idle_rss[2]} processes | {peak[0]:.0f} MB (largest {peak[1]:.0f} MB) |"
    )
    print(
        f"\nCPU while it ran: workers {worker_cpu:.1f} s, PostgreSQL backends {server_cpu:.1f} s, the whole machine "
        f"{machine_cpu:.1f} s busy of {(os.cpu_count() or 1) * elapsed:.1f} s available on {os.cpu_count()} cores "
        f"(this run had {share:.0%} of it)."
    )


if __name__ == "__main__":
    main()
