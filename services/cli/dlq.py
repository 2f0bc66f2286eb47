"""`tickwork dlq ...`: dead letters from a shell."""

from __future__ import annotations

import functools
import getpass
from collections.abc import Callable

import click

from services.cli.database import sessions
from services.cli.output import emit, emit_one
from services.cli.settings import Failure, settings_or_exit
from services.engine.dead_letters import DeadLetters, Selector
from services.engine.topology import QUEUES

COLUMNS = ("queue", "message_id", "actor", "reason", "attempts", "dead_lettered_at", "error")


def _dead_letters() -> DeadLetters:
    settings = settings_or_exit()
    return DeadLetters(rabbitmq_url=settings.rabbitmq_url, session_factory=sessions())


def _selector(message_id: str | None, actor: str | None, reason: str | None, everything: bool) -> Selector:
    if not (message_id or actor or reason or everything):
        raise Failure("say which dead letters: a MESSAGE_ID, --actor, --reason, or --all")
    return Selector(message_id=message_id, actor=actor, reason=reason)


queue_option = click.option(
    "--queue", "queues", multiple=True, type=click.Choice(QUEUES), help="Only these queues (default: all)."
)


@click.group()
def dlq() -> None:
    """Dead letters: list, inspect, replay and purge."""


@dlq.command("list")
@queue_option
@click.option("--actor")
@click.option("--reason")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_letters(queues: tuple[str, ...], actor: str | None, reason: str | None, limit: int, as_json: bool) -> None:
    """Dead letters, oldest first, with their reason."""
    letters = _dead_letters().find(queues=queues or QUEUES, where=Selector(actor=actor, reason=reason), limit=limit)
    emit([letter.summary() for letter in letters], COLUMNS, as_json=as_json)


@dlq.command("show")
@click.argument("message_id")
@click.option("--json", "as_json", is_flag=True)
def show(message_id: str, as_json: bool) -> None:
    """One dead letter: why it is there and the original message."""
    letter = _dead_letters().get(message_id)
    if letter is None:
        raise Failure(f"no dead letter with message id {message_id!r}")
    body = letter.envelope if letter.envelope is not None else letter.body.decode("utf-8", "replace")
    emit_one({**letter.summary(), "message": body}, as_json=as_json)


def selection(command: Callable[..., None]) -> Callable[..., None]:
    """The options that pick dead letters for replay or purge, turned into a Selector."""

    @click.argument("message_id", required=False)
    @queue_option
    @click.option("--actor")
    @click.option("--reason")
    @click.option("--all", "everything", is_flag=True, help="Every dead letter (of --queue, if given).")
    @functools.wraps(command)
    def wrapper(
        message_id: str | None, queues: tuple[str, ...], actor: str | None, reason: str | None, everything: bool
    ) -> None:
        command(_selector(message_id, actor, reason, everything), queues or QUEUES)

    return wrapper


@dlq.command("replay")
@selection
def replay(where: Selector, queues: tuple[str, ...]) -> None:
    """Send dead letters back to their queue with a fresh retry budget."""
    moved = _dead_letters().replay(where=where, queues=queues, requested_by=getpass.getuser())
    click.echo(f"replayed {len(moved)} dead letter(s)")
    if where.message_id and not moved:
        raise Failure(f"no replayable dead letter with message id {where.message_id!r}")


@dlq.command("purge")
@selection
def purge(where: Selector, queues: tuple[str, ...]) -> None:
    """Delete dead letters for good (recorded in dead_letter_actions)."""
    removed = _dead_letters().purge(where=where, queues=queues, requested_by=getpass.getuser())
    click.echo(f"purged {len(removed)} dead letter(s)")
