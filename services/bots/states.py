"""A bot's states and a run's outcomes: one vocabulary for the tables, the API and the metrics."""

from __future__ import annotations

from enum import StrEnum


class BotStatus(StrEnum):
    IDLE = "idle"  # created, or its last run placed an order
    RUNNING = "running"  # a run holds its lock
    WAITING = "waiting"  # its last run found no signal (or nothing it could trade)
    PAUSED_DAILY_LIMIT = "paused_daily_limit"  # max trades, max daily loss or the profit target: until 00:00 UTC
    PAUSED = "paused"  # by an operator, until resumed
    ERROR = "error"  # its last run failed; the message says why


PAUSED_STATES = frozenset({BotStatus.PAUSED.value, BotStatus.PAUSED_DAILY_LIMIT.value})


class RunOutcome(StrEnum):
    TRADED = "traded"  # placed an order (accepted by the orders service)
    NO_TRADE = "no_trade"  # decided, placed nothing (hold, refused by sizing, rejected, halted)
    SKIPPED = "skipped"  # another run holds the lock, the tick already ran, or the bot is paused/inactive
    PAUSED = "paused"  # a daily limit paused the bot
    ERROR = "error"  # the run failed


class RunAction(StrEnum):
    """A signal row's action: the strategy's (buy, sell, hold) or the run's own."""

    BUY = "buy"
    SELL = "sell"
    HOLD = "hold"
    SKIPPED = "skipped"
    PAUSED = "paused"
    ERROR = "error"
