"""What every route depends on: the settings, the client, a database session (or the session factory,
for a use case that runs several transactions), and the caller. The factory is built once, by
`create_app`; routes never open sessions themselves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from services.api.access import marked, refusal_for
from services.api.tokens import Caller, InvalidToken, Scope, authenticate
from services.engine.client import TickworkClient
from services.settings import Settings
from services.storage.db import SessionFactory

bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer tw_<id>_<secret>` (`tickwork tokens create`)")


def settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client(request: Request) -> TickworkClient:
    tickwork: TickworkClient = request.app.state.client
    return tickwork


def sessions(request: Request) -> SessionFactory:
    factory: SessionFactory = request.app.state.sessions
    return factory


def session(factory: Annotated[SessionFactory, Depends(sessions)]) -> Iterator[Session]:
    with factory() as db:
        yield db


def require(*scopes: Scope) -> Callable[..., Caller]:
    """A dependency that lets a call through only with a valid token holding one of `scopes` (or
    admin). The caller is usually known already (services/api/access.py: before the body is read)."""

    def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        factory: Annotated[SessionFactory, Depends(sessions)],
    ) -> Caller:
        caller: Caller | None = getattr(request.state, "caller", None)
        if caller is None:
            if credentials is None:
                raise HTTPException(
                    status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers={"WWW-Authenticate": "Bearer"}
                )
            try:
                with factory() as db:
                    caller = authenticate(session=db, token=credentials.credentials)
            except InvalidToken as error:
                raise HTTPException(
                    status.HTTP_401_UNAUTHORIZED, str(error), headers={"WWW-Authenticate": "Bearer"}
                ) from None
            request.state.caller = caller
        refused = refusal_for(caller, frozenset(scopes), token_given=True)
        if refused is not None:
            raise refused
        return caller

    return marked(check, scopes)


# scope="function": the transaction commits when the route returns, before the answer is sent. An
# answer never says 201 for a change that then fails to commit, and the audit line written as the
# answer starts (api/audit_log.py) does not wait on this session's lock (SQLite has one writer).
Db = Annotated[Session, Depends(session, scope="function")]
Sessions = Annotated[SessionFactory, Depends(sessions)]
Client = Annotated[TickworkClient, Depends(client)]
Config = Annotated[Settings, Depends(settings)]
Reader = Annotated[Caller, Depends(require(Scope.READ))]
Creator = Annotated[Caller, Depends(require(Scope.CREATE))]
Canceller = Annotated[Caller, Depends(require(Scope.CANCEL))]
Admin = Annotated[Caller, Depends(require(Scope.ADMIN))]
Notifier = Annotated[Caller, Depends(require(Scope.NOTIFY))]
# Submitting through POST /api/v1/tasks: `create`, or `notify` for the notification actors (checked per actor).
Submitter = Annotated[Caller, Depends(require(Scope.CREATE, Scope.NOTIFY))]
