"""Market data's tables: instruments with their last good price, bars, corporate actions, asset info, provider state."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from services.storage.models.columns import price_field, quantity_field, utc_field


class Instrument(SQLModel, table=True):
    """A symbol we price, where its prices come from, and the last good price we hold for it.

    `last_price*` only ever hold a price a provider returned; a failed refresh leaves them alone and
    records `price_error`, so the age of the price (now - last_price_at) is what tells it is stale."""

    __tablename__ = "instruments"
    __table_args__ = (Index("ix_instruments_active_class", "active", "asset_class"),)

    id: int | None = Field(default=None, primary_key=True)
    symbol: str = Field(max_length=32, unique=True)  # ours: AAPL, BTC-USD, EURUSD=X
    name: str = Field(default="", max_length=200)
    asset_class: str = Field(max_length=16)  # equity | etf | crypto | fx | index
    exchange: str | None = Field(default=None, max_length=32)
    currency: str = Field(default="USD", max_length=8)
    # Providers in fallback order, and the symbol each knows it by (ours when absent).
    providers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    provider_symbols: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    active: bool = True
    # Set when a provider answered that it does not know the symbol: it is not asked again.
    unknown_at: datetime | None = utc_field(default=None)
    last_price: Decimal | None = price_field(default=None)
    last_price_at: datetime | None = utc_field(default=None)  # the provider's time for that price
    last_price_source: str | None = Field(default=None, max_length=16)
    price_checked_at: datetime | None = utc_field(default=None)  # the last refresh attempt, good or not
    price_error: str | None = Field(default=None, max_length=500)  # why the last attempt failed


class BarFields(SQLModel):
    """One OHLCV bar. Bars are keyed by instrument, interval and start time, so writes are upserts.
    A bar whose provider gave no close is not stored: gaps stay gaps."""

    instrument_id: int = Field(foreign_key="instruments.id", primary_key=True)
    interval: str = Field(max_length=8, primary_key=True)
    ts: datetime = utc_field(primary_key=True)  # bar start; daily bars at 00:00 UTC of the trading day
    open: Decimal | None = price_field(default=None)
    high: Decimal | None = price_field(default=None)
    low: Decimal | None = price_field(default=None)
    close: Decimal = price_field()
    adj_close: Decimal | None = price_field(default=None)
    volume: Decimal | None = quantity_field(default=None)
    source: str = Field(max_length=16)


class DailyBar(BarFields, table=True):
    """Daily and weekly bars, kept for years (benchmark series are the benchmark's daily bars)."""

    __tablename__ = "daily_bars"


class IntradayBar(BarFields, table=True):
    """Minute and hourly bars, kept for weeks."""

    __tablename__ = "intraday_bars"


class CorporateAction(SQLModel, table=True):
    """A split (value = new shares per old share) or a cash dividend (value = amount per share)."""

    __tablename__ = "corporate_actions"

    instrument_id: int = Field(foreign_key="instruments.id", primary_key=True)
    ex_date: date = Field(primary_key=True)
    kind: str = Field(max_length=16, primary_key=True)  # split | dividend
    value: Decimal = price_field()
    source: str = Field(max_length=16)


class AssetInfo(SQLModel, table=True):
    """What a provider says about an instrument (name, sector, ...), refreshed by fetch_asset_info."""

    __tablename__ = "asset_info"

    instrument_id: int = Field(foreign_key="instruments.id", primary_key=True)
    name: str = Field(default="", max_length=200)
    asset_type: str | None = Field(default=None, max_length=32)
    exchange: str | None = Field(default=None, max_length=64)
    sector: str | None = Field(default=None, max_length=100)
    industry: str | None = Field(default=None, max_length=100)
    currency: str | None = Field(default=None, max_length=8)
    source: str = Field(max_length=16)
    fetched_at: datetime = utc_field()
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Trading rules where the venue publishes them (Binance's LOT_SIZE, NOTIONAL, PRICE_FILTER).
    lot_step: Decimal | None = quantity_field(default=None)
    min_quantity: Decimal | None = quantity_field(default=None)
    min_notional: Decimal | None = price_field(default=None)
    tick_size: Decimal | None = price_field(default=None)


class ProviderState(SQLModel, table=True):
    """One provider's shared state, so every worker process on every host obeys one rate limit and
    one circuit breaker. Times are epoch seconds: they are compared in SQL on both databases."""

    __tablename__ = "provider_state"

    provider: str = Field(primary_key=True, max_length=16)
    window_start: float = 0.0  # start of the current rate-limit window
    used: int = 0  # requests (or Binance request weight) spent in that window
    blocked_until: float = 0.0  # a 429/418 Retry-After: nobody calls before this
    failures: int = 0  # consecutive failed calls
    circuit_open_until: float = 0.0  # the circuit is open (calls refused) until this
    last_error: str | None = Field(default=None, max_length=500)
    # Recent HTTP attempts (services/market_data/provider_latency.py): the current window's count,
    # failed attempts, summed and slowest latency, the same for the window before, and the newest attempt.
    latency_window_start: float = 0.0
    attempts: int = 0
    errors: int = 0
    attempt_seconds: float = 0.0
    slowest_s: float = 0.0
    previous_attempts: int = 0
    previous_errors: int = 0
    previous_attempt_seconds: float = 0.0
    previous_slowest_s: float = 0.0
    last_latency_s: float | None = None
    last_attempt_at: float | None = None


# -- portfolios ---------------------------------------------------------------------------------------
