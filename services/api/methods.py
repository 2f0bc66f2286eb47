"""OPTIONS and 405 answers that say which methods a path has (`Allow`), counted over every route of
the path: Starlette's own 405 names the methods of the first route that matched the path only, and
OPTIONS had no route at all."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send


class RouteTable:
    """Every route's path pattern and methods (made once, when the app has all its routes)."""

    def __init__(self, routes: Iterable[Any]) -> None:
        self._table = list(route_table(routes))

    def _routes(self) -> list[tuple[re.Pattern[str], str, frozenset[str]]]:
        return self._table

    def routes(self) -> list[tuple[str, frozenset[str]]]:
        """Each route's path template and methods."""
        return [(name, methods) for _, name, methods in self._routes()]

    def allowed(self, path: str) -> set[str]:
        """The methods some route offers at `path` (empty when no route has that path)."""
        found: set[str] = set()
        for pattern, _, methods in self._routes():
            if pattern.match(path):
                found |= methods
        if "GET" in found:
            found.add("HEAD")
        return found | {"OPTIONS"} if found else found

    def template(self, method: str, path: str) -> str | None:
        """The path template of the route that `method` and `path` name, if one does."""
        return next(
            (name for pattern, name, methods in self._routes() if method in methods and pattern.match(path)), None
        )


def route_template(scope: Scope, table: RouteTable) -> str | None:
    """The template of the route that answered (`/console/tasks/{task_id}`, with its mount's prefix);
    inside a mount with no route of its own (static files), the mount and `*`; for a request refused
    before routing (413, 405), the route its method and path would reach."""
    mount = scope.get("root_path", "")  # Starlette's Mount sets it, the app's own routes leave it empty
    route = getattr(scope.get("route"), "path", None)
    if route:
        return mount + route
    if mount:
        return mount + "/*"
    return table.template(scope["method"], scope["path"])


class AllowedMethods:
    """Answers OPTIONS with 204 and `Allow`, and a method the path does not have with 405 and `Allow`."""

    def __init__(self, app: ASGIApp, *, table: RouteTable) -> None:
        self.app, self.table = app, table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed = self.table.allowed(scope["path"])
        if not allowed or scope["method"] in allowed - {"OPTIONS"}:
            await self.app(scope, receive, send)
            return
        allow = ", ".join(sorted(allowed))
        if scope["method"] == "OPTIONS":
            await _answer(send, 204, b"", allow)
        else:
            body = {"error": f"method {scope['method']} not allowed here; allowed: {allow}", "detail": None}
            await _answer(send, 405, json.dumps(body).encode(), allow)


def route_table(routes: Iterable[Any]) -> Iterable[tuple[re.Pattern[str], str, frozenset[str]]]:
    for route in iter_route_contexts(list(routes)):
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if path and methods:
            yield compile_path(path)[0], path, frozenset(methods)


async def _answer(send: Send, status: int, body: bytes, allow: str) -> None:
    headers = [(b"allow", allow.encode()), (b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
