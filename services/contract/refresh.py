"""Market data and portfolio refresh actors (queue `refresh`)."""

from __future__ import annotations

from datetime import date
from typing import Literal, get_args

from pydantic import Field

from services.contract.fields import Id, Symbol, Symbols
from services.contract.spec import ActorSpec, Payload
from services.engine.task_classes import REFRESH

Interval = Literal["1m", "5m", "15m", "1h", "1d", "1wk"]
AssetClass = Literal["equity", "etf", "crypto", "fx", "index"]
ASSET_CLASSES: tuple[str, ...] = get_args(AssetClass)


class RefreshAllPrices(Payload):
    asset_classes: list[AssetClass] | None = None


class FetchMarketData(Payload):
    symbols: Symbols
    start: date | None = None
    end: date | None = None
    interval: Interval = "1d"


class FetchAssetInfo(Payload):
    symbol: Symbol


class PortfolioRef(Payload):
    portfolio_id: Id


class UpdatePositions(Payload):
    portfolio_id: Id | None = Field(None, description="None updates every portfolio")


class RefreshBenchmark(Payload):
    benchmark: Symbol = "SPY"
    start: date | None = None


class CalculateMetrics(Payload):
    portfolio_id: Id | None = Field(None, description="None calculates every portfolio's metrics")
    days: int = Field(365, ge=2, le=3650)


class CreatePortfolioSnapshot(Payload):
    portfolio_id: Id | None = Field(None, description="None snapshots every portfolio")
    as_of: date | None = None


UPSERTS = "writes are upserts keyed by instrument and time"
REFRESH_ACTORS = [
    ActorSpec("refresh_all_prices", "refresh", RefreshAllPrices, task_class=REFRESH, idempotency=UPSERTS),
    ActorSpec("fetch_market_data", "refresh", FetchMarketData, task_class=REFRESH, idempotency=UPSERTS),
    ActorSpec("fetch_asset_info", "refresh", FetchAssetInfo, task_class=REFRESH, idempotency=UPSERTS),
    ActorSpec(
        "refresh_portfolio",
        "refresh",
        PortfolioRef,
        task_class=REFRESH,
        idempotency="recomputes valuations from current prices; re-running overwrites the same values",
    ),
    ActorSpec(
        "update_positions",
        "refresh",
        UpdatePositions,
        task_class=REFRESH,
        idempotency="recomputes positions from the trade history",
    ),
    ActorSpec("refresh_benchmark", "refresh", RefreshBenchmark, task_class=REFRESH, idempotency=UPSERTS),
    ActorSpec(
        "calculate_metrics",
        "refresh",
        CalculateMetrics,
        task_class=REFRESH,
        idempotency="metrics are keyed by portfolio, window and day and overwritten",
    ),
    ActorSpec(
        "create_portfolio_snapshot",
        "refresh",
        CreatePortfolioSnapshot,
        task_class=REFRESH,
        idempotency="one snapshot per portfolio and day, upserted",
    ),
]
