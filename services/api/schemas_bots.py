"""Request and response bodies of /api/v1/bots."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from services.api.amounts import Money, Percent
from services.api.strict import PRINTABLE, JsonBool
from services.bots.admin import BotView
from services.bots.strategies import STRATEGIES
from services.contract.fields import Id, Symbol, json_number

Cadence = Literal["every_minute", "hourly", "at_close"]
Sizing = Literal["fixed_notional", "equity_share", "risk_per_trade"]


def _registered(name: str) -> str:
    if name not in STRATEGIES:
        raise ValueError(f"not one of {sorted(STRATEGIES)}")
    return name


# The strategies services/bots/strategies.py registers, listed in the schema.
Strategy = Annotated[str, WithJsonSchema({"type": "string", "enum": sorted(STRATEGIES)}), AfterValidator(_registered)]
Interval = Literal["1m", "5m", "15m", "1h", "1d", "1wk"]


class BotChanges(BaseModel):
    """Some of a bot's settings (PUT): only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100, pattern=PRINTABLE)
    portfolio_id: Id | None = None
    symbol: Symbol | None = None
    strategy: Strategy | None = Field(None, description="a registered strategy, e.g. ema_crossover_rsi")
    params: dict[str, Any] | None = None
    bar_interval: Interval | None = None
    bars_needed: Annotated[int, Field(ge=2, le=5000), BeforeValidator(json_number)] | None = None
    cadence: Cadence | None = None
    market_hours_only: JsonBool | None = None
    sizing_mode: Sizing | None = None
    sizing_value: Money | None = Field(None, description="money for fixed_notional, else a fraction")
    capital: Money | None = None
    stop_loss_pct: Percent | None = None
    take_profit_pct: Percent | None = None
    trailing_stop_pct: Percent | None = None
    max_trades_per_day: Annotated[int, Field(ge=1, le=10_000), BeforeValidator(json_number)] | None = None
    max_daily_loss_pct: Percent | None = None
    daily_profit_target_pct: Percent | None = None
    active: JsonBool | None = None


class BotIn(BotChanges):
    """A new bot (POST). Percentages in percent (2 = 2 %)."""

    name: str = Field(min_length=1, max_length=100, pattern=PRINTABLE)
    portfolio_id: Id
    symbol: Symbol
    strategy: Strategy = "ema_crossover_rsi"
    params: dict[str, Any] = Field(default_factory=dict)


class BotOut(BaseModel):
    """A bot: its configuration and its state."""

    id: int
    name: str
    portfolio_id: int
    symbol: str
    strategy: str
    params: dict[str, Any]
    bar_interval: str
    bars_needed: int
    cadence: str
    market_hours_only: bool
    sizing_mode: str
    sizing_value: Decimal
    capital: Decimal
    stop_loss_pct: Decimal | None
    take_profit_pct: Decimal | None
    trailing_stop_pct: Decimal | None
    max_trades_per_day: int | None
    max_daily_loss_pct: Decimal | None
    daily_profit_target_pct: Decimal | None
    active: bool
    created_at: datetime
    updated_at: datetime
    created_by: str
    # State.
    state: str
    message: str | None
    running_since: datetime | None
    last_run_at: datetime | None
    runs: int
    in_position: bool
    entry_price: Decimal | None
    position_size: Decimal
    entry_order_id: int | None
    exit_order_id: int | None
    counters_day: date | None
    daily_trades: int
    daily_pnl: Decimal
    total_pnl: Decimal

    @classmethod
    def of(cls, view: BotView) -> BotOut:
        state = view.state.model_dump(exclude={"bot_id", "updated_at", "run_token", "last_tick"})
        return cls(**view.bot.model_dump(), **state)


class SignalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    bot_id: int
    at: datetime
    tick: datetime | None
    task_id: str | None
    action: str
    outcome: str
    reason: str
    bar_time: datetime | None
    indicators: dict[str, Any]
    price: Decimal | None
    quantity: Decimal | None
    order_id: int | None
