"""Portfolios' tables: accounts, trades, cash flows, positions, daily snapshots, metrics."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.storage.models.columns import money_field, price_field, quantity_field, utc_field


class Portfolio(SQLModel, table=True):
    """A portfolio, with its account summary as of the last valuation."""

    __tablename__ = "portfolios"
    # Every revaluation rewrites each row: free room in each page keeps those updates HOT (no index
    # writes) on PostgreSQL, which halves the time of a full revaluation.
    __table_args__ = ({"postgresql_with": {"fillfactor": 70}},)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    account: str = Field(max_length=100)  # the owner; notifications and digests go per account
    base_currency: str = Field(default="USD", max_length=8)
    benchmark: str = Field(default="SPY", max_length=32)
    created_at: datetime = utc_field()
    # The account summary, rewritten by each valuation.
    cash: Decimal = money_field(default=Decimal(0))
    market_value: Decimal = money_field(default=Decimal(0))
    total_value: Decimal = money_field(default=Decimal(0))
    cost_basis: Decimal = money_field(default=Decimal(0))
    unrealized_pnl: Decimal = money_field(default=Decimal(0))
    stale_positions: int = 0  # positions valued with a price older than the staleness limit
    unpriced_positions: int = 0  # positions with no price at all (left out of market value)
    valued_at: datetime | None = utc_field(default=None)


class Trade(SQLModel, table=True):
    """An executed trade: positions and cash are recomputed from these and the cash flows."""

    __tablename__ = "trades"
    __table_args__ = (Index("ix_trades_portfolio_executed", "portfolio_id", "executed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    portfolio_id: int = Field(foreign_key="portfolios.id")
    instrument_id: int = Field(foreign_key="instruments.id")
    side: str = Field(max_length=4)  # buy | sell
    quantity: Decimal = quantity_field()
    price: Decimal = price_field()
    fee: Decimal = money_field(default=Decimal(0))
    executed_at: datetime = utc_field()
    external_id: str | None = Field(default=None, max_length=128, unique=True)  # the order's id


class CashFlow(SQLModel, table=True):
    """Money put into (positive) or taken out of (negative) a portfolio: what return figures discount."""

    __tablename__ = "cash_flows"
    __table_args__ = (Index("ix_cash_flows_portfolio_at", "portfolio_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    portfolio_id: int = Field(foreign_key="portfolios.id")
    at: datetime = utc_field()
    amount: Decimal = money_field()
    note: str = Field(default="", max_length=200)


class Position(SQLModel, table=True):
    """A holding, recomputed from trades, with its valuation as of the last refresh."""

    __tablename__ = "positions"
    __table_args__ = (
        UniqueConstraint("portfolio_id", "instrument_id"),
        {"postgresql_with": {"fillfactor": 70}},  # rewritten by every revaluation: see Portfolio
    )

    id: int | None = Field(default=None, primary_key=True)
    portfolio_id: int = Field(foreign_key="portfolios.id")
    instrument_id: int = Field(foreign_key="instruments.id")
    quantity: Decimal = quantity_field()
    average_cost: Decimal = price_field()
    # Valuation: the price used and its time, flagged when older than the staleness limit.
    price: Decimal | None = price_field(default=None)
    price_at: datetime | None = utc_field(default=None)
    price_stale: bool = False
    market_value: Decimal | None = money_field(default=None)
    unrealized_pnl: Decimal | None = money_field(default=None)
    weight: float | None = None  # of the portfolio's total value, cash included
    valued_at: datetime | None = utc_field(default=None)


class PortfolioSnapshot(SQLModel, table=True):
    """A portfolio's values at the end of one day; one row per portfolio and day."""

    __tablename__ = "portfolio_snapshots"
    __table_args__ = (Index("ix_portfolio_snapshots_taken", "taken_at"),)

    portfolio_id: int = Field(foreign_key="portfolios.id", primary_key=True)
    day: date = Field(primary_key=True)
    taken_at: datetime = utc_field()
    cash: Decimal = money_field()
    market_value: Decimal = money_field()
    total_value: Decimal = money_field()
    cost_basis: Decimal = money_field()
    unrealized_pnl: Decimal = money_field()
    net_flow: Decimal = money_field(default=Decimal(0))  # deposits minus withdrawals that day
    positions: int = 0
    stale_positions: int = 0


class PerformanceFigures(SQLModel):
    """A portfolio's performance figures over a window, as `calculate_metrics` computes them and
    portfolio_metrics stores them (conventions in docs/market-data.md). Ratios are floats:
    statistics, not money. None: too few observations for that figure."""

    observations: int  # daily returns the figures rest on
    time_weighted_return: float | None = None
    money_weighted_return: float | None = None  # XIRR, annualized
    annual_return: float | None = None
    annual_volatility: float | None = None
    sharpe: float | None = None
    sortino: float | None = None
    max_drawdown: float | None = None
    calmar: float | None = None
    beta: float | None = None
    alpha: float | None = None


class PortfolioMetrics(PerformanceFigures, table=True):
    """Performance figures of one portfolio over a trailing window, as of one day."""

    __tablename__ = "portfolio_metrics"

    portfolio_id: int = Field(foreign_key="portfolios.id", primary_key=True)
    as_of: date = Field(primary_key=True)
    window_days: int = Field(primary_key=True)
    computed_at: datetime = utc_field()
    benchmark: str = Field(max_length=32)
