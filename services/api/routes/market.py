"""/api/v1/instruments and /api/v1/portfolios: prices with their age, and valuations (read-only)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from fastapi import APIRouter, Query

from services.api.deps import Config, Db, Reader
from services.api.schemas import InstrumentPrice, PortfolioOut
from services.contract.refresh import AssetClass
from services.market_data.catalog import list_prices
from services.portfolio.views import get_portfolio, list_portfolios

router = APIRouter(prefix="/api/v1", tags=["market data"])


@router.get("/instruments", response_model=list[InstrumentPrice])
def instruments(
    db: Db,
    config: Config,
    _: Reader,
    asset_class: AssetClass | None = None,
    stale: bool = Query(False, description="Only stale or never-priced instruments"),
) -> list[InstrumentPrice]:
    """Each instrument's last good price, its source and age (market time), and whether it is stale."""
    rows = list_prices(
        session=db,
        now=datetime.now(UTC),
        max_age_s=config.tickwork_price_max_age_seconds,
        asset_class=asset_class,
        stale_only=stale,
    )
    return [InstrumentPrice(**asdict(row)) for row in rows]


@router.get("/portfolios", response_model=list[PortfolioOut])
def portfolios(db: Db, _: Reader, account: str | None = Query(None, max_length=100)) -> list[PortfolioOut]:
    """Every portfolio's account summary (positions left out: ask for one portfolio)."""
    return [PortfolioOut(**asdict(view)) for view in list_portfolios(session=db, account=account)]


@router.get("/portfolios/{portfolio_id}", response_model=PortfolioOut)
def portfolio(portfolio_id: int, db: Db, config: Config, _: Reader) -> PortfolioOut:
    """One portfolio: account summary and positions, each with its price, price time and stale flag
    (stale by its age now, even if no revaluation has run since)."""
    view = get_portfolio(
        session=db, portfolio_id=portfolio_id, now=datetime.now(UTC), max_age_s=config.tickwork_price_max_age_seconds
    )
    return PortfolioOut(**asdict(view))
