"""Trading bot actors (queue `bots`): one run of one bot, the every-minute fan-out, the daily reset.

Failure policy (task class `default`: 300 s, 3 retries exponential from 60 s with jitter): a run that
fails (an order request the orders service cannot take, the database) leaves its bot in `error` with
the message and is retried; a bad configuration (BotConfigInvalid, BotNotFound) is not. Idempotent:
- run_bot: one run per bot at a time (a run lock taken without waiting) and one completed run per
  fan-out tick; a retried run reuses its client order ids, so the orders service places nothing twice.
- run_all_bots: its run_bot messages are keyed by bot and tick (message id `run_bot-<bot>-<tick>`),
  the tick being the scheduled minute, so a redelivered fan-out starts no bot twice.
- reset_daily_bot_counters: sets counters to zero; twice is the same.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from dramatiq.middleware import CurrentMessage

from actors.broker import settings
from actors.declare import contract_actor
from services.bots.daily import reset_daily_bot_counters as reset_counters
from services.bots.fanout import RunSender
from services.bots.fanout import run_all_bots as fan_out
from services.bots.metrics import bot_metrics
from services.bots.runs import run_bot as run_one
from services.bots.wiring import client_sender, orders_service
from services.storage.db import session_factory, session_scope
from services.trading.composition import fee_schedule

_lock = threading.Lock()
_sender: RunSender | None = None


def _run_sender() -> RunSender:
    """The process's client for run_bot messages, opened on first use (after the worker forked); its
    connection ends with the process."""
    global _sender
    with _lock:
        if _sender is None:
            from services.engine.client import TickworkClient

            _sender = client_sender(TickworkClient(settings=settings, ledger=session_factory(settings.database_url)))
        return _sender


def _message_time() -> datetime:
    """The fan-out's scheduled minute (the scheduler's stamp), else when the message was sent: the
    same for every delivery of one message."""
    message = CurrentMessage.get_current_message()
    if message is None:
        return datetime.now(UTC)
    scheduled = message.options.get("scheduled_at")
    if scheduled:
        return datetime.fromisoformat(scheduled).astimezone(UTC)
    return datetime.fromtimestamp(message.message_timestamp / 1000, UTC)


@contract_actor
def run_bot(bot_id: int, tick: datetime | str | None = None) -> str:
    """One run of the bot: lock, position, limits, signal, order, state; every run leaves a signal."""
    message = CurrentMessage.get_current_message()
    return run_one(
        session_factory=session_factory(settings.database_url),
        bot_id=bot_id,
        # Messages carry the tick as an ISO string (JSON has no datetime type); validation has checked it.
        tick=(datetime.fromisoformat(tick) if isinstance(tick, str) else tick).astimezone(UTC) if tick else None,
        task_id=message.message_id if message else None,
        place_order=orders_service(fees=fee_schedule(settings)),
        clock=lambda: datetime.now(UTC),
        observer=bot_metrics(),
    ).summary()


@contract_actor
def run_all_bots() -> str:
    """One run_bot per active bot whose cadence is due at this minute, keyed by bot and tick."""
    return fan_out(
        session_factory=session_factory(settings.database_url),
        at=_message_time(),
        send_runs=_run_sender(),
        census=bot_metrics(),
    ).summary()


@contract_actor
def reset_daily_bot_counters() -> str:
    """00:00 UTC: daily counters to zero; bots paused by a daily limit run again, operator pauses stay."""
    with session_scope(settings.database_url) as session:
        return reset_counters(session=session, now=datetime.now(UTC)).summary()
