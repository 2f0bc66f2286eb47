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
from services.api.methods import RouteTable, route_template


class AuditLog:
    """Hands one entry per audited request to `write` (off the event loop) once its answer is decided,
    before the answer leaves."""

    def __init__(self, app: ASGIApp, *, write: Callable[[dict[str, Any]], None], table: RouteTable) -> None:
        self.app, self.write, self.table = app, write, table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in CHANGES or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        written = False

        async def audit(status: int, location: str | None) -> None:
            nonlocal written
            written = True
            caller = (scope.get("state") or {}).get("caller")
            route = route_template(scope, self.table)
            entry = {
                "who": str(caller) if caller else "anonymous",
                "action": f"{scope['method']} {route or '(no such route)'}"[:64],
                "target": scope["path"],
                "status": status,
                "detail": {"location": location} if location else {},
            }
            await run_in_threadpool(self.write, entry)

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start" and not written:
                # Written before the answer leaves: whoever reads the log after an answer finds its row.
                headers = dict(message.get("headers") or [])
                location = headers[b"location"].decode("latin-1") if b"location" in headers else None
                await audit(message["status"], location)
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            if not written:  # an error that escaped: ServerErrorMiddleware answers it 500
                await audit(500, None)
