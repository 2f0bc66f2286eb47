"""Every engine operation the console performs, in one place.

These are the service functions the API calls, given the session factory, broadcast and client they
take; the console's routes call this module only, so it is the one place that builds them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlmodel import Session

from services.api.tokens import Caller
from services.bots import admin as bot_admin
from services.bots.admin import BotView
from services.engine.cancellation import RabbitBroadcast, cancel_task
from services.engine.client import SentMessage, TickworkClient
from services.engine.dead_letters import DeadLetter, DeadLetters, Selector
from services.engine.ledger import browse
from services.engine.ledger.redaction import REDACTED
from services.engine.queue_stats import QueueStats, queue_stats
from services.errors import TickworkError
from services.scheduling.control import pause_job, resume_job, trigger_job
from services.settings import Settings
from services.storage.db import SessionFactory, session_factory
from services.storage.models import Order, Task, TradingSwitch
from services.trading import kill_switch, placing


class RerunRefused(TickworkError):
    """Raised when a task cannot be run again with the same arguments (some were redacted)."""


def sessions(settings: Settings) -> SessionFactory:
    return session_factory(settings.database_url)


@contextmanager
def reading(settings: Settings) -> Iterator[Session]:
    """A session for one page's reads."""
    with sessions(settings)() as session:
        yield session


def cancel(settings: Settings, task_id: str) -> Task:
    broadcast = RabbitBroadcast(rabbitmq_url=settings.rabbitmq_url)
    return cancel_task(task_id, session_factory=sessions(settings), broadcast=broadcast)


def run_again(settings: Settings, client: TickworkClient, task: Task) -> SentMessage:
    """A new task with `task`'s arguments, priority and actor, linked to it by `rerun_of`."""
    if _has_redacted(task.args):
        raise RerunRefused(f"task {task.message_id}'s arguments were redacted in the ledger; submit it by hand")
    sent = client.send(task.actor, dict(task.args), priority=task.priority)
    with sessions(settings)() as session:
        browse.link_rerun(session=session, message_id=sent.message_id, rerun_of=task.message_id)
    return sent


def send(client: TickworkClient, actor: str, parameters: dict[str, object]) -> SentMessage:
    return client.send(actor, parameters)


def dead_letters(settings: Settings) -> DeadLetters:
    return DeadLetters(rabbitmq_url=settings.rabbitmq_url, session_factory=sessions(settings))


def replay_letters(settings: Settings, where: Selector, queues: tuple[str, ...], caller: Caller) -> list[DeadLetter]:
    return dead_letters(settings).replay(where=where, queues=queues, requested_by=str(caller))


def purge_letters(settings: Settings, where: Selector, queues: tuple[str, ...], caller: Caller) -> list[DeadLetter]:
    return dead_letters(settings).purge(where=where, queues=queues, requested_by=str(caller))


def pause(settings: Settings, job: str, caller: Caller) -> None:
    with sessions(settings)() as session:
        pause_job(job, session=session, by=str(caller))


def resume(settings: Settings, job: str, caller: Caller) -> None:
    with sessions(settings)() as session:
        resume_job(job, session=session, by=str(caller))


def trigger(settings: Settings, client: TickworkClient, job: str, caller: Caller) -> SentMessage:
    return trigger_job(job, session_factory=sessions(settings), client=client, by=str(caller))


def cancel_order(settings: Settings, order_id: int) -> Order:
    with sessions(settings)() as session:
        return placing.cancel_order(session=session, order_id=order_id, now=datetime.now(UTC))


def halt_portfolio(settings: Settings, portfolio_id: int, caller: Caller, reason: str) -> bool:
    """False when it was halted already (the first halt's reason stays)."""
    with sessions(settings)() as session:
        return kill_switch.halt_portfolio(
            session=session, portfolio_id=portfolio_id, by=str(caller), reason=reason, now=datetime.now(UTC)
        )


def resume_portfolio(settings: Settings, portfolio_id: int, caller: Caller, reason: str) -> bool:
    """False when it was not halted."""
    with sessions(settings)() as session:
        return kill_switch.resume_portfolio(
            session=session, portfolio_id=portfolio_id, by=str(caller), reason=reason, now=datetime.now(UTC)
        )


def set_kill_switch(settings: Settings, halted: bool, caller: Caller, reason: str) -> TradingSwitch:
    with sessions(settings)() as session:
        return kill_switch.set_kill_switch(
            session=session, halted=halted, by=str(caller), reason=reason, now=datetime.now(UTC)
        )


def pause_bot(settings: Settings, bot_id: int, caller: Caller) -> BotView:
    with sessions(settings)() as session:
        return bot_admin.pause_bot(session=session, bot_id=bot_id, by=caller.name, now=datetime.now(UTC))


def resume_bot(settings: Settings, bot_id: int) -> BotView:
    with sessions(settings)() as session:
        return bot_admin.resume_bot(session=session, bot_id=bot_id, now=datetime.now(UTC))


def queues(settings: Settings) -> list[QueueStats]:
    return queue_stats(settings.rabbitmq_url, settings.tickwork_rabbitmq_management_url)


def _has_redacted(value: object) -> bool:
    if isinstance(value, dict):
        return any(_has_redacted(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_redacted(v) for v in value)
    return value == REDACTED
