"""Report generation figures: `python -m bench.reports [--portfolios N] [--trades M]
[--database postgresql|sqlite]`.

Fills a throw-away database with N portfolios, each with one deposit, M trades over November 2026
(over 50 instruments) and a snapshot per weekday, then times `generate_reports` of the monthly kind
for every portfolio (read, compute, write two files with fsync, upsert the catalog). Prints a
markdown row for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from bench.database import throwaway_database
from services.reports.generate import generate_reports
from services.storage.db import make_engine, session_factory
from services.storage.models import CashFlow, Instrument, Portfolio, PortfolioSnapshot, Trade

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)  # the 1st: the default monthly report is November's
INSTRUMENTS = 50


def fill(url: str, portfolios: int, trades: int) -> None:
    engine = make_engine(url)
    zero = Decimal(0)
    with engine.begin() as connection:
        connection.execute(
            insert(Instrument.__table__),  # type: ignore[attr-defined]
            [
                {
                    "symbol": f"BENCH{n:03d}",
                    "asset_class": "equity",
                    "providers": [],
                    "provider_symbols": {},
                    "active": True,
                    "last_price": Decimal("101"),
                    "name": "",
                    "currency": "USD",
                }
                for n in range(INSTRUMENTS)
            ],
        )
        instrument_ids = list(connection.scalars(select(Instrument.id)))  # type: ignore[call-overload]
        summary = {"cash": zero, "market_value": zero, "total_value": zero, "cost_basis": zero, "unrealized_pnl": zero}
        connection.execute(
            insert(Portfolio.__table__),  # type: ignore[attr-defined]
            [
                {
                    "name": f"bench {n}",
                    "account": "bench",
                    "base_currency": "USD",
                    "benchmark": "SPY",
                    "created_at": NOW,
                    "stale_positions": 0,
                    "unpriced_positions": 0,
                    **summary,
                }
                for n in range(portfolios)
            ],
        )
        portfolio_ids = list(connection.scalars(select(Portfolio.id)))  # type: ignore[call-overload]
        deposit = datetime(2026, 10, 30, 15, tzinfo=UTC)
        connection.execute(
            insert(CashFlow.__table__),  # type: ignore[attr-defined]
            [{"portfolio_id": p, "at": deposit, "amount": Decimal("100000"), "note": ""} for p in portfolio_ids],
        )
        weekdays = [d for d in (date(2026, 11, n) for n in range(1, 31)) if d.weekday() < 5]
        trade_rows: list[dict[str, Any]] = []
        snapshot_rows: list[dict[str, Any]] = []
        for p in portfolio_ids:
            trade_rows += [
                {
                    "portfolio_id": p,
                    "instrument_id": instrument_ids[(p + k) % INSTRUMENTS],
                    "side": "buy",
                    "quantity": Decimal(10),
                    "price": Decimal(100 + k % 7),
                    "fee": Decimal(1),
                    "executed_at": datetime(2026, 11, 2, 15, tzinfo=UTC) + timedelta(hours=k * 7),
                }
                for k in range(trades)
            ]
            snapshot_rows += [
                {
                    "portfolio_id": p,
                    "day": d,
                    "taken_at": NOW,
                    "total_value": Decimal(100000 + d.day),
                    "net_flow": zero,
                    "positions": 0,
                    "stale_positions": 0,
                    **{k: zero for k in ("cash", "market_value", "cost_basis", "unrealized_pnl")},
                }
                for d in weekdays
            ]
        connection.execute(insert(Trade.__table__), trade_rows)  # type: ignore[attr-defined]
        connection.execute(insert(PortfolioSnapshot.__table__), snapshot_rows)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portfolios", type=int, default=1000)
    parser.add_argument("--trades", type=int, default=20)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, throwaway_database(args.database, Path(folder)) as url:
        fill(url, args.portfolios, args.trades)
        started = time.perf_counter()
        run = generate_reports(
            session_factory=session_factory(url),
            kind="monthly",
            as_of=None,
            portfolio_ids=None,
            reports_dir=Path(folder) / "reports",
            now=NOW,
        )
        elapsed = time.perf_counter() - started
        files = sum(f.stat().st_size for f in (Path(folder) / "reports").rglob("*") if f.is_file())
    print("| database | portfolios | trades each | reports | seconds | ms per report | files |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {args.database} | {args.portfolios:,} | {args.trades} | {len(run.written):,} | {elapsed:.1f} | "
        f"{elapsed / max(len(run.written), 1) * 1000:.1f} | {files / 1e6:.1f} MB |"
    )


if __name__ == "__main__":
    main()
