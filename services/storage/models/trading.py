"""Paper trading's tables: orders, their fills, each portfolio's risk limits, risk events, the kill switch.

Order terms and states use the vocabulary of services/trading/model.py (stored as its string values).
A fill is also a `trades` row (`external_id` = the fill's id): positions, valuations and reports read
trades, and never need to know that a trade came from an order.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.storage.models.columns import money_field, price_field, quantity_field, utc_field


class Order(SQLModel, table=True):
    """A paper order: its terms (fixed once placed), where it has got, and its links to siblings."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("portfolio_id", "client_order_id", name="uq_orders_portfolio_client_order_id"),
        # What the sweep and the event-driven run look for: open orders of some instruments.
        Index("ix_orders_state_instrument", "state", "instrument_id"),
        Index("ix_orders_portfolio_state", "portfolio_id", "state"),
        Index("ix_orders_parent", "parent_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    portfolio_id: int = Field(foreign_key="portfolios.id")
    instrument_id: int | None = Field(default=None, foreign_key="instruments.id")  # None: rejected as unknown
    symbol: str = Field(max_length=32)  # as placed, so a rejected unknown symbol is still shown
    client_order_id: str = Field(max_length=64)
    # Terms.
    side: str = Field(max_length=4)
    type: str = Field(max_length=16)
    quantity: Decimal = quantity_field()
    limit_price: Decimal | None = price_field(default=None)
    stop_price: Decimal | None = price_field(default=None)
    trail_amount: Decimal | None = price_field(default=None)
    trail_percent: Decimal | None = price_field(default=None)
    time_in_force: str = Field(default="day", max_length=4)
    extended_hours: bool = False
    asset_class: str = Field(default="equity", max_length=16)
    # State: new (accepted, not active yet: a bracket child before its entry fills), working,
    # partially_filled, then filled | cancelled | expired | rejected with the reason.
    state: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=200)
    filled_quantity: Decimal = quantity_field(default=Decimal(0))
    remaining_quantity: Decimal = quantity_field()
    average_fill_price: Decimal | None = price_field(default=None)
    fees_paid: Decimal = money_field(default=Decimal(0))
    triggered: bool = False  # a stop or stop-limit that triggered stays triggered
    rested: bool = False  # left working by an evaluation: a later limit fill makes liquidity (maker)
    water_mark: Decimal | None = price_field(default=None)  # trailing stops: best price seen
    # The price a buy reserves cash at (per unit): free cash = cash - what open buys reserve.
    reserve_price: Decimal | None = price_field(default=None)
    # Linked orders: a bracket's children point at their entry (parent); an OCO pair shares a group.
    parent_id: int | None = Field(default=None, foreign_key="orders.id")
    link_role: str | None = Field(default=None, max_length=16)  # entry | take_profit | stop_loss | oco
    oco_group: str | None = Field(default=None, max_length=64)
    # The newest market event (quote or bar end) this order was evaluated against: an event is never
    # evaluated twice, so a redelivered or concurrent run finds nothing new to fill.
    evaluated_through: datetime | None = utc_field(default=None)
    expires_at: datetime | None = utc_field(default=None)
    placed_at: datetime = utc_field()
    updated_at: datetime = utc_field()
    placed_by: str = Field(default="", max_length=100)  # token name, "cli", "risk", a bot


class Fill(SQLModel, table=True):
    """One execution of an order against one market event; its id is deterministic (order + event)."""

    __tablename__ = "fills"
    __table_args__ = (
        Index("ix_fills_order", "order_id"),
        Index("ix_fills_portfolio_executed", "portfolio_id", "executed_at"),
        Index("ix_fills_executed", "executed_at"),  # the console's newest fills of every portfolio
    )

    id: str = Field(primary_key=True, max_length=128)  # "<order id>:<event>": a second insert fails
    order_id: int = Field(foreign_key="orders.id")
    portfolio_id: int = Field(foreign_key="portfolios.id")
    instrument_id: int = Field(foreign_key="instruments.id")
    side: str = Field(max_length=4)
    quantity: Decimal = quantity_field()
    price: Decimal = price_field()
    fee: Decimal = money_field(default=Decimal(0))
    liquidity: str = Field(max_length=8)
    rule: str = Field(max_length=64)  # the row of docs/trading.md's fill table that applied
    event_at: datetime = utc_field()  # the market event's time (quote time, or bar end)
    price_received_at: datetime | None = utc_field(default=None)  # when we stored that price
    executed_at: datetime = utc_field()
    realized_pnl: Decimal = money_field(default=Decimal(0))


class RiskLimits(SQLModel, table=True):
    """One portfolio's limits (None: no limit) and whether its trading is halted. Fractions: 0.15 = 15 %."""

    __tablename__ = "risk_limits"

    portfolio_id: int = Field(foreign_key="portfolios.id", primary_key=True)
    max_drawdown: float | None = None  # from the peak of the daily snapshots
    drawdown_sell_share: float = 0.5  # of every position, sold at market on a drawdown breach
    max_position_weight: float | None = None  # breach: trimmed back to the limit
    max_order_value: Decimal | None = money_field(default=None)
    max_daily_loss: Decimal | None = money_field(default=None)  # today's loss against the last snapshot
    # Target weights by symbol; a weight more than drift_threshold from its target is rebalanced.
    target_weights: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    drift_threshold: float = 0.05
    allow_short: bool = False
    halted: bool = False
    halted_by: str | None = Field(default=None, max_length=100)
    halted_reason: str | None = Field(default=None, max_length=500)
    halted_at: datetime | None = utc_field(default=None)
    updated_at: datetime = utc_field()
    updated_by: str = Field(default="", max_length=100)


class RiskEvent(SQLModel, table=True):
    """A breach or an action of the risk manager or an operator: who, what, why, and the figures."""

    __tablename__ = "risk_events"
    __table_args__ = (Index("ix_risk_events_portfolio_at", "portfolio_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    portfolio_id: int | None = Field(default=None, foreign_key="portfolios.id")  # None: all trading
    at: datetime = utc_field()
    rule: str = Field(max_length=32)  # max_drawdown | max_position_weight | drift | kill_switch | halt ...
    action: str = Field(max_length=32)  # breach | cancel_orders | reduce | trim | rebalance | halt | resume
    actor: str = Field(max_length=100)  # risk_manager, or the operator's token name
    reason: str = Field(max_length=500)
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class TradingSwitch(SQLModel, table=True):
    """The kill switch of all trading: one row (id 1); absent means trading is on."""

    __tablename__ = "trading_switch"

    id: int = Field(default=1, primary_key=True)
    halted: bool = False
    by: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=500)
    at: datetime | None = utc_field(default=None)
