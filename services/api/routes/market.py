"""/api/v1/instruments and /api/v1/portfolios: prices with their age, and valuations (read-only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from services.api.deps import Config, Db, Reader
from services.api.lookups import row_id
from services.api.strict import PRINTABLE, QueryBool
from services.contract.refresh import AssetClass
from services.market_data.catalog import PriceView, list_prices
from services.portfolio.views import PortfolioView, get_portfolio, list_portfolios

router = APIRouter(prefix="/api/v1", tags=["market data"])


# The service's dataclasses are the response models: one definition of each shape.
@router.get("/instruments", response_model=list[PriceView])
def instruments(
    db: Db,
    config: Config,
    _: Reader,
    asset_class: AssetClass | None = None,
    stale: Annotated[QueryBool, Query(description="Only stale or never-priced instruments")] = False,
) -> list[PriceView]:
    """Each instrument's last good price, its source and age (market time), and whether it is stale."""
    rows: list[PriceView] = list_prices(
        session=db,
        now=datetime.now(UTC),
        max_age_s=config.tickwork_price_max_age_seconds,
        asset_class=asset_class,
        stale_only=stale,
    )
    return rows


@router.get("/portfolios", response_model=list[PortfolioView])
def portfolios(
    db: Db, _: Reader, account: Annotated[str | None, Query(min_length=1, max_length=100, pattern=PRINTABLE)] = None
) -> list[PortfolioView]:
    """Every portfolio's account summary (positions left out: ask for one portfolio)."""
    return list_portfolios(session=db, account=account)


@router.get("/portfolios/{portfolio_id}", response_model=PortfolioView)
def portfolio(portfolio_id: int, db: Db, config: Config, _: Reader) -> PortfolioView:
    """One portfolio: account summary and positions, each with its price, price time and stale flag
    (stale by its age now, even if no revaluation has run since)."""
    return get_portfolio(
        session=db,
        portfolio_id=row_id("portfolio", portfolio_id),
        now=datetime.now(UTC),
        max_age_s=config.tickwork_price_max_age_seconds,
    )
