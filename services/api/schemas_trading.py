"""Request and response bodies of /api/v1/orders and /api/v1/risk."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.contract.fields import Symbol

Price = Decimal | None


class OrderIn(BaseModel):
    """An order to place. `take_profit` and `stop_loss` together make it a bracket."""

    model_config = ConfigDict(extra="forbid")

    portfolio_id: int = Field(ge=1)
    symbol: Symbol
    side: Literal["buy", "sell"]
    type: Literal["market", "limit", "stop", "stop_limit", "trailing_stop"] = "market"
    quantity: Decimal
    limit_price: Price = None
    stop_price: Price = None
    trail_amount: Price = None
    trail_percent: Price = None
    time_in_force: Literal["day", "gtc", "ioc", "fok"] = "day"
    extended_hours: bool = False
    client_order_id: str | None = Field(None, min_length=1, max_length=64, description="idempotency key per portfolio")
    take_profit: Price = None
    stop_loss: Price = None


class OcoIn(BaseModel):
    """Two orders of which the first to fill (or be cancelled) cancels the other."""

    model_config = ConfigDict(extra="forbid")

    first: OrderIn
    second: OrderIn


class FillOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    liquidity: str
    rule: str
    event_at: datetime
    executed_at: datetime
    realized_pnl: Decimal


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    portfolio_id: int
    symbol: str
    instrument_id: int | None
    client_order_id: str
    side: str
    type: str
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    trail_amount: Decimal | None
    trail_percent: Decimal | None
    time_in_force: str
    extended_hours: bool
    state: str
    reason: str | None
    filled_quantity: Decimal
    remaining_quantity: Decimal
    average_fill_price: Decimal | None
    fees_paid: Decimal
    triggered: bool
    water_mark: Decimal | None
    parent_id: int | None
    link_role: str | None
    oco_group: str | None
    expires_at: datetime | None
    placed_at: datetime
    updated_at: datetime
    placed_by: str


class OrderWithFills(OrderOut):
    fills: list[FillOut] = []
    children: list[OrderOut] = []


class RiskLimitsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    portfolio_id: int
    max_drawdown: float | None
    drawdown_sell_share: float
    max_position_weight: float | None
    max_order_value: Decimal | None
    max_daily_loss: Decimal | None
    target_weights: dict[str, float]
    drift_threshold: float
    allow_short: bool
    halted: bool
    halted_by: str | None
    halted_reason: str | None
    halted_at: datetime | None


class RiskLimitsIn(BaseModel):
    """The limits to change; a field left out keeps its value, `null` removes a limit."""

    model_config = ConfigDict(extra="forbid")

    max_drawdown: float | None = Field(None, gt=0, le=1)
    drawdown_sell_share: float | None = Field(None, gt=0, le=1)
    max_position_weight: float | None = Field(None, gt=0, le=1)
    max_order_value: Decimal | None = Field(None, gt=0)
    max_daily_loss: Decimal | None = Field(None, gt=0)
    target_weights: dict[str, float] | None = None
    drift_threshold: float | None = Field(None, gt=0, le=1)
    allow_short: bool | None = None


class HaltIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class KillSwitchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    halted: bool
    reason: str = Field(min_length=1, max_length=500)


class KillSwitchOut(BaseModel):
    halted: bool
    by: str | None
    reason: str | None
    at: datetime | None


class RiskEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    portfolio_id: int | None
    at: datetime
    rule: str
    action: str
    actor: str
    reason: str
    figures: dict[str, Any]
