"""Market-data figures: `python -m bench.market_data` (`make bench-market-data`).

1. Upserting 100,000 daily bars (100 instruments x 1,000 days) into PostgreSQL with the code
   fetch_market_data stores them with, first as inserts, then again as overwrites.
2. refresh_all_prices end to end: `tickwork sandbox` answering each request after 50 ms, two worker
   processes (`dramatiq actors -Q refresh -p 2`), 5,000 generated instruments (3,000 equities on
   Yahoo then Stooq, 2,000 crypto on Binance then CoinGecko); the time from sending the message to its
   ledger row completing, and the requests the sandbox counted per provider and minute.
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

from bench.database import server_version, throwaway_database
from services.market_data.bars import upsert_bars
from services.market_data.providers.base import Bar
from services.storage.db import session_scope
from services.storage.models import Instrument


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
        ids = [row.id for row in rows]
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.market_data")
    parser.add_argument("--bar-instruments", type=int, default=100)
    parser.add_argument("--bar-days", type=int, default=1000)
    args = parser.parse_args()
    command = f"python -m bench.market_data --bar-instruments {args.bar_instruments} --bar-days {args.bar_days}"
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores; `{command}`", ""]
    with tempfile.TemporaryDirectory() as folder, throwaway_database("postgresql", Path(folder)) as url:
        lines += [f"Database: {server_version(url)}", "", "| step | rows | seconds | rows/s |", "|---|---|---|---|"]
        lines += bench_bars(url, args.bar_instruments, args.bar_days)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
