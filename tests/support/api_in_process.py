"""The API app in this process (Starlette's test client), on a migrated database, for tests of what
happens before and around the routes: authentication, the audit log, methods, body limits. Routes that
publish need `tickwork api` with RabbitMQ (tests/support/api.py)."""

from __future__ import annotations

import warnings
from typing import Any

from sqlmodel import select

from services.api.app import create_app
from services.api.tokens import create_token, revoke_token
from services.settings import Settings
from services.storage.db import session_scope
from services.storage.models import AuditEntry

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


class NoBroker:
    """Stands in for the client: these tests never get as far as publishing."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the test reached the broker ({name})")


class InProcessApi:
    def __init__(self, database_url: str, **settings: Any) -> None:
        self.database_url = database_url
        self.app = create_app(Settings(database_url=database_url, **settings))
        self.app.state.client = NoBroker()
        self.http = TestClient(self.app, raise_server_exceptions=False)

    def token(self, *scopes: str, name: str = "test") -> str:
        with session_scope(self.database_url) as session:
            _, token = create_token(session=session, name=name, scopes=scopes)
        return token

    def revoked_token(self, *scopes: str) -> str:
        token = self.token(*scopes, name="revoked")
        with session_scope(self.database_url) as session:
            revoke_token(session=session, token_id=token.split("_")[1])
        return token

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, path, headers=headers, **kwargs)

    def audit_trail(self) -> list[AuditEntry]:
        with session_scope(self.database_url) as session:
            return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)))
