"""run_all_bots: one `run_bot` per active bot whose cadence is due at this tick.

Keyed by bot and tick: each message's id is `run_bot-<bot id>-<tick>` and it carries the tick, so a
redelivered fan-out (or a second scheduler) publishes the same ids again, and each bot's run of that
tick runs once: the run lock refuses a tick the bot has completed (services/bots/locks.py), and the
task ledger keeps one row per message id.

Cadences, at a tick (the minute the scheduler fired, UTC):
    every_minute   every tick
    hourly         ticks at minute 0
    at_close       the tick of the NYSE session's close (16:00 ET, 13:00 on early closes)
`market_hours_only` further needs NYSE regular hours open at the tick (equities); crypto bots leave
it off and run around the clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sqlmodel import Session, col, func, select

from services.bots.states import PAUSED_STATES
from services.scheduling.market_hours import NEW_YORK, NYSE, NyseCalendar, Phase
from services.storage.db import SessionFactory
from services.storage.models import Bot, BotState

SEND_BATCH = 500


@dataclass(frozen=True)
class BotRun:
    """One run_bot message to send."""

    bot_id: int
    tick: datetime

    @property
    def message_id(self) -> str:
        return f"run_bot-{self.bot_id}-{self.tick.strftime('%Y%m%dT%H%MZ')}"


class Census(Protocol):
    """Where the fan-out reports bots by state and their P&L (services/bots/metrics.py)."""

    def census(self, by_state: Mapping[str, int], daily_pnl: Decimal, total_pnl: Decimal) -> None: ...


class RunSender(Protocol):
    """Publishes run_bot messages with the given ids (the actor binds the client's send_many)."""

    def __call__(self, runs: Sequence[BotRun]) -> None: ...


@dataclass(frozen=True)
class FanOut:
    tick: datetime
    sent: int
    active: int

    def summary(self) -> str:
        return f"tick {self.tick.isoformat()}: {self.sent} of {self.active} active bots due, runs sent"


def tick_of(moment: datetime) -> datetime:
    """The minute a moment belongs to (seconds dropped): a redelivery computes the same tick."""
    return moment.replace(second=0, microsecond=0)


def is_due(cadence: str, market_hours_only: bool, tick: datetime, calendar: NyseCalendar = NYSE) -> bool:
    if market_hours_only and calendar.phase(tick) != Phase.REGULAR:
        return False
    if cadence == "every_minute":
        return True
    if cadence == "hourly":
        return tick.minute == 0
    if cadence == "at_close":
        session = calendar.session(tick.astimezone(NEW_YORK).date())
        return session is not None and tick_of(session.closes) == tick
    return False


def due_bots(*, session: Session, tick: datetime, calendar: NyseCalendar = NYSE) -> tuple[list[int], int]:
    """(the active bots due at `tick`, how many are active)."""
    rows = session.exec(
        select(Bot.id, Bot.cadence, Bot.market_hours_only)
        .join(BotState, col(BotState.bot_id) == col(Bot.id))
        .where(col(Bot.active).is_(True), col(BotState.state).not_in(PAUSED_STATES))
        .order_by(col(Bot.id))
    ).all()
    due = [bot_id for bot_id, cadence, hours in rows if bot_id is not None and is_due(cadence, hours, tick, calendar)]
    return due, len(rows)


def count_bots(*, session: Session) -> tuple[dict[str, int], Decimal, Decimal]:
    """Bots by state, and the daily and total P&L of them all."""
    by_state = dict(session.exec(select(BotState.state, func.count()).group_by(col(BotState.state))).all())
    daily, total = session.exec(select(func.sum(BotState.daily_pnl), func.sum(BotState.total_pnl))).one()
    return by_state, Decimal(daily or 0), Decimal(total or 0)


def run_all_bots(
    *,
    session_factory: SessionFactory,
    at: datetime,
    send_runs: RunSender,
    calendar: NyseCalendar = NYSE,
    census: Census | None = None,
) -> FanOut:
    """Send one run per due bot for the tick of `at` (the scheduled time of this fan-out)."""
    tick = tick_of(at)
    with session_factory() as session:
        due, active = due_bots(session=session, tick=tick, calendar=calendar)
        if census is not None:
            census.census(*count_bots(session=session))
    runs = [BotRun(bot_id, tick) for bot_id in due]
    for start in range(0, len(runs), SEND_BATCH):
        send_runs(runs[start : start + SEND_BATCH])
    return FanOut(tick, len(runs), active)
