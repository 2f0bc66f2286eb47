"""bulk_update writes what an ORM write would, on SQLite and PostgreSQL, whatever the values."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from sqlmodel import select

from services.storage.bulk_update import bulk_update
from services.storage.db import as_utc, make_engine, session_scope
from services.storage.models import Instrument, Portfolio, Position

pytestmark = pytest.mark.both_databases
AT = datetime(2026, 11, 24, 15, 30, 12, 345678, tzinfo=UTC)
COLUMNS = ("price", "price_at", "price_stale", "market_value", "unrealized_pnl", "weight", "valued_at")


def test_every_kind_of_value_reads_back_as_written(database_url):
    with session_scope(database_url) as session:
        instruments = [Instrument(symbol=f"X{n}", asset_class="crypto") for n in range(3)]
        portfolio = Portfolio(name="p", account="a", created_at=AT)
        session.add_all([*instruments, portfolio])
        session.flush()
        positions = [
            Position(portfolio_id=portfolio.id or 0, instrument_id=i.id or 0, quantity=D(1), average_cost=D(1))
            for i in instruments
        ]
        session.add_all(positions)
        session.flush()
        ids = [p.id or 0 for p in positions]
    rows = [
        (ids[0], D("0.0000000001"), AT, True, D("-1234567.8901"), D("0E-4"), 1e-05, AT),
        (ids[1], D("1E+3"), None, False, None, D("-0.0001"), None, AT),
        (ids[2], None, None, False, None, None, 0.123456789012345, AT),  # all-NULL columns mostly
    ]
    with make_engine(database_url).begin() as connection:
        assert bulk_update(connection, Position.__table__, "id", COLUMNS, rows) == 3  # type: ignore[attr-defined]
    with session_scope(database_url) as session:
        stored = {p.id: p for p in session.exec(select(Position))}
    first, second, third = (stored[i] for i in ids)
    assert (first.price, as_utc(first.price_at or AT), first.price_stale) == (D("0.0000000001"), AT, True)
    assert (first.market_value, first.unrealized_pnl, first.weight) == (D("-1234567.8901"), D(0), 1e-05)
    assert (second.price, second.price_at, second.price_stale, second.market_value) == (D(1000), None, False, None)
    assert second.unrealized_pnl == D("-0.0001") and second.weight is None
    assert (third.price, third.market_value, third.weight) == (None, None, 0.123456789012345)
    assert all(as_utc(p.valued_at or datetime.min) == AT for p in (first, second, third))
