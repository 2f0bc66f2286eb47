"""Every engine operation the console performs, in one place.

These are the service functions the API calls. Several still take a database URL rather than a
session or a session factory; they are called through this module only, so that re-pointing them
when their signatures change is one edit here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import Session

from services.api.tokens import Caller
from services.engine.cancellation import cancel_task
from services.engine.client import SentMessage, TickworkClient
from services.engine.dead_letters import DeadLetter, DeadLetters, Selector
from services.engine.ledger import browse
from services.engine.ledger.redaction import REDACTED
from services.engine.queue_stats import QueueStats, queue_stats
from services.errors import TickworkError
from services.scheduling.control import pause_job, resume_job, trigger_job
from services.settings import Settings
from services.storage.db import session_scope
from services.storage.models import Task


class RerunRefused(TickworkError):
    """Raised when a task cannot be run again with the same arguments (some were redacted)."""


@contextmanager
def reading(settings: Settings) -> Iterator[Session]:
    """A session for one page's reads."""
    with session_scope(settings.database_url) as session:
        yield session


def cancel(settings: Settings, task_id: str) -> Task:
    return cancel_task(task_id, database_url=settings.database_url, rabbitmq_url=settings.rabbitmq_url)


def run_again(settings: Settings, client: TickworkClient, task: Task) -> SentMessage:
    """A new task with `task`'s arguments, priority and actor, linked to it by `rerun_of`."""
    if _has_redacted(task.args):
        raise RerunRefused(f"task {task.message_id}'s arguments were redacted in the ledger; submit it by hand")
    sent = client.send(task.actor, dict(task.args), priority=task.priority)
    with session_scope(settings.database_url) as session:
        browse.link_rerun(session=session, message_id=sent.message_id, rerun_of=task.message_id)
    return sent


def send(client: TickworkClient, actor: str, parameters: dict[str, object]) -> SentMessage:
    return client.send(actor, parameters)


def dead_letters(settings: Settings) -> DeadLetters:
    return DeadLetters(rabbitmq_url=settings.rabbitmq_url, database_url=settings.database_url)


def replay_letters(settings: Settings, where: Selector, queues: tuple[str, ...], caller: Caller) -> list[DeadLetter]:
    return dead_letters(settings).replay(where=where, queues=queues, requested_by=str(caller))


def purge_letters(settings: Settings, where: Selector, queues: tuple[str, ...], caller: Caller) -> list[DeadLetter]:
    return dead_letters(settings).purge(where=where, queues=queues, requested_by=str(caller))


def pause(settings: Settings, job: str, caller: Caller) -> None:
    pause_job(settings.database_url, job, by=str(caller))


def resume(settings: Settings, job: str, caller: Caller) -> None:
    resume_job(settings.database_url, job, by=str(caller))


def trigger(settings: Settings, client: TickworkClient, job: str, caller: Caller) -> SentMessage:
    return trigger_job(settings.database_url, client, job, by=str(caller))


def queues(settings: Settings) -> list[QueueStats]:
    return queue_stats(settings.rabbitmq_url, settings.tickwork_rabbitmq_management_url)


def _has_redacted(value: object) -> bool:
    if isinstance(value, dict):
        return any(_has_redacted(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_redacted(v) for v in value)
    return value == REDACTED
