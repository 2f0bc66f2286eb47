"""/api/v1/dead-letters: list, inspect, replay and purge messages in the `.XQ` queues."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query

from services.api.deps import Admin, Config, Reader, Sessions
from services.api.lookups import text_id
from services.api.schemas import DeadLetterAction, DeadLetterDetail, DeadLetterOut, DeadLetterSelection
from services.api.strict import PRINTABLE
from services.engine.dead_letters import DeadLetter, DeadLetters, Selector
from services.engine.ledger.redaction import redact
from services.engine.topology import QUEUES

router = APIRouter(prefix="/api/v1/dead-letters", tags=["dead letters"])
# The work queues (services.engine.topology.QUEUES, which a test keeps equal), as the schema's enum.
QueueName = Literal["orders", "refresh", "bots", "maintenance", "notifications"]


def _letters(config: Config, sessions: Sessions) -> DeadLetters:
    return DeadLetters(rabbitmq_url=config.rabbitmq_url, session_factory=sessions)


Letters = Annotated[DeadLetters, Depends(_letters)]


def _out(letter: DeadLetter) -> DeadLetterOut:
    return DeadLetterOut.model_validate(letter.summary())


@router.get("", response_model=list[DeadLetterOut])
def list_dead_letters(
    letters: Letters,
    _: Reader,
    queue: Annotated[
        list[QueueName] | None, Query(description=f"Work queues to look in (default all: {', '.join(QUEUES)})")
    ] = None,
    actor: Annotated[str | None, Query(min_length=1, max_length=128, pattern=PRINTABLE)] = None,
    reason: Annotated[str | None, Query(min_length=1, max_length=64, pattern=PRINTABLE)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeadLetterOut]:
    """Dead letters, oldest first, with the reason, the last error and the attempts."""
    unknown = sorted(set(queue or ()) - set(QUEUES))
    if unknown:
        raise HTTPException(422, f"unknown queue(s) {unknown}; queues are {list(QUEUES)}")
    found = letters.find(queues=tuple(queue or QUEUES), where=Selector(actor=actor, reason=reason), limit=limit)
    return [_out(letter) for letter in found]


@router.get("/{message_id}", response_model=DeadLetterDetail)
def get_dead_letter(message_id: str, letters: Letters, _: Reader) -> DeadLetterDetail:
    letter = letters.get(text_id("dead letter with message id", message_id))
    if letter is None:
        raise HTTPException(404, f"no dead letter with message id {message_id!r}")
    message = redact(letter.envelope) if letter.envelope else None  # as the ledger shows arguments
    return DeadLetterDetail(**_out(letter).model_dump(), message=message)


@router.post("/replay", response_model=DeadLetterAction)
def replay(selection: DeadLetterSelection, letters: Letters, caller: Admin) -> DeadLetterAction:
    """Send the selected dead letters back to their queue with a fresh retry budget."""
    moved = letters.replay(where=_selector(selection), requested_by=str(caller))
    return DeadLetterAction(action="replay", count=len(moved), message_ids=[letter.message_id for letter in moved])


@router.post("/purge", response_model=DeadLetterAction)
def purge(selection: DeadLetterSelection, letters: Letters, caller: Admin) -> DeadLetterAction:
    """Delete the selected dead letters for good (recorded with who asked)."""
    removed = letters.purge(where=_selector(selection), requested_by=str(caller))
    return DeadLetterAction(action="purge", count=len(removed), message_ids=[letter.message_id for letter in removed])


def _selector(selection: DeadLetterSelection) -> Selector:
    narrowed = selection.message_id or selection.actor or selection.reason
    if not narrowed and selection.all is not True:  # only a JSON `true` (JsonBool) selects everything
        raise HTTPException(422, "select dead letters with message_id, actor or reason, or say all: true")
    if narrowed and selection.all is True:
        raise HTTPException(422, "all: true cannot be combined with message_id, actor or reason")
    return Selector(message_id=selection.message_id, actor=selection.actor, reason=selection.reason)
