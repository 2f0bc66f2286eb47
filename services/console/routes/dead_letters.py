"""Dead letters: counted per queue and reason, listed, inspected; replayed or purged (admin)."""

from __future__ import annotations

from collections import Counter

import pika.exceptions
from fastapi import APIRouter, Request, Response

from services.api.tokens import Scope
from services.console import operations
from services.console.app import ConsoleNotFound, done
from services.console.pages import render
from services.console.routes.common import Seen, settings_of
from services.console.session import action
from services.engine.dead_letters import Selector
from services.engine.ledger.redaction import redact
from services.engine.topology import QUEUES

router = APIRouter()
SHOWN = 500


def _queues(queue: str | None) -> tuple[str, ...]:
    return (queue,) if queue in QUEUES else QUEUES


@router.get("/dead-letters")
def dead_letters_page(
    request: Request, who: Seen, queue: str | None = None, actor: str | None = None, reason: str | None = None
) -> Response:
    where = Selector(actor=actor or None, reason=reason or None)
    try:
        letters = operations.dead_letters(settings_of(request)).find(queues=_queues(queue), where=where, limit=SHOWN)
        unavailable = None
    except (pika.exceptions.AMQPError, OSError) as error:  # down, or no worker has declared the queues yet
        letters, unavailable = [], f"RabbitMQ could not list the dead-letter queues: {error!r}"
    groups = Counter((letter.queue, letter.reason) for letter in letters)
    filters = {k: v for k, v in {"queue": queue, "actor": actor, "reason": reason}.items() if v}
    return render(
        request,
        "dead_letters.html",
        who,
        letters=letters,
        groups=sorted(groups.items()),
        filters=filters,
        queues=QUEUES,
        shown=SHOWN,
        unavailable=unavailable,
    )


@router.get("/dead-letters/{message_id}")
def dead_letter_page(request: Request, message_id: str, who: Seen) -> Response:
    letter = operations.dead_letters(settings_of(request)).get(message_id)
    if letter is None:
        raise ConsoleNotFound(f"no dead letter with message id {message_id!r} (replayed or purged?)")
    message = redact(letter.envelope) if letter.envelope else None  # as the ledger shows arguments
    raw = None if letter.envelope else letter.body[:4096].decode("utf-8", errors="replace")
    return render(request, "dead_letter.html", who, letter=letter, message=message, raw=raw)


@router.post("/dead-letters/{verb}")
async def act(request: Request, verb: str) -> Response:
    who, form = await action(request, Scope.ADMIN)
    if verb not in ("replay", "purge"):
        raise ConsoleNotFound(f"no dead-letter action {verb!r}")
    message_id = form.get("message_id") or None
    everything = form.get("all") == "1"
    where = Selector(message_id=message_id, actor=form.get("actor") or None, reason=form.get("reason") or None)
    queues = _queues(form.get("queue") or None)
    if not everything and not (message_id or where.actor or where.reason or form.get("queue")):
        return done(request, "choose dead letters: one, a filter, or all", "/console/dead-letters")
    run = operations.replay_letters if verb == "replay" else operations.purge_letters
    letters = run(settings_of(request), where, queues, who.caller)
    request.state.audit_detail = {"selector": str(where), "queues": list(queues), "count": len(letters)}
    verbed = "replayed" if verb == "replay" else "purged"
    return done(request, f"{len(letters)} dead letter(s) {verbed}", "/console/dead-letters")
