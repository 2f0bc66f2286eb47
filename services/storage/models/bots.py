"""Trading bots' tables: each bot's configuration, its state, and the signal every run leaves.

A bot trades one instrument for one portfolio, only through the orders service: its orders are
ordinary `orders` rows (placed_by "bot:<id>", client order id "bot<id>-<tick>-<leg>"). `bot_states`
is rewritten by every run; `trading_signals` only grows (cleanup trims it by age).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from services.storage.models.columns import money_field, price_field, quantity_field, utc_field


class Bot(SQLModel, table=True):
    """What a bot is asked to do. Percentages are percent (2 = 2 %); sizing value per its mode."""

    __tablename__ = "bots"
    __table_args__ = (Index("ix_bots_active", "active"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    portfolio_id: int = Field(foreign_key="portfolios.id")
    symbol: str = Field(max_length=32)  # ours (Instrument.symbol)
    strategy: str = Field(max_length=64)  # a key of services/bots/strategies STRATEGIES
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    bar_interval: str = Field(default="1d", max_length=8)  # the stored bars it reads: 1d, 1h, 1m ...
    bars_needed: int = 200  # how many of the newest bars a run reads
    # every_minute | hourly | at_close; market_hours_only: only while NYSE regular hours are open.
    cadence: str = Field(default="every_minute", max_length=16)
    market_hours_only: bool = False
    # fixed_notional (money) | equity_share (fraction of capital) | risk_per_trade (fraction risked).
    sizing_mode: str = Field(default="fixed_notional", max_length=16)
    sizing_value: Decimal = money_field(default=Decimal(1000))
    capital: Decimal = money_field(default=Decimal(10000))  # the equity its sizing and limits use
    stop_loss_pct: Decimal | None = money_field(default=None)
    take_profit_pct: Decimal | None = money_field(default=None)
    trailing_stop_pct: Decimal | None = money_field(default=None)
    max_trades_per_day: int | None = None
    max_daily_loss_pct: Decimal | None = money_field(default=None)  # of capital
    daily_profit_target_pct: Decimal | None = money_field(default=None)  # of capital
    active: bool = True
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()
    created_by: str = Field(default="", max_length=100)


class BotState(SQLModel, table=True):
    """Where a bot has got. `running_since` is its run lock (set by a conditional UPDATE: one run at
    a time); `last_tick` the newest fan-out tick whose run completed (a redelivery finds it done)."""

    __tablename__ = "bot_states"
    __table_args__ = (Index("ix_bot_states_state", "state"), {"postgresql_with": {"fillfactor": 70}})

    bot_id: int = Field(foreign_key="bots.id", primary_key=True)
    # idle | running | waiting (no signal) | paused_daily_limit | paused (operator) | error
    state: str = Field(default="idle", max_length=24)
    message: str | None = Field(default=None, max_length=500)  # the error, or why it paused
    running_since: datetime | None = utc_field(default=None)
    run_token: str | None = Field(default=None, max_length=64)  # whose run holds the lock
    last_tick: datetime | None = utc_field(default=None)
    last_run_at: datetime | None = utc_field(default=None)
    runs: int = 0
    # The position the bot opened, followed through its orders.
    in_position: bool = False
    entry_order_id: int | None = Field(default=None, foreign_key="orders.id")
    exit_order_id: int | None = Field(default=None, foreign_key="orders.id")
    entry_price: Decimal | None = price_field(default=None)
    position_size: Decimal = quantity_field(default=Decimal(0))
    # Counters of the current UTC day (reset_daily_bot_counters zeroes them at 00:00 UTC).
    counters_day: date | None = None
    daily_trades: int = 0
    daily_pnl: Decimal = money_field(default=Decimal(0))
    total_pnl: Decimal = money_field(default=Decimal(0))
    updated_at: datetime | None = utc_field(default=None)


class TradingSignal(SQLModel, table=True):
    """One run's decision, whether it traded or not: inputs, decision, reason, the order placed."""

    __tablename__ = "trading_signals"
    __table_args__ = (Index("ix_trading_signals_bot_at", "bot_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    bot_id: int = Field(foreign_key="bots.id")
    at: datetime = utc_field()
    tick: datetime | None = utc_field(default=None)  # the fan-out tick, None for a run asked by hand
    task_id: str | None = Field(default=None, max_length=64)  # the run's message id in the task ledger
    # buy | sell | hold (the strategy's) or skipped | paused | refused | error (the run's)
    action: str = Field(max_length=16)
    outcome: str = Field(max_length=16)  # traded | no_trade | skipped | paused | error
    reason: str = Field(default="", max_length=500)
    bar_time: datetime | None = utc_field(default=None)  # the last bar the strategy saw
    indicators: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    price: Decimal | None = price_field(default=None)
    quantity: Decimal | None = quantity_field(default=None)
    order_id: int | None = Field(default=None, foreign_key="orders.id")
