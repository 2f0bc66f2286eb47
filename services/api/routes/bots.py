"""/api/v1/bots: create (scope `create`), list, show and signals (`read`), change, pause, resume and
delete (`admin`). Runs happen on the `bots` queue; these routes only manage configuration and state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from services.api.deps import Admin, Creator, Db, Reader
from services.api.lookups import row_id
from services.api.schemas_bots import BotChanges, BotIn, BotOut, SignalOut
from services.api.strict import QueryId
from services.bots import admin

router = APIRouter(prefix="/api/v1/bots", tags=["bots"])
State = Literal["idle", "running", "waiting", "paused_daily_limit", "paused", "error"]
Outcome = Literal["traded", "no_trade", "skipped", "paused", "error"]


@router.post("", response_model=BotOut, status_code=201)
def create(body: BotIn, db: Db, caller: Creator) -> BotOut:
    """A new bot, checked (strategy and parameters, sizing, portfolio, instrument); 422 says what is wrong."""
    view = admin.create_bot(session=db, fields=body.model_dump(exclude_none=True), by=caller.name, now=_now())
    return BotOut.of(view)


@router.get("", response_model=list[BotOut])
def bots(db: Db, _: Reader, state: State | None = None, portfolio_id: QueryId = None) -> list[BotOut]:
    """Every bot with its state, filtered by state and portfolio."""
    return [BotOut.of(view) for view in admin.list_bots(session=db, state=state, portfolio_id=portfolio_id)]


@router.get("/{bot_id}", response_model=BotOut)
def bot(bot_id: int, db: Db, _: Reader) -> BotOut:
    return BotOut.of(admin.get_bot(session=db, bot_id=row_id("bot", bot_id)))


@router.put("/{bot_id}", response_model=BotOut)
def change(bot_id: int, body: BotChanges, db: Db, _: Admin) -> BotOut:
    """Change some settings; the state and the position stay."""
    changes = body.model_dump(exclude_unset=True)
    return BotOut.of(admin.update_bot(session=db, bot_id=row_id("bot", bot_id), changes=changes, now=_now()))


@router.delete("/{bot_id}", status_code=204)
def delete(bot_id: int, db: Db, _: Admin) -> Response:
    """The bot, its state and signals; the orders it placed stay with the portfolio."""
    admin.delete_bot(session=db, bot_id=row_id("bot", bot_id))
    return Response(status_code=204)


@router.post("/{bot_id}/pause", response_model=BotOut)
def pause(bot_id: int, db: Db, caller: Admin) -> BotOut:
    """Paused by an operator: no runs, and the daily reset does not wake it."""
    return BotOut.of(admin.pause_bot(session=db, bot_id=row_id("bot", bot_id), by=caller.name, now=_now()))


@router.post("/{bot_id}/resume", response_model=BotOut)
def resume(bot_id: int, db: Db, _: Admin) -> BotOut:
    """Back to idle from a pause (operator's or a daily limit's) or an error."""
    return BotOut.of(admin.resume_bot(session=db, bot_id=row_id("bot", bot_id), now=_now()))


@router.get("/{bot_id}/signals", response_model=list[SignalOut])
def signals(
    bot_id: int,
    db: Db,
    _: Reader,
    outcome: Outcome | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SignalOut]:
    """The bot's signals, newest first: every run's inputs, decision, reason and order."""
    found = admin.list_signals(session=db, bot_id=row_id("bot", bot_id), limit=limit, outcome=outcome)
    return [SignalOut.model_validate(signal) for signal in found]


def _now() -> datetime:
    return datetime.now(UTC)
