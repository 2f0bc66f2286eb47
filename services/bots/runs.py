"""run_bot: one run of one bot — lock, follow the position, limits, signal, size, place, record.

Three short transactions: take the lock (services/bots/locks.py; refused: a `skipped` signal and
done), the run itself (everything it decides and places commits together with its signal row and
the lock's release), and, if the run failed, the `error` state with the message (lock released, the
tick left undone so that a retry runs it). A configuration error (BotConfigInvalid) is raised not to
be retried; any other error (a rejected request, the database) is raised for the actor's retries.

Orders go only through the orders service (`place_order`): an entry is a market buy, a bracket
(take-profit limit + stop-loss stop) when the bot sets both; a trailing stop, when set, is placed as
the position's exit once the entry has filled; the strategy's sell cancels the open exits, then
sells the position at market. Client order ids are `bot<id>-<tick or run>-<leg>`, so a retried run
of a tick finds the order it placed instead of placing another.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from sqlmodel import Session, select

from services.bots.config import check_config
from services.bots.errors import BotConfigInvalid, BotNotFound
from services.bots.locks import Refusal, claim_run, hold_run, release
from services.bots.market import rules_for, stored_bars
from services.bots.positions import Followed, follow_position
from services.bots.sizing import (
    HUNDRED,
    SizingInvalid,
    bracket_prices,
    normalise_quantity,
    size_position,
)
from services.bots.states import BotStatus, RunAction, RunOutcome
from services.bots.strategies import STRATEGIES, Signal, SignalAction, StrategyBar
from services.storage.db import SessionFactory
from services.storage.models import Bot, BotState, Instrument, Order, TradingSignal
from services.trading.kill_switch import halted_reason
from services.trading.model import OrderTerms, OrderType, Side, TimeInForce
from services.trading.placing import OrderRequest, Placed, cancel_order

ZERO = Decimal(0)


class Clock(Protocol):
    def __call__(self) -> datetime: ...


class OrderPlacer(Protocol):
    """services.trading.placing.place_order with its fees and calendar bound."""

    def __call__(self, *, session: Session, request: OrderRequest, placed_by: str, now: datetime) -> Placed: ...


class BarsReader(Protocol):
    def __call__(self, *, session: Session, instrument_id: int, interval: str, limit: int) -> list[StrategyBar]: ...


class RunObserver(Protocol):
    """Where a run's outcome goes besides its signal row (services/bots/metrics.py)."""

    def run_finished(self, outcome: str, action: str) -> None: ...


class NoObserver:
    def run_finished(self, outcome: str, action: str) -> None:
        return None


@dataclass
class RunResult:
    """What one run did (its signal row says the same, with the indicator values)."""

    bot_id: int
    outcome: RunOutcome
    action: RunAction
    reason: str
    order_id: int | None = None
    signal_id: int | None = None
    indicators: dict[str, float | None] = field(default_factory=dict)

    def summary(self) -> str:
        order = f", order {self.order_id}" if self.order_id else ""
        return f"bot {self.bot_id}: {self.outcome.value} ({self.action.value}: {self.reason}){order}"


@dataclass
class _Decision:
    outcome: RunOutcome
    action: RunAction
    reason: str
    status: BotStatus
    signal: Signal | None = None
    price: Decimal | None = None
    quantity: Decimal | None = None
    order_id: int | None = None


def run_bot(
    *,
    session_factory: SessionFactory,
    bot_id: int,
    place_order: OrderPlacer,
    clock: Clock,
    tick: datetime | None = None,
    task_id: str | None = None,
    read_bars: BarsReader = stored_bars,
    observer: RunObserver | None = None,
    stale_after: timedelta = timedelta(minutes=10),
) -> RunResult:
    """One run of bot `bot_id` (for fan-out `tick`, or by hand when None); see the module docstring."""
    observer = observer or NoObserver()
    token, started = uuid.uuid4().hex, clock()
    with session_factory() as session:
        claim = claim_run(session=session, bot_id=bot_id, token=token, now=started, tick=tick, stale_after=stale_after)
    if not claim.taken:
        if claim.refused == Refusal.MISSING:
            raise BotNotFound(f"no bot {bot_id}")
        assert claim.refused is not None
        reason = f"{claim.refused.value}: {claim.detail}" if claim.detail else str(claim.refused)
        skipped = _Decision(RunOutcome.SKIPPED, RunAction.SKIPPED, reason, BotStatus.IDLE)
        with session_factory() as session:
            signal_id = _record(session, bot_id, skipped, started, tick, task_id)
        observer.run_finished(skipped.outcome.value, skipped.action.value)
        return RunResult(bot_id, skipped.outcome, skipped.action, reason, signal_id=signal_id)
    try:
        with session_factory() as session:
            now = clock()
            state = hold_run(session=session, bot_id=bot_id, token=token, now=now)
            if state is None:  # taken over as stale while this run was slow: the other run decides
                decision = _Decision(RunOutcome.SKIPPED, RunAction.SKIPPED, "lock taken over", BotStatus.RUNNING)
                return RunResult(bot_id, decision.outcome, decision.action, decision.reason)
            bot = session.get(Bot, bot_id)
            assert bot is not None
            decision = _decide(session, bot, state, now, tick, token, place_order, read_bars)
            release(state, status=decision.status, message=_message(decision), now=now, tick=tick)
            session.add(state)
            signal_id = _record(session, bot_id, decision, now, tick, task_id)
    except Exception as error:
        _record_error(session_factory, bot_id, token, clock(), tick, task_id, error)
        observer.run_finished(RunOutcome.ERROR.value, RunAction.ERROR.value)
        raise
    observer.run_finished(decision.outcome.value, decision.action.value)
    indicators = decision.signal.indicators if decision.signal else {}
    return RunResult(
        bot_id, decision.outcome, decision.action, decision.reason, decision.order_id, signal_id, indicators
    )


def _decide(
    session: Session,
    bot: Bot,
    state: BotState,
    now: datetime,
    tick: datetime | None,
    token: str,
    place_order: OrderPlacer,
    read_bars: BarsReader,
) -> _Decision:
    check_config(bot)
    instrument = session.exec(select(Instrument).where(Instrument.symbol == bot.symbol)).first()
    if instrument is None or instrument.id is None:
        raise BotConfigInvalid(f"bot {bot.id}: no instrument {bot.symbol!r}")
    followed = follow_position(session=session, state=state)
    limit = _daily_limit(bot, state)
    if limit is not None:
        return _Decision(RunOutcome.PAUSED, RunAction.PAUSED, limit, BotStatus.PAUSED_DAILY_LIMIT)
    if followed.pending_entry:
        return _Decision(RunOutcome.NO_TRADE, RunAction.HOLD, "entry order still working", BotStatus.WAITING)
    key = f"bot{bot.id}-{tick.strftime('%Y%m%dT%H%M') if tick else token[:12]}"
    if state.in_position and bot.trailing_stop_pct is not None and not followed.open_exits:
        trailing = _place_trailing_stop(session, bot, state, now, key, place_order)
        followed = Followed(open_exits=(trailing,)) if trailing is not None else followed
    bars = read_bars(session=session, instrument_id=instrument.id, interval=bot.bar_interval, limit=bot.bars_needed)
    if not bars:
        return _Decision(RunOutcome.NO_TRADE, RunAction.HOLD, f"no {bot.bar_interval} bars stored", BotStatus.WAITING)
    signal = STRATEGIES[bot.strategy](bars, bot.params, state.in_position)
    price = instrument.last_price or bars[-1].close
    wants_order = (signal.action == SignalAction.BUY) != state.in_position and signal.action != SignalAction.HOLD
    # The risk manager's halt, asked only when an order would follow (most runs hold).
    halted = halted_reason(session=session, portfolio_id=bot.portfolio_id) if wants_order else None
    if halted is not None:
        reason = f"{signal.reason}; not placed: trading halted: {halted}"
        return _Decision(RunOutcome.NO_TRADE, RunAction(signal.action.value), reason, BotStatus.WAITING, signal, price)
    if signal.action == SignalAction.BUY and not state.in_position:
        return _enter(session, bot, state, instrument, signal, price, now, key, place_order)
    if signal.action == SignalAction.SELL and state.in_position:
        return _exit(session, bot, state, followed, signal, price, now, key, place_order)
    closed = f"; {followed.closed_by} filled, P&L {followed.realized}" if followed.closed_by else ""
    return _Decision(RunOutcome.NO_TRADE, RunAction.HOLD, signal.reason + closed, BotStatus.WAITING, signal, price)


def _daily_limit(bot: Bot, state: BotState) -> str | None:
    """Why the bot must stop for today, or None."""
    if bot.max_trades_per_day is not None and state.daily_trades >= bot.max_trades_per_day:
        return f"max trades per day reached ({state.daily_trades} of {bot.max_trades_per_day})"
    if bot.max_daily_loss_pct is not None and state.daily_pnl <= -bot.capital * bot.max_daily_loss_pct / HUNDRED:
        return f"daily loss {state.daily_pnl} beyond {bot.max_daily_loss_pct} % of capital {bot.capital}"
    target = bot.daily_profit_target_pct
    if target is not None and state.daily_pnl >= bot.capital * target / HUNDRED:
        return f"daily profit target reached: {state.daily_pnl} >= {target} % of capital {bot.capital}"
    return None


def _time_in_force(instrument: Instrument) -> TimeInForce:
    # Crypto trades around the clock: a GTC entry; an equity entry lives for the session.
    return TimeInForce.GTC if instrument.asset_class == "crypto" else TimeInForce.DAY


def _enter(
    session: Session,
    bot: Bot,
    state: BotState,
    instrument: Instrument,
    signal: Signal,
    price: Decimal,
    now: datetime,
    key: str,
    place_order: OrderPlacer,
) -> _Decision:
    rules = rules_for(session=session, instrument=instrument)
    try:
        wanted = size_position(
            mode=bot.sizing_mode,
            value=bot.sizing_value,
            equity=bot.capital + state.total_pnl,
            price=price,
            stop_loss_pct=bot.stop_loss_pct,
        )
    except SizingInvalid as error:
        raise BotConfigInvalid(f"bot {bot.id}: {error}") from None
    sized = normalise_quantity(wanted, price, rules)
    if sized.refused is not None:
        reason = f"{signal.reason}; not placed: {sized.refused} ({sized.quantity} at {price})"
        return _Decision(RunOutcome.NO_TRADE, RunAction.BUY, reason, BotStatus.WAITING, signal, price, sized.quantity)
    stop, target = bracket_prices(price, rules, bot.stop_loss_pct, bot.take_profit_pct)
    terms = OrderTerms(Side.BUY, OrderType.MARKET, sized.quantity, time_in_force=_time_in_force(instrument))
    request = OrderRequest(bot.portfolio_id, bot.symbol, terms, f"{key}-entry", take_profit=target, stop_loss=stop)
    placed = place_order(session=session, request=request, placed_by=f"bot:{bot.id}", now=now)
    return _placed(state, placed, RunAction.BUY, signal, price, sized.quantity, entry=True)


def _exit(
    session: Session,
    bot: Bot,
    state: BotState,
    followed: Followed,
    signal: Signal,
    price: Decimal,
    now: datetime,
    key: str,
    place_order: OrderPlacer,
) -> _Decision:
    for exit_order in followed.open_exits:  # the bracket legs or trailing stop hold the position: free it
        if exit_order.id is not None:
            cancel_order(
                session=session, order_id=exit_order.id, now=now, reason=f"bot {bot.id} exits: {signal.reason}"
            )
    terms = OrderTerms(Side.SELL, OrderType.MARKET, state.position_size, time_in_force=TimeInForce.GTC)
    request = OrderRequest(bot.portfolio_id, bot.symbol, terms, f"{key}-exit")
    placed = place_order(session=session, request=request, placed_by=f"bot:{bot.id}", now=now)
    return _placed(state, placed, RunAction.SELL, signal, price, state.position_size, entry=False)


def _place_trailing_stop(
    session: Session,
    bot: Bot,
    state: BotState,
    now: datetime,
    key: str,
    place_order: OrderPlacer,
) -> Order | None:
    terms = OrderTerms(
        Side.SELL,
        OrderType.TRAILING_STOP,
        state.position_size,
        trail_percent=bot.trailing_stop_pct,
        time_in_force=TimeInForce.GTC,
    )
    request = OrderRequest(bot.portfolio_id, bot.symbol, terms, f"{key}-trail")
    placed = place_order(session=session, request=request, placed_by=f"bot:{bot.id}", now=now)
    if placed.rejected:
        return None
    state.exit_order_id = placed.order.id
    return placed.order


def _placed(
    state: BotState,
    placed: Placed,
    action: RunAction,
    signal: Signal,
    price: Decimal,
    quantity: Decimal,
    *,
    entry: bool,
) -> _Decision:
    order: Order = placed.order
    if placed.rejected:
        reason = f"{signal.reason}; order {order.id} rejected: {order.reason}"
        return _Decision(RunOutcome.NO_TRADE, action, reason, BotStatus.WAITING, signal, price, quantity, order.id)
    if entry:
        state.entry_order_id, state.exit_order_id = order.id, None
    else:
        state.exit_order_id = order.id
    if placed.created:
        state.daily_trades += 1
    legs = f" with {len(placed.children)} bracket legs" if placed.children else ""
    reason = f"{signal.reason}; order {order.id} placed{legs}"
    return _Decision(RunOutcome.TRADED, action, reason, BotStatus.IDLE, signal, price, quantity, order.id)


def _message(decision: _Decision) -> str | None:
    return decision.reason[:500] if decision.status in (BotStatus.PAUSED_DAILY_LIMIT, BotStatus.ERROR) else None


def _record(
    session: Session, bot_id: int, decision: _Decision, at: datetime, tick: datetime | None, task_id: str | None
) -> int | None:
    signal = decision.signal
    row = TradingSignal(
        bot_id=bot_id,
        at=at,
        tick=tick,
        task_id=task_id,
        action=decision.action.value,
        outcome=decision.outcome.value,
        reason=decision.reason[:500],
        bar_time=signal.bar_time if signal else None,
        indicators=dict(signal.indicators) if signal else {},
        price=decision.price,
        quantity=decision.quantity,
        order_id=decision.order_id,
    )
    session.add(row)
    session.flush()
    return row.id


def _record_error(
    session_factory: SessionFactory,
    bot_id: int,
    token: str,
    now: datetime,
    tick: datetime | None,
    task_id: str | None,
    error: Exception,
) -> None:
    message = f"{type(error).__name__}: {error}"[:500]
    with session_factory() as session:
        state = hold_run(session=session, bot_id=bot_id, token=token, now=now)
        if state is not None:
            release(state, status=BotStatus.ERROR, message=message, now=now, tick=None)  # the tick stays undone
            session.add(state)
        failed = _Decision(RunOutcome.ERROR, RunAction.ERROR, message, BotStatus.ERROR)
        _record(session, bot_id, failed, now, tick, task_id)
