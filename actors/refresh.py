"""Market data and portfolio actors (queue `refresh`).

Failure policy (task class `refresh`, services/engine/task_classes.py): retried with backoff on provider
failures (ProviderError), never on an unknown symbol or a bad payload; 600 s time limit, and every
HTTP request has its own timeout under it. Each is idempotent: prices, bars, valuations, snapshots
and metrics are upserts keyed by what they describe.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from actors.broker import settings
from actors.declare import contract_actor
from actors.provider_clients import providers
from actors.task_context import reporter
from actors.trading import price_listener
from services.errors import PortfolioNotFound
from services.market_data.asset_info import fetch_asset_info as fetch_info
from services.market_data.history import ensure_benchmark, fetch_history
from services.market_data.refresh import refresh_prices
from services.portfolio.metrics import calculate_metrics as compute_metrics
from services.portfolio.positions import rebuild_all_positions
from services.portfolio.revaluation import revalue_portfolios
from services.portfolio.snapshots import create_snapshots
from services.storage.db import session_scope
from services.storage.models import Portfolio, Position


@contract_actor
def refresh_all_prices(asset_classes: list[str] | None = None) -> str:
    """The latest price of every active instrument (or of some asset classes), batched per provider."""
    report = refresh_prices(
        database_url=settings.database_url,
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
        database_url=settings.database_url,
        providers=providers(),
        symbols=symbols,
        interval=interval,
        start=_day(start),
        end=_day(end),
        reporter=reporter(),
    )
    return report.summary()


@contract_actor
def fetch_asset_info(symbol: str) -> str:
    """Reference data (name, type, exchange, sector) from the instrument's first provider that has it."""
    info = fetch_info(database_url=settings.database_url, providers=providers(), symbol=symbol)
    return f"{symbol}: {info.name} ({info.asset_type or '?'}, {info.exchange or '?'}) from {info.source}"


@contract_actor
def refresh_benchmark(benchmark: str = "SPY", start: date | None = None) -> str:
    """The benchmark's daily bars (the series portfolio metrics compare against)."""
    with session_scope(settings.database_url) as session:
        ensure_benchmark(benchmark, session=session)
    report = fetch_history(
        database_url=settings.database_url,
        providers=providers(),
        symbols=[benchmark],
        interval="1d",
        start=_day(start),
        reporter=reporter(),
    )
    return report.summary()


@contract_actor
def refresh_portfolio(portfolio_id: int) -> str:
    """Fresh prices for the portfolio's instruments, then its valuation: market value, unrealized P&L,
    weights and account summary. A price no provider could refresh is used with its stale flag set."""
    progress = reporter()
    with session_scope(settings.database_url) as session:
        _existing(session, portfolio_id)
        held = session.exec(select(Position.instrument_id).where(Position.portfolio_id == portfolio_id)).all()
    prices = refresh_prices(database_url=settings.database_url, providers=providers(), instrument_ids=list(held))
    progress.progress(0.7, "revaluing")
    valued = revalue_portfolios(
        settings.database_url, max_age_seconds=settings.tickwork_price_max_age_seconds, portfolio_ids=[portfolio_id]
    )
    return f"{prices.summary()}; {valued.summary()}"


@contract_actor
def update_positions(portfolio_id: int | None = None) -> str:
    """Positions and cash recomputed from the trade history, then revalued at the stored prices."""
    ids = None if portfolio_id is None else [portfolio_id]
    if portfolio_id is not None:
        with session_scope(settings.database_url) as session:
            _existing(session, portfolio_id)
    progress = reporter()
    rebuilt = rebuild_all_positions(settings.database_url, portfolio_ids=ids, reporter=progress)
    valued = revalue_portfolios(
        settings.database_url,
        max_age_seconds=settings.tickwork_price_max_age_seconds,
        portfolio_ids=ids,
        reporter=progress,
    )
    return f"rebuilt {len(rebuilt)} portfolios; {valued.summary()}"


@contract_actor
def create_portfolio_snapshot(portfolio_id: int | None = None, as_of: date | None = None) -> str:
    """One snapshot per portfolio and day (upserted), from a fresh valuation at the stored prices."""
    report = create_snapshots(
        settings.database_url,
        max_age_seconds=settings.tickwork_price_max_age_seconds,
        as_of=_day(as_of),
        portfolio_ids=None if portfolio_id is None else [portfolio_id],
        reporter=reporter(),
    )
    return report.summary()


@contract_actor
def calculate_metrics(portfolio_id: int | None = None, days: int = 365) -> str:
    """Returns, risk and benchmark-relative figures over the trailing `days`, from daily snapshots."""
    report = compute_metrics(
        settings.database_url,
        days=days,
        portfolio_id=portfolio_id,
        risk_free_rate=settings.tickwork_risk_free_rate,
        reporter=reporter(),
    )
    return report.summary()


def _existing(session: Session, portfolio_id: int) -> None:
    """Refuse, without retries, a portfolio that does not exist (rather than value nothing)."""
    if session.get(Portfolio, portfolio_id) is None:
        raise PortfolioNotFound(f"no portfolio {portfolio_id}")


def _day(value: date | str | None) -> date | None:
    # Messages carry dates as ISO strings (JSON has no date type); validation has checked them.
    return date.fromisoformat(value) if isinstance(value, str) else value
