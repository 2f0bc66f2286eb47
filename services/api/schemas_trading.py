"""Request and response bodies of /api/v1/orders and /api/v1/risk."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from services.api.amounts import Money, Percent, Price, Quantity
from services.api.strict import PRINTABLE, JsonBool
from services.contract.fields import SYMBOL_PATTERN, Id, Symbol, json_number

Reason = Field(min_length=1, max_length=500, pattern=PRINTABLE)
# A share of the portfolio (0.25 is 25 %), from a JSON number.
Fraction = Annotated[float, Field(gt=0, le=1), BeforeValidator(json_number)]
Weight = Annotated[float, Field(ge=0, le=1), BeforeValidator(json_number)]
# pydantic states the keys' pattern as patternProperties, which lets any other key through: say not.
_WEIGHTS_SCHEMA = {
    "type": "object",
    "patternProperties": {SYMBOL_PATTERN: {"type": "number", "minimum": 0, "maximum": 1}},
    "additionalProperties": False,
    "description": "target weight per symbol (0.25 is 25 %)",
}
Weights = Annotated[dict[Symbol, Weight], WithJsonSchema(_WEIGHTS_SCHEMA)]


class OrderIn(BaseModel):
    """An order to place. `take_profit` and `stop_loss` together make it a bracket."""

    model_config = ConfigDict(extra="forbid")

    portfolio_id: Id
    symbol: Symbol
    side: Literal["buy", "sell"]
    type: Literal["market", "limit", "stop", "stop_limit", "trailing_stop"] = "market"
    quantity: Quantity
    limit_price: Price | None = None
    stop_price: Price | None = None
    trail_amount: Price | None = None
    trail_percent: Percent | None = None
    time_in_force: Literal["day", "gtc", "ioc", "fok"] = "day"
    extended_hours: JsonBool = False
    client_order_id: str | None = Field(
        None, min_length=1, max_length=64, pattern=PRINTABLE, description="idempotency key per portfolio"
    )
    take_profit: Price | None = None
    stop_loss: Price | None = None


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

    max_drawdown: Fraction | None = None
    drawdown_sell_share: Fraction | None = None
    max_position_weight: Fraction | None = None
    max_order_value: Money | None = None
    max_daily_loss: Money | None = None
    target_weights: Weights | None = None
    drift_threshold: Fraction | None = None
    allow_short: JsonBool | None = None


class HaltIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Reason


class KillSwitchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    halted: JsonBool
    reason: str = Reason


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
