"""The scope matrix: every route of the app (read from the app itself, so a new route is covered
the day it is added) by every scope, and no token, a malformed, an unknown and a revoked one. A call
is let through exactly when its token holds one of the route's scopes or admin; otherwise it is
401 (no valid token) or 403 (a valid one without the scope), before its body is even read."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import iter_route_contexts

from services.api.access import required_scopes
from services.api.tokens import Scope
from tests.support.api_in_process import InProcessApi

NO_BROKER = "amqp://guest:guest@127.0.0.1:1/%2F"  # nothing listens: a call that gets through answers 503
BODY = {"matrix": True}  # no body model takes it: a call let through ends in 422, before any work
CALLERS = [*(scope.value for scope in Scope), "none", "malformed", "unknown", "revoked"]


def operations(api: InProcessApi) -> list[tuple[str, str, frozenset[Scope], dict[str, Any]]]:
    """(method, path template, scopes it accepts, its OpenAPI operation) of every route."""
    document = api.app.openapi()["paths"]
    found = []
    for route in iter_route_contexts(api.app.routes):
        path, methods = getattr(route, "path", None), getattr(route, "methods", None) or set()
        for method in sorted(methods - {"HEAD"}):
            if path in document and method.lower() in document[path]:
                found.append((method, path, required_scopes(route.original_route), document[path][method.lower()]))
    return found


def concrete(path: str, operation: dict[str, Any]) -> str:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            kind = parameter["schema"].get("type")
            path = path.replace("{" + parameter["name"] + "}", "1" if kind == "integer" else "matrix-id")
    return path


@pytest.fixture
def api(database_url):
    return InProcessApi(database_url, rabbitmq_url=NO_BROKER)


def test_every_api_route_needs_a_scope(api):
    listed = operations(api)
    assert len(listed) >= 35
    unguarded = [(method, path) for method, path, scopes, _ in listed if path.startswith("/api/") and not scopes]
    assert unguarded == []


def test_every_route_lets_through_exactly_the_scopes_it_names(api):
    tokens = {scope.value: api.token(scope.value, name=scope.value) for scope in Scope}
    tokens |= {"malformed": "not-a-token", "unknown": "tw_000000000000_nope", "revoked": api.revoked_token("admin")}
    wrong = []
    for method, path, scopes, operation in operations(api):
        if not scopes:
            continue
        url = concrete(path, operation)
        body = BODY if "requestBody" in operation else None
        for caller in CALLERS:
            reply = api.call(method, url, tokens.get(caller), json=body)
            valid = caller in {scope.value for scope in Scope}
            allowed = valid and (caller == Scope.ADMIN.value or caller in {scope.value for scope in scopes})
            expected = "through" if allowed else ("403" if valid else "401")
            got = "through" if reply.status_code not in (401, 403) else str(reply.status_code)
            if got != expected or (reply.status_code >= 500 and reply.status_code != 503):
                wrong.append(f"{method} {path} as {caller}: {reply.status_code} {reply.text[:120]}")
            if got == "401":
                assert reply.headers.get("WWW-Authenticate") == "Bearer"
    assert wrong == [], "\n".join(wrong)
