"""One run per bot at a time: the run lock is `bot_states.running_since`, taken without waiting.

Taking it is one short transaction of its own, committed before the run starts, so every other
worker sees it at once:
- PostgreSQL: `SELECT ... FOR UPDATE NOWAIT` on the bot's state row (a second run that finds the row
  locked gives up at once, as TradeBot's `with_for_update(nowait=True)`), then the conditional
  UPDATE below;
- SQLite (and PostgreSQL after the row lock): `UPDATE bot_states SET running_since = now ... WHERE
  running_since IS NULL OR running_since < stale_before` — the database applies it to one writer at a
  time, and only the first finds the column empty, so exactly one run gets `rowcount == 1`.
The run then owns the lock through its `run_token`; it clears both when it ends, however it ends. A
worker killed mid-run leaves `running_since` set: the lock is taken over once older than the
run's time limit (`stale_after`), so a dead run does not block its bot for good.

The same UPDATE refuses a fan-out tick the bot already completed (`last_tick >= tick`), so a
redelivered `run_bot` of a tick is skipped, and refuses paused bots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from services.bots.states import PAUSED_STATES, BotStatus
from services.storage.db import as_utc
from services.storage.models import Bot, BotState


class Refusal(StrEnum):
    ALREADY_RUNNING = "already running"
    TICK_DONE = "already ran for this tick"
    PAUSED = "paused"
    INACTIVE = "inactive"
    MISSING = "no such bot"


@dataclass(frozen=True)
class Claim:
    """The lock taken (refused None), or why not."""

    refused: Refusal | None
    detail: str = ""

    @property
    def taken(self) -> bool:
        return self.refused is None


def claim_run(
    *, session: Session, bot_id: int, token: str, now: datetime, tick: datetime | None, stale_after: timedelta
) -> Claim:
    """Take bot `bot_id`'s run lock for `token` without waiting; the caller commits at once."""
    active = session.exec(select(Bot.active).where(Bot.id == bot_id)).first()
    if active is None:
        return Claim(Refusal.MISSING)
    if not active:
        return Claim(Refusal.INACTIVE)
    if session.get_bind().dialect.name == "postgresql":
        try:
            session.exec(select(BotState.bot_id).where(BotState.bot_id == bot_id).with_for_update(nowait=True))
        except OperationalError:  # lock_not_available: another run is taking or releasing it now
            session.rollback()  # the transaction is aborted; nothing of it is kept
            return Claim(Refusal.ALREADY_RUNNING)
    stale_before = now - stale_after
    conditions: list[Any] = [
        col(BotState.bot_id) == bot_id,
        or_(col(BotState.running_since).is_(None), col(BotState.running_since) < stale_before),
        col(BotState.state).not_in(PAUSED_STATES),
    ]
    if tick is not None:
        conditions.append(or_(col(BotState.last_tick).is_(None), col(BotState.last_tick) < tick))
    claimed = session.execute(
        update(BotState)
        .where(and_(*conditions))
        .values(running_since=now, run_token=token, state=BotStatus.RUNNING.value, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount == 1:  # type: ignore[attr-defined]
        return Claim(None)
    return _why_not(session, bot_id, tick, stale_before)


def _why_not(session: Session, bot_id: int, tick: datetime | None, stale_before: datetime) -> Claim:
    state = session.exec(select(BotState).where(BotState.bot_id == bot_id)).first()
    if state is None:
        return Claim(Refusal.MISSING, "the bot has no state row")
    session.refresh(state)
    if state.state in PAUSED_STATES:
        return Claim(Refusal.PAUSED, state.message or state.state)
    if state.running_since is not None and as_utc(state.running_since) >= stale_before:
        return Claim(Refusal.ALREADY_RUNNING, f"since {as_utc(state.running_since).isoformat()}")
    if tick is not None and state.last_tick is not None and as_utc(state.last_tick) >= tick:
        return Claim(Refusal.TICK_DONE, f"last tick {as_utc(state.last_tick).isoformat()}")
    return Claim(Refusal.ALREADY_RUNNING, "taken meanwhile")


def hold_run(*, session: Session, bot_id: int, token: str, now: datetime) -> BotState | None:
    """Re-enter the lock in the run's own transaction: the state row if `token` still holds it.
    Its UPDATE is the transaction's first statement, so on SQLite the run writes from the start (no
    read-then-upgrade that a concurrent writer could invalidate) and on PostgreSQL the row is locked
    against an operator's pause until the run commits."""
    held = session.execute(
        update(BotState)
        .where(col(BotState.bot_id) == bot_id, col(BotState.run_token) == token)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if held.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(BotState, bot_id)  # a new session: loaded now, after the UPDATE


def release(state: BotState, *, status: str, message: str | None, now: datetime, tick: datetime | None) -> None:
    """End the run on `state` (in the run's transaction): lock cleared, status set, tick done."""
    state.running_since, state.run_token = None, None
    state.state, state.message = status, message
    state.last_run_at, state.updated_at = now, now
    state.runs += 1
    if tick is not None and (state.last_tick is None or as_utc(state.last_tick) < tick):
        state.last_tick = tick
