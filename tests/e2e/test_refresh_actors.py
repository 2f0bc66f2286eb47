"""The market-data actors on a real worker against the sandbox market, as the timetable sends them:
prices from each instrument's first provider, fallback when it fails, history, asset info."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from services.storage.db import session_scope
from services.storage.models import DailyBar, Instrument
from tests.support.ledger import wait_state

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.both_databases,
]


def add_instruments(url: str) -> None:
    with session_scope(url) as session:
        session.add(
            Instrument(
                symbol="AAPL", asset_class="equity", providers=["yahoo", "stooq"], provider_symbols={"stooq": "aapl.us"}
            )
        )
        session.add(
            Instrument(
                symbol="BTC-USD",
                asset_class="crypto",
                providers=["binance", "coingecko"],
                provider_symbols={"binance": "BTCUSDT", "coingecko": "bitcoin"},
            )
        )
        session.add(Instrument(symbol="NOPE", asset_class="equity", providers=["yahoo", "stooq"]))


def instruments(url: str) -> dict[str, Instrument]:
    with session_scope(url) as session:
        return {i.symbol: i for i in session.execute(select(Instrument)).scalars()}


def test_prices_come_from_the_sandbox_and_fall_back_when_a_provider_fails(start_workers, client, database_url, sandbox):
    # Given three instruments (one unknown to every provider) and a worker pointed at the sandbox
    add_instruments(database_url)
    start_workers(queues=["refresh"], **sandbox.env)

    # When every price is refreshed
    sent = client.send("refresh_all_prices", {})
    task = wait_state(database_url, sent.message_id, "completed", timeout=60)

    # Then each priced instrument has its first provider's price, and NOPE is marked unknown
    found = instruments(database_url)
    assert found["AAPL"].last_price_source == "yahoo" and found["AAPL"].last_price > 0
    assert found["BTC-USD"].last_price_source == "binance"
    assert found["NOPE"].unknown_at is not None and "priced 2/3" in task.result_summary

    # When Yahoo answers 503 and prices are refreshed again
    sandbox.fault(provider="yahoo", mode="http_503")
    again = client.send("refresh_all_prices", {"asset_classes": ["equity"]})
    task = wait_state(database_url, again.message_id, "completed", timeout=60)

    # Then AAPL's price comes from Stooq
    assert instruments(database_url)["AAPL"].last_price_source == "stooq"
    assert "fell back 1" in task.result_summary


def test_history_is_stored_once_and_asset_info_refuses_a_non_instrument(start_workers, client, database_url, sandbox):
    add_instruments(database_url)
    start_workers(queues=["refresh"], **sandbox.env)
    period = {"symbols": ["AAPL"], "start": "2026-10-01", "end": "2026-10-31", "interval": "1d"}

    for _ in range(2):
        sent = client.send("fetch_market_data", period)
        wait_state(database_url, sent.message_id, "completed", timeout=60)

    with session_scope(database_url) as session:
        days = session.execute(select(func.count()).select_from(DailyBar)).scalar()
        newest = session.execute(select(func.max(DailyBar.ts))).scalar()
    assert days == 22  # NYSE sessions in October 2026
    assert newest.date() == date(2026, 10, 30)

    info = client.send("fetch_asset_info", {"symbol": "AAPL"})
    assert "AAPL: " in wait_state(database_url, info.message_id, "completed", timeout=60).result_summary
    missing = client.send("fetch_asset_info", {"symbol": "ZZZZ"})
    failed = wait_state(database_url, missing.message_id, "failed", timeout=60)
    assert failed.attempts == 1 and "not an instrument" in failed.error_message


def test_demo_portfolios_are_valued_snapshotted_and_measured(start_workers, client, database_url, sandbox):
    from services.portfolio.seed import seed_demo
    from services.storage.models import Portfolio, PortfolioMetrics, PortfolioSnapshot

    # Given the demo seed and a worker pointed at the sandbox, with prices refreshed
    with session_scope(database_url) as session:
        seed_demo(session=session)
    start_workers(queues=["refresh"], **sandbox.env)
    wait_state(database_url, client.send("refresh_all_prices", {}).message_id, "completed", timeout=60)

    # When positions are updated, snapshotted twice, measured, and one portfolio refreshed
    for actor, kwargs in [
        ("update_positions", {}),
        ("create_portfolio_snapshot", {}),
        ("create_portfolio_snapshot", {}),
        ("refresh_benchmark", {"benchmark": "SPY"}),
        ("calculate_metrics", {"days": 30}),
        ("refresh_portfolio", {"portfolio_id": 1}),
    ]:
        wait_state(database_url, client.send(actor, kwargs).message_id, "completed", timeout=60)

    # Then every portfolio is valued at fresh prices, has one snapshot for the day and a metrics row
    with session_scope(database_url) as session:
        portfolios = session.execute(select(Portfolio)).scalars().all()
        snapshots = session.execute(select(PortfolioSnapshot)).scalars().all()
        metrics = session.execute(select(PortfolioMetrics)).scalars().all()
        benchmark_bars = session.execute(select(func.count()).select_from(DailyBar)).scalar()
    assert portfolios and all(p.valued_at and p.total_value > 0 and p.stale_positions == 0 for p in portfolios)
    assert all(p.total_value == p.cash + p.market_value for p in portfolios)
    assert len(snapshots) == len(portfolios) and {s.day for s in snapshots} == {snapshots[0].day}
    assert len(metrics) == len(portfolios) and benchmark_bars > 200
    # And a portfolio that does not exist is refused at once, not valued as nothing
    missing = client.send("refresh_portfolio", {"portfolio_id": 999_999})
    failed = wait_state(database_url, missing.message_id, "failed", timeout=60)
    assert failed.attempts == 1 and failed.error_type == "PortfolioNotFound"
