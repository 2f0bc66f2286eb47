"""Managing bots (the API and the CLI call these): create, change, list, show, pause, resume, delete,
and read their signals. Each takes `session` and does one thing; the caller commits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete as sa_delete
from sqlalchemy import update
from sqlmodel import Session, col, select

from services.bots.config import check_config
from services.bots.errors import BotConfigInvalid, BotNotFound
from services.bots.states import BotStatus
from services.errors import PortfolioNotFound
from services.storage.models import Bot, BotState, Instrument, Portfolio, TradingSignal

# What an operator may set; the rest (ids, timestamps, state) is Tickwork's.
EDITABLE = (
    "name",
    "portfolio_id",
    "symbol",
    "strategy",
    "params",
    "bar_interval",
    "bars_needed",
    "cadence",
    "market_hours_only",
    "sizing_mode",
    "sizing_value",
    "capital",
    "stop_loss_pct",
    "take_profit_pct",
    "trailing_stop_pct",
    "max_trades_per_day",
    "max_daily_loss_pct",
    "daily_profit_target_pct",
    "active",
)


@dataclass(frozen=True)
class BotView:
    """A bot with its state, as the API and the CLI show it."""

    bot: Bot
    state: BotState


def create_bot(*, session: Session, fields: Mapping[str, Any], by: str, now: datetime) -> BotView:
    """A new bot (checked: strategy, parameters, sizing, portfolio, instrument), idle."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise BotConfigInvalid(f"unknown fields {sorted(unknown)}")
    if session.exec(select(Bot.id).where(Bot.name == fields.get("name"))).first() is not None:
        raise BotConfigInvalid(f"a bot named {fields.get('name')!r} exists already")
    bot = _validated({**fields, "created_at": now, "updated_at": now, "created_by": by})
    _check(session, bot)
    session.add(bot)
    session.flush()
    state = BotState(bot_id=bot.id or 0, state=BotStatus.IDLE.value, counters_day=now.date(), updated_at=now)
    session.add(state)
    session.flush()
    return BotView(bot, state)


def update_bot(*, session: Session, bot_id: int, changes: Mapping[str, Any], now: datetime) -> BotView:
    """Change some of a bot's settings (checked as on creation); its state and position stay."""
    view = get_bot(session=session, bot_id=bot_id)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise BotConfigInvalid(f"unknown fields {sorted(unknown)}")
    renamed = "name" in changes and changes["name"] != view.bot.name
    if renamed and session.exec(select(Bot.id).where(Bot.name == changes["name"])).first() is not None:
        raise BotConfigInvalid(f"a bot named {changes['name']!r} exists already")
    merged = _validated({**view.bot.model_dump(), **changes, "updated_at": now})
    _check(session, merged)
    for name in changes:
        setattr(view.bot, name, getattr(merged, name))
    view.bot.updated_at = now
    session.add(view.bot)
    session.flush()
    return view


def get_bot(*, session: Session, bot_id: int) -> BotView:
    bot, state = session.get(Bot, bot_id), session.get(BotState, bot_id)
    if bot is None or state is None:
        raise BotNotFound(f"no bot {bot_id}")
    return BotView(bot, state)


def list_bots(*, session: Session, state: str | None = None, portfolio_id: int | None = None) -> list[BotView]:
    query = select(Bot, BotState).join(BotState, col(BotState.bot_id) == col(Bot.id)).order_by(col(Bot.id))
    if state is not None:
        query = query.where(BotState.state == state)
    if portfolio_id is not None:
        query = query.where(Bot.portfolio_id == portfolio_id)
    return [BotView(bot, bot_state) for bot, bot_state in session.exec(query).all()]


def pause_bot(*, session: Session, bot_id: int, by: str, now: datetime) -> BotView:
    """Paused by an operator: the fan-out leaves it out and the daily reset does not wake it. A run
    under way finishes first (it holds the row until it commits) and leaves the pause in place."""
    get_bot(session=session, bot_id=bot_id)
    session.execute(
        update(BotState)
        .where(col(BotState.bot_id) == bot_id)
        .values(state=BotStatus.PAUSED.value, message=f"paused by {by}"[:500], updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return get_bot(session=session, bot_id=bot_id)


def resume_bot(*, session: Session, bot_id: int, now: datetime) -> BotView:
    """Back to idle from any pause or an error; its next due tick runs it."""
    get_bot(session=session, bot_id=bot_id)
    session.execute(
        update(BotState)
        .where(col(BotState.bot_id) == bot_id, col(BotState.state) != BotStatus.RUNNING.value)
        .values(state=BotStatus.IDLE.value, message=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return get_bot(session=session, bot_id=bot_id)


def delete_bot(*, session: Session, bot_id: int) -> None:
    """The bot, its state and its signals; its orders stay (they are the portfolio's history)."""
    get_bot(session=session, bot_id=bot_id)
    session.execute(sa_delete(TradingSignal).where(col(TradingSignal.bot_id) == bot_id))
    session.execute(sa_delete(BotState).where(col(BotState.bot_id) == bot_id))
    session.execute(sa_delete(Bot).where(col(Bot.id) == bot_id))


def list_signals(*, session: Session, bot_id: int, limit: int = 100, outcome: str | None = None) -> list[TradingSignal]:
    """The bot's newest signals first."""
    get_bot(session=session, bot_id=bot_id)
    query = select(TradingSignal).where(TradingSignal.bot_id == bot_id)
    if outcome is not None:
        query = query.where(TradingSignal.outcome == outcome)
    return list(session.exec(query.order_by(col(TradingSignal.id).desc()).limit(limit)).all())


def _validated(values: Mapping[str, Any]) -> Bot:
    try:
        return Bot.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise BotConfigInvalid(problems) from None


def _check(session: Session, bot: Bot) -> None:
    check_config(bot)
    if session.get(Portfolio, bot.portfolio_id) is None:
        raise PortfolioNotFound(f"no portfolio {bot.portfolio_id}")
    if session.exec(select(Instrument.id).where(Instrument.symbol == bot.symbol)).first() is None:
        raise BotConfigInvalid(f"no instrument {bot.symbol!r} (add it first, e.g. with `tickwork seed-demo`)")
