"""Paper-trading figures: `python -m bench.trading [--orders N] [--instruments K] [--fills F]
[--portfolios P] [--tries T] [--database postgresql|sqlite] [--skip-latency]` (`make bench-trading`).

1. **Fills at scale**: N working orders (limit buys, gtc) over K crypto instruments in P portfolios,
   bulk-inserted; then one price refresh stores a new price for every instrument (as
   `refresh_all_prices` does, `record_prices`), at which F of the orders are marketable. Timed:
   `process_orders(instrument_ids=all K)` in this process, from the call to its last commit: every
   working order claimed and evaluated, F fills written with their trades, cash and positions.
2. **Tick-to-fill latency**: one marketable market order at a time, with a `refresh` worker group
   whose 16 threads all sleep in 5-second tasks (more waiting behind them) and an `orders` group of
   its own (1 process, 4 threads), as docker-compose.yml deploys them. Per try: the new price is
   stored (arrival = the time stamped on it, as the refresh stamps it), the refresh's `on_prices`
   hook sends `process_orders` for its instrument through the client (publisher confirm), and the
   bench polls `fills` every 2 ms. Latency = when the fill is seen minus the arrival: an upper bound
   of arrival-to-commit (the poll adds up to 2 ms and a query).

Prints markdown for docs/benchmarks.md, with the machine, the load and the command.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import col

from bench import procs, rabbit, report
from bench.context import Context
from bench.database import server_version, throwaway_database
from bench.latency import ORDERS_GROUP, REFRESH_GROUP, _load_sleepers, _start, _started, percentiles
from bench.stamps import MarkReader
from services.market_data.instruments import PriceUpdate, record_prices
from services.scheduling.market_hours import NYSE
from services.storage.db import session_factory, session_scope
from services.storage.models import CashFlow, Fill, Instrument, Order, Portfolio
from services.trading.fees import FeeSchedule
from services.trading.processing import ProcessingRules, process_orders
from services.trading.triggers import order_trigger, working_among

SCALE_TARGET_S = 2.0
LATENCY_TARGET_P99_S = 0.050
WARMUP = 2


def now() -> datetime:
    return datetime.now(UTC)


def seed(url: str, *, orders: int, instruments: int, fills: int, portfolios: int) -> list[int]:
    """K instruments at 100, P funded portfolios, N limit buys of which F have their limit at 101
    (marketable once the price moves to 100.5) and the rest at 50; returns the instrument ids."""
    at = now() - timedelta(minutes=1)
    with session_scope(url) as session:
        session.execute(
            insert(Instrument),
            [
                {
                    "symbol": f"BENCH{i:05d}-USD",
                    "name": "",
                    "asset_class": "crypto",
                    "currency": "USD",
                    "providers": [],
                    "provider_symbols": {},
                    "active": True,
                    "last_price": Decimal(100),
                    "last_price_at": at,
                    "price_checked_at": at,
                }
                for i in range(instruments)
            ],
        )
        ids = list(session.execute(select(col(Instrument.id)).order_by(col(Instrument.id))).scalars())
        session.execute(
            insert(Portfolio),
            [
                {"name": f"bench-{p}", "account": f"bench-{p}", "created_at": at, "cash": Decimal(10_000_000)}
                for p in range(portfolios)
            ],
        )
        pids = list(session.execute(select(col(Portfolio.id)).order_by(col(Portfolio.id))).scalars())
        session.execute(insert(CashFlow), [{"portfolio_id": p, "at": at, "amount": Decimal(10_000_000)} for p in pids])
        marketable = set(random.Random(7).sample(range(orders), fills))
        rows = []
        for n in range(orders):
            limit = Decimal(101) if n in marketable else Decimal(50)
            rows.append(
                {
                    "portfolio_id": pids[n % len(pids)],
                    "instrument_id": ids[n % len(ids)],
                    "symbol": f"BENCH{n % len(ids):05d}-USD",
                    "client_order_id": f"bench-{n}",
                    "side": "buy",
                    "type": "limit",
                    "quantity": Decimal(1),
                    "limit_price": limit,
                    "time_in_force": "gtc",
                    "extended_hours": False,
                    "asset_class": "crypto",
                    "state": "working",
                    "filled_quantity": Decimal(0),
                    "remaining_quantity": Decimal(1),
                    "fees_paid": Decimal(0),
                    "triggered": False,
                    "rested": True,  # evaluated before, as working orders in steady state are
                    "reserve_price": limit,
                    "evaluated_through": at,
                    "placed_at": at,
                    "updated_at": at,
                    "placed_by": "bench",
                }
            )
        for start in range(0, len(rows), 2000):
            session.execute(insert(Order), rows[start : start + 2000])
    return ids


def fills_at_scale(url: str, args: argparse.Namespace) -> dict[str, Any]:
    ids = seed(url, orders=args.orders, instruments=args.instruments, fills=args.fills, portfolios=args.portfolios)
    arrival = now()
    with session_scope(url) as session:
        record_prices(
            [PriceUpdate(i, Decimal("100.5"), arrival, "bench") for i in ids], session=session, checked_at=arrival
        )
    rules = ProcessingRules(fees=FeeSchedule(), participation=Decimal("0.1"), batch_size=args.batch)
    began, cpu = time.perf_counter(), time.process_time()
    result = process_orders(
        session_factory=session_factory(url), rules=rules, calendar=NYSE, clock=now, instrument_ids=ids
    )
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    with session_scope(url) as session:
        stored = len(session.execute(select(col(Fill.id))).all())
    return {"wall_s": wall, "client_cpu_s": cpu, "evaluated": result.orders, "fills": result.fills, "stored": stored}


def tick_to_fill(ctx: Context, tries: int) -> dict[str, Any]:
    url = ctx.database_url
    at = now()
    with session_scope(url) as session:
        instrument = Instrument(symbol="LAT-USD", asset_class="crypto", last_price=Decimal(100), last_price_at=at)
        portfolio = Portfolio(name="latency", account="bench", created_at=at, cash=Decimal(10_000_000))
        session.add_all([instrument, portfolio])
        session.flush()
        iid, pid = instrument.id or 0, portfolio.id or 0
    threads = 16
    from services.engine.client import declare_topology

    declare_topology(ctx.rabbit.channel)
    ctx.rabbit.purge("refresh", "orders")
    stamps, marks = ctx.new_run("trading")
    reader = MarkReader(marks)
    busy = _start(ctx, "trading-refresh", REFRESH_GROUP, "refresh", 2, stamps, marks)
    orders = _start(ctx, "trading-orders", ORDERS_GROUP, "orders", 1, stamps, marks)
    from services.engine.client import TickworkClient

    client = TickworkClient(url=ctx.url)
    factory = session_factory(url)
    trigger = order_trigger(working=working_among(factory), sender=client)
    latencies: list[float] = []
    try:
        _load_sleepers(ctx, threads * 24, 5000, "slow", wait=False)  # 2 minutes of 5 s tasks: outlasts the tries
        deadline = time.monotonic() + 30
        while _started(reader, "slow") < threads:
            if time.monotonic() > deadline:
                raise RuntimeError("the refresh group did not get busy")
            time.sleep(0.02)
        for n in range(WARMUP + tries):
            order_id = _place_market_buy(url, pid, iid, n)
            time.sleep(random.uniform(0.02, 0.08))
            arrival = now()
            with factory() as session:
                record_prices([PriceUpdate(iid, Decimal(100), arrival, "bench")], session=session, checked_at=arrival)
            trigger([iid])
            seen = _wait_fill(url, order_id)
            if n >= WARMUP:
                latencies.append((seen - arrival).total_seconds())
        if ctx.rabbit.depth("refresh")[0] == 0:
            raise RuntimeError("refresh was no longer saturated at the end of the run")
    finally:
        client.close()
        orders.stop()
        ctx.rabbit.purge("refresh")
        busy.stop(timeout=15)
    return percentiles(latencies)


def _place_market_buy(url: str, portfolio_id: int, instrument_id: int, n: int) -> int:
    from services.trading.model import OrderTerms, OrderType, Side, TimeInForce
    from services.trading.placing import OrderRequest, place_order

    terms = OrderTerms(Side.BUY, OrderType.MARKET, Decimal(1), time_in_force=TimeInForce.GTC, asset_class="crypto")
    request = OrderRequest(portfolio_id, "LAT-USD", terms, client_order_id=f"lat-{n}-{uuid.uuid4().hex[:6]}")
    with session_scope(url) as session:
        placed = place_order(
            session=session, request=request, placed_by="bench", now=now(), fees=FeeSchedule(), calendar=NYSE
        )
        assert not placed.rejected, placed.order.reason
        return placed.order.id or 0


def _wait_fill(url: str, order_id: int, timeout: float = 10) -> datetime:
    deadline = time.monotonic() + timeout
    query = select(col(Fill.id)).where(col(Fill.order_id) == order_id)
    with session_scope(url) as session:
        while time.monotonic() < deadline:
            if session.execute(query).first() is not None:
                return now()
            session.rollback()  # a fresh snapshot for the next poll
            time.sleep(0.002)
    raise RuntimeError(f"order {order_id} did not fill within {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.trading")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--instruments", type=int, default=1_000)
    parser.add_argument("--fills", type=int, default=2_000)
    parser.add_argument("--portfolios", type=int, default=100)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--tries", type=int, default=50)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    load_before = report.load()
    scratch = Path(tempfile.mkdtemp(prefix="tickwork-bench-trading-"))
    lines = [
        f"Run of {now():%Y-%m-%d %H:%M} UTC: `python -m bench.trading --orders {args.orders} --instruments "
        f"{args.instruments} --fills {args.fills} --portfolios {args.portfolios} --batch {args.batch} --tries "
        f"{args.tries} --database {args.database}`",
        f"Machine: {os.cpu_count()} CPUs ({report._first('/proc/cpuinfo', 'model name')}), {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}; load average before: {load_before}",
    ]
    with throwaway_database(args.database, scratch) as url:
        lines.append(f"Database: {server_version(url)}")
        if not args.skip_scale:
            scale = fills_at_scale(url, args)
            say(f"fills at scale: {scale}")
            verdict = "pass" if scale["wall_s"] < SCALE_TARGET_S else "FAIL"
            lines.append(
                f"Fills at scale: {scale['evaluated']:,} orders evaluated, {scale['fills']:,} fills "
                f"({scale['stored']:,} stored) in **{scale['wall_s']:.2f} s** (client CPU "
                f"{scale['client_cpu_s']:.2f} s); target < {SCALE_TARGET_S:.0f} s: **{verdict}**"
            )
        if not args.skip_latency:
            vhost, amqp = rabbit.create_vhost()
            connection = rabbit.Rabbit(amqp)
            try:
                latency = tick_to_fill(Context(amqp, url, scratch, connection), args.tries)
                say(f"tick to fill: {latency}")
            finally:
                connection.close()
                procs.stop_all()
                rabbit.delete_vhost(vhost)
            verdict = "pass" if latency["p99"] < LATENCY_TARGET_P99_S else "FAIL"
            lines.append(
                f"Tick-to-fill, refresh saturated: p50 **{latency['p50'] * 1000:.1f} ms**, p99 "
                f"**{latency['p99'] * 1000:.1f} ms**, max {latency['max'] * 1000:.1f} ms over {latency['n']} tries; "
                f"target p99 < {LATENCY_TARGET_P99_S * 1000:.0f} ms: **{verdict}**"
            )
    lines.append(f"Load average after: {report.load()}")
    shutil.rmtree(scratch, ignore_errors=True)
    print("\n".join(f"- {line}" for line in lines))


def say(line: str) -> None:
    print(f"bench.trading: {line}", flush=True)


if __name__ == "__main__":
    main()
