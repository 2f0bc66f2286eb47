"""Market data and portfolio actors (queue `refresh`).

Failure policy (task class `refresh`, services/engine/task_classes.py): retried with backoff on provider
failures (ProviderError), never on an unknown symbol or a bad payload; 600 s time limit, and every
HTTP request has its own timeout under it. Each is idempotent: prices, bars, valuations, snapshots
and metrics are upserts keyed by what they describe.
"""

from __future__ import annotations

from datetime import date

from actors.broker import settings
from actors.declare import contract_actor
from actors.provider_clients import providers
from actors.task_context import reporter
from actors.trading import price_listener
from services.market_data.asset_info import fetch_asset_info as fetch_info
from services.market_data.history import fetch_history
from services.market_data.history import refresh_benchmark as refresh_benchmark_bars
from services.market_data.refresh import refresh_prices
from services.portfolio.metrics import calculate_metrics as compute_metrics
from services.portfolio.refresh import refresh_portfolio as refresh_and_revalue
from services.portfolio.refresh import update_positions as rebuild_and_revalue
from services.portfolio.snapshots import create_snapshots
from services.storage.db import session_factory

sessions = session_factory(settings.database_url)


@contract_actor
def refresh_all_prices(asset_classes: list[str] | None = None) -> str:
    """The latest price of every active instrument (or of some asset classes), batched per provider."""
    report = refresh_prices(
        session_factory=sessions,
        providers=providers(),
        asset_classes=asset_classes,
        reporter=reporter(),
        on_prices=price_listener(),  # process_orders for the instruments with working orders
    )
    return report.summary()


@contract_actor
def fetch_market_data(
    symbols: list[str], start: date | None = None, end: date | None = None, interval: str = "1d"
) -> str:
    """OHLCV history for `symbols`, upserted; without `start`, from a little before the newest stored bar."""
    report = fetch_history(
        session_factory=sessions,
        providers=providers(),
        symbols=symbols,
        interval=interval,
        start=start,
        end=end,
        reporter=reporter(),
    )
    return report.summary()


@contract_actor
def fetch_asset_info(symbol: str) -> str:
    """Reference data (name, type, exchange, sector) from the instrument's first provider that has it."""
    info = fetch_info(session_factory=sessions, providers=providers(), symbol=symbol)
    return f"{symbol}: {info.name} ({info.asset_type or '?'}, {info.exchange or '?'}) from {info.source}"


@contract_actor
def refresh_benchmark(benchmark: str = "SPY", start: date | None = None) -> str:
    """The benchmark's daily bars (the series portfolio metrics compare against)."""
    report = refresh_benchmark_bars(
        session_factory=sessions, providers=providers(), benchmark=benchmark, start=start, reporter=reporter()
    )
    return report.summary()


@contract_actor
def refresh_portfolio(portfolio_id: int) -> str:
    """Fresh prices for the portfolio's instruments, then its valuation; an unknown portfolio is refused."""
    refreshed = refresh_and_revalue(
        portfolio_id,
        session_factory=sessions,
        providers=providers(),
        max_age_seconds=settings.tickwork_price_max_age_seconds,
        reporter=reporter(),
    )
    return refreshed.summary()


@contract_actor
def update_positions(portfolio_id: int | None = None) -> str:
    """Positions and cash recomputed from the trade history, then revalued at the stored prices."""
    updated = rebuild_and_revalue(
        portfolio_id,
        session_factory=sessions,
        max_age_seconds=settings.tickwork_price_max_age_seconds,
        reporter=reporter(),
    )
    return updated.summary()


@contract_actor
def create_portfolio_snapshot(portfolio_id: int | None = None, as_of: date | None = None) -> str:
    """One snapshot per portfolio and day (upserted), from a fresh valuation at the stored prices."""
    report = create_snapshots(
        session_factory=sessions,
        max_age_seconds=settings.tickwork_price_max_age_seconds,
        as_of=as_of,
        portfolio_ids=None if portfolio_id is None else [portfolio_id],
        reporter=reporter(),
    )
    return report.summary()


@contract_actor
def calculate_metrics(portfolio_id: int | None = None, days: int = 365) -> str:
    """Returns, risk and benchmark-relative figures over the trailing `days`, from daily snapshots."""
    report = compute_metrics(
        session_factory=sessions,
        days=days,
        portfolio_id=portfolio_id,
        risk_free_rate=settings.tickwork_risk_free_rate,
        reporter=reporter(),
    )
    return report.summary()
