"""Generated portfolios in bulk for the benchmarks (bench/portfolio.py) and the revaluation tests:
the sandbox's generated coins, priced, a share stale and a few never priced, and portfolios of
distinct positions with cash, bulk-inserted."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert
from sqlalchemy import select as core_select

from services.portfolio.seed import CRYPTO_PROVIDERS
from services.storage.db import make_engine
from services.storage.models import Instrument, Portfolio, Position


@dataclass(frozen=True)
class GeneratedBook:
    portfolio_ids: list[int]
    instruments: int
    positions: int


def create_generated_portfolios(
    database_url: str,
    *,
    portfolios: int,
    positions_each: int,
    instruments: int,
    now: datetime,
    stale_share: float = 0.05,
    unpriced_share: float = 0.01,
    seed: int = 7,
) -> GeneratedBook:
    """Bulk-insert `instruments` generated instruments (SIMC0001-USD...: the sandbox's generated
    coins, which trade around the clock, so the stale share does not depend on the day the benchmark
    runs), priced at `now` with a share of them stale and a few never priced, and `portfolios`
    portfolios of `positions_each` distinct positions each, with cash."""
    if positions_each > instruments:
        raise ValueError("each portfolio holds distinct instruments: positions_each must be <= instruments")
    rng = random.Random(seed)
    instrument_rows: list[dict[str, Any]] = []
    for n in range(1, instruments + 1):
        roll = rng.random()
        priced = roll >= unpriced_share
        at = now - timedelta(days=3) if roll < unpriced_share + stale_share else now - timedelta(seconds=30)
        instrument_rows.append(
            {
                "symbol": f"SIMC{n:04d}-USD",
                "name": f"Sim Coin {n:04d}",
                "asset_class": "crypto",
                "exchange": None,
                "currency": "USD",
                "providers": CRYPTO_PROVIDERS,
                "provider_symbols": {"binance": f"SIMC{n:04d}USDT", "coingecko": f"sim-coin-{n:04d}"},
                "active": True,
                "last_price": Decimal(rng.randint(1000, 500000)) / 100 if priced else None,
                "last_price_at": at if priced else None,
                "last_price_source": "sandbox" if priced else None,
            }
        )
    engine = make_engine(database_url)
    with engine.begin() as connection:
        table = Instrument.__table__  # type: ignore[attr-defined]
        connection.execute(insert(table), instrument_rows)
        symbols = [row["symbol"] for row in instrument_rows]
        instrument_ids = list(
            connection.execute(
                core_select(table.c.id).where(table.c.symbol.in_(symbols)).order_by(table.c.id)
            ).scalars()
        )
        portfolio_table = Portfolio.__table__  # type: ignore[attr-defined]
        start = connection.execute(core_select(portfolio_table.c.id).order_by(portfolio_table.c.id.desc()).limit(1))
        first_id = (start.scalar() or 0) + 1
        ids = list(range(first_id, first_id + portfolios))
        connection.execute(
            insert(portfolio_table),
            [
                {
                    "id": portfolio_id,
                    "name": f"generated {portfolio_id}",
                    "account": f"bench-{portfolio_id % 1000}",
                    "base_currency": "USD",
                    "benchmark": "SPY",
                    "created_at": now,
                    "cash": Decimal(rng.randint(0, 10_000_000)) / 100,
                }
                for portfolio_id in ids
            ],
        )
        position_rows = [
            {
                "portfolio_id": portfolio_id,
                "instrument_id": instrument_id,
                "quantity": Decimal(rng.randint(1, 100_000)) / 100,
                "average_cost": Decimal(rng.randint(1000, 500000)) / 100,
                "price_stale": False,
            }
            for portfolio_id in ids
            for instrument_id in rng.sample(instrument_ids, positions_each)
        ]
        position_table = Position.__table__  # type: ignore[attr-defined]
        for begin in range(0, len(position_rows), 20_000):
            connection.execute(insert(position_table), position_rows[begin : begin + 20_000])
        if engine.dialect.name == "postgresql":  # ids were given explicitly: move the sequence past them
            connection.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('portfolios', 'id'), (SELECT max(id) FROM portfolios))"
            )
    if engine.dialect.name == "postgresql":  # what autovacuum does after a bulk load, done now
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE instruments, portfolios, positions")
            connection.commit()
    return GeneratedBook(ids, len(instrument_ids), len(position_rows))
