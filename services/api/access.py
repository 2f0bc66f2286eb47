"""Who is calling, settled before anything reads the body.

FastAPI parses a request's JSON before it runs the route's dependencies, so a body that is not JSON
used to be answered 400 before the token was looked at: the caller went unrecorded (audited as
`anonymous` with a valid token) and a request without a token got 400 instead of 401. `Authenticate`
resolves the bearer token of every request first and keeps the caller in the request's state (the
audit log names it, the scope dependencies use it); `access_refusal` is what the validation-error
handler answers first, when the route needs a scope the caller does not have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import HTTPException, Request, status
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api.schemas import TaskCreate
from services.api.tokens import Caller, InvalidToken, TokenCache, authenticate
from services.api.tokens import Scope as TokenScope
from services.contract import CONTRACT
from services.errors import UnknownActor
from services.storage.db import SessionFactory

CHALLENGE = {"WWW-Authenticate": "Bearer"}
MISSING = "missing bearer token"


def bearer_token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if there is one."""
    for name, value in headers:
        if name.lower() == b"authorization":
            kind, _, token = value.decode("latin-1").strip().partition(" ")
            return (token.strip() or None) if kind.lower() == "bearer" else None
    return None


class Authenticate:
    """Puts the caller of a valid bearer token in `scope["state"]["caller"]` (None otherwise)."""

    def __init__(self, app: ASGIApp, *, sessions: SessionFactory, tokens: TokenCache | None = None) -> None:
        self.app, self.sessions, self.tokens = app, sessions, tokens or TokenCache()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            token = bearer_token(scope["headers"])
            state = scope.setdefault("state", {})
            state["caller"] = await run_in_threadpool(self._caller, token) if token else None
        await self.app(scope, receive, send)

    def _caller(self, token: str) -> Caller | None:
        try:
            return self.tokens.caller(token, self._look_up)
        except InvalidToken:
            return None
        except Exception:  # the database away: the route's own dependency meets the error and answers it
            return None

    def _look_up(self, token: str) -> Caller:
        with self.sessions() as session:
            return authenticate(session=session, token=token)


def required_scopes(route: Any) -> frozenset[TokenScope]:
    """The scopes a route accepts (any one of them, or admin), from its `require(...)` dependency."""
    pending = [getattr(route, "dependant", None)]
    while pending:
        dependant = pending.pop()
        if dependant is None:
            continue
        scopes = getattr(dependant.call, "required_scopes", None)
        if scopes:
            return frozenset(scopes)
        pending.extend(dependant.dependencies)
    return frozenset()


def refusal_for(caller: Caller | None, scopes: frozenset[TokenScope], *, token_given: bool) -> HTTPException | None:
    """The 401 or 403 answer for `caller` on a route that accepts `scopes`; None when it may pass."""
    if not scopes:
        return None
    if caller is None:
        detail = "invalid or revoked token" if token_given else MISSING
        return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers=CHALLENGE)
    if not any(caller.allows(scope) for scope in scopes):
        names = " or ".join(repr(scope.value) for scope in sorted(scopes))
        return HTTPException(status.HTTP_403_FORBIDDEN, f"this token lacks the {names} scope")
    return None


def access_refusal(request: Request) -> HTTPException | None:
    """What a request that failed validation is answered first, if its caller may not use the route."""
    caller = getattr(request.state, "caller", None)
    token_given = bearer_token(request.scope["headers"]) is not None
    return refusal_for(caller, required_scopes(request.scope.get("route")), token_given=token_given)


def marked(check: Callable[..., Caller], scopes: Iterable[TokenScope]) -> Callable[..., Caller]:
    """`check` marked with the scopes it lets through (read back by `required_scopes`)."""
    check.required_scopes = frozenset(scopes)  # type: ignore[attr-defined]
    return check


NOTIFICATIONS_QUEUE = "notifications"


def scope_for_actor(actor: str) -> TokenScope:
    """The scope that submitting `actor` needs: `notify` for a notification actor (whatever Tickwork
    sends in its name, signed or not), `create` for the rest (and for names the contract refuses)."""
    try:
        queue = CONTRACT.get(actor).queue
    except UnknownActor:
        return TokenScope.CREATE
    return TokenScope.NOTIFY if queue == NOTIFICATIONS_QUEUE else TokenScope.CREATE


REQUESTER_FIELD = "requested_by"


def with_requester(request: TaskCreate, caller: Caller) -> TaskCreate:
    """`request` with the caller as `requested_by`, for an actor that names who asked for what it
    sends (the signed webhook body says so): the token's word, never the body's."""
    try:
        fields = CONTRACT.get(request.actor).payload.model_fields
    except UnknownActor:
        return request
    if REQUESTER_FIELD not in fields:
        return request
    return request.model_copy(update={"parameters": {**request.parameters, REQUESTER_FIELD: str(caller)}})
