"""reset_daily_bot_counters (00:00 UTC): the day's counters to zero, and bots paused by a daily
limit running again. Bots an operator paused stay paused. Setting zero twice is the same: idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import update
from sqlmodel import Session, col

from services.bots.states import BotStatus
from services.storage.models import BotState


@dataclass(frozen=True)
class DailyReset:
    reset: int
    reactivated: int

    def summary(self) -> str:
        return f"counters reset on {self.reset} bots, {self.reactivated} paused by a daily limit reactivated"


def reset_daily_bot_counters(*, session: Session, now: datetime) -> DailyReset:
    """Zero every bot's daily trades and P&L for the UTC day of `now`; the caller commits."""
    reactivated = session.execute(
        update(BotState)
        .where(col(BotState.state) == BotStatus.PAUSED_DAILY_LIMIT.value)
        .values(state=BotStatus.IDLE.value, message=None, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    reset = session.execute(
        update(BotState)
        .values(daily_trades=0, daily_pnl=Decimal(0), counters_day=now.date())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return DailyReset(reset, reactivated)
