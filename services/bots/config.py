"""Checking a bot's configuration: what would make every run fail is refused when saved, and again
when run (a configuration edited under a running bot). A failure is BotConfigInvalid: not retried."""

from __future__ import annotations

from decimal import Decimal

from services.bots.errors import BotConfigInvalid
from services.bots.sizing import SizingMode
from services.bots.strategies import STRATEGIES
from services.bots.strategies.base import StrategyParamsInvalid
from services.storage.models import Bot

CADENCES = ("every_minute", "hourly", "at_close")
BAR_INTERVALS = ("1m", "5m", "15m", "1h", "1d", "1wk")
HUNDRED = Decimal(100)


def check_config(bot: Bot) -> None:
    """Raise BotConfigInvalid naming the first field that cannot work."""
    if bot.strategy not in STRATEGIES:
        raise BotConfigInvalid(f"strategy {bot.strategy!r} is not one of {sorted(STRATEGIES)}")
    if bot.cadence not in CADENCES:
        raise BotConfigInvalid(f"cadence {bot.cadence!r} is not one of {list(CADENCES)}")
    if bot.bar_interval not in BAR_INTERVALS:
        raise BotConfigInvalid(f"bar_interval {bot.bar_interval!r} is not one of {list(BAR_INTERVALS)}")
    if not 2 <= bot.bars_needed <= 5000:
        raise BotConfigInvalid("bars_needed must be from 2 to 5000")
    if bot.sizing_mode not in {m.value for m in SizingMode}:
        raise BotConfigInvalid(f"sizing_mode {bot.sizing_mode!r} is not one of {[m.value for m in SizingMode]}")
    if bot.sizing_value <= 0 or bot.capital <= 0:
        raise BotConfigInvalid("sizing_value and capital must be positive")
    if bot.sizing_mode != SizingMode.FIXED_NOTIONAL and bot.sizing_value > 1:
        raise BotConfigInvalid(f"{bot.sizing_mode} takes a fraction of capital (0.1 for 10 %), not {bot.sizing_value}")
    if bot.sizing_mode == SizingMode.RISK_PER_TRADE and not bot.stop_loss_pct:
        raise BotConfigInvalid("risk_per_trade sizing needs stop_loss_pct (the stop distance)")
    for name in ("stop_loss_pct", "take_profit_pct", "trailing_stop_pct", "max_daily_loss_pct"):
        value = getattr(bot, name)
        if value is not None and not 0 < value < HUNDRED:
            raise BotConfigInvalid(f"{name} must be a percentage between 0 and 100, not {value}")
    if bot.daily_profit_target_pct is not None and bot.daily_profit_target_pct <= 0:
        raise BotConfigInvalid("daily_profit_target_pct must be positive")
    # The orders service's brackets carry both legs; a trailing stop is the alternative exit.
    if (bot.stop_loss_pct is None) != (bot.take_profit_pct is None):
        raise BotConfigInvalid("stop_loss_pct and take_profit_pct go together (a bracket has both legs)")
    if bot.trailing_stop_pct is not None and bot.stop_loss_pct is not None:
        raise BotConfigInvalid("a trailing stop replaces the bracket: set trailing_stop_pct or stop_loss/take_profit")
    if bot.max_trades_per_day is not None and bot.max_trades_per_day < 1:
        raise BotConfigInvalid("max_trades_per_day must be at least 1")
    try:  # parameters the strategy cannot use: its own check, on no bars
        STRATEGIES[bot.strategy]([], bot.params, False)
    except StrategyParamsInvalid as error:
        raise BotConfigInvalid(f"params: {error}") from None
