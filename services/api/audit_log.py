"""The audit log's middleware: every state-changing request to /api/ leaves a row, whatever answered
it: a route, a scope refusal, a body refused by its Content-Length (413), a method not allowed
(405), an error (500). It wraps everything else, so nothing can answer without passing it; the
caller is the one `Authenticate` found (services/api/access.py), `anonymous` when there was none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.audit import CHANGES
from services.api.methods import RouteTable


class AuditLog:
    """Hands one entry per audited request to `write` (run off the event loop), after the answer."""

    def __init__(self, app: ASGIApp, *, write: Callable[[dict[str, Any]], None], table: RouteTable) -> None:
        self.app, self.write, self.table = app, write, table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in CHANGES or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        answer: dict[str, Any] = {"status": 500, "location": None}  # an error that escapes is answered 500

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                headers = dict(message.get("headers") or [])
                if b"location" in headers:
                    answer["location"] = headers[b"location"].decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            caller = (scope.get("state") or {}).get("caller")
            # A request refused before routing (413, 405) is named by the route its path would reach.
            route = getattr(scope.get("route"), "path", None) or self.table.template(scope["method"], scope["path"])
            entry = {
                "who": str(caller) if caller else "anonymous",
                "action": f"{scope['method']} {route or '(no such route)'}"[:64],
                "target": scope["path"],
                "status": answer["status"],
                "detail": {"location": answer["location"]} if answer["location"] else {},
            }
            await run_in_threadpool(self.write, entry)
