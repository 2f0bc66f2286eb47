"""The operator console: server-rendered pages at /console, on the API's tokens, scopes and audit log.

`tickwork api` mounts it (`mount_console`). It is a sub-application so that its errors are pages
and redirects rather than the API's JSON problems; it shares the API's settings and client.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.api import audit
from services.api.metrics import ApiMetrics
from services.console.pages import STATIC, render
from services.console.session import Forbidden, NeedsLogin
from services.engine.client import TickworkClient
from services.errors import NotFound
from services.settings import Settings
from services.storage.db import session_scope

log = logging.getLogger("tickwork.console")
PREFIX = "/console"


def mount_console(api: FastAPI, settings: Settings) -> None:
    """Serve the console at /console beside the API."""
    api.mount(PREFIX, create_console(settings, api=api))


def create_console(settings: Settings, *, api: FastAPI) -> FastAPI:
    from services.console.routes import (
        auth,
        dead_letters,
        market,
        overview,
        schedules,
        tasks,
        trading,
        trading_actions,
        workers,
    )

    console = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    console.state.settings = settings
    console.state.api = api
    for module in (auth, overview, tasks, dead_letters, schedules, workers, market, trading, trading_actions):
        console.include_router(module.router)
    console.mount("/static", StaticFiles(directory=STATIC), name="static")
    _errors(console)
    console.middleware("http")(_audit(settings))
    return console


def client_of(request: Request) -> TickworkClient:
    """The API's client (started by the API's lifespan)."""
    tickwork: TickworkClient = request.app.state.api.state.client
    return tickwork


def metrics_of(request: Request) -> ApiMetrics:
    """The API process's metrics (the console counts its manual job runs there)."""
    metrics: ApiMetrics = request.app.state.api.state.metrics
    return metrics


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def done(request: Request, notice: str, to: str, **extra: Any) -> Response:
    """The answer to an action: JSON for the page's script, else a redirect that shows `notice`."""
    if wants_json(request):
        return JSONResponse({"notice": notice, "location": to, **extra})
    separator = "&" if "?" in to else "?"
    return RedirectResponse(f"{to}{separator}{urlencode({'notice': notice})}", status_code=303)


def _errors(console: FastAPI) -> None:
    def refuse(request: Request, status: int, message: str) -> Response:
        if wants_json(request):
            return JSONResponse({"error": message}, status_code=status)
        return render(request, "error.html", None, status_code=status, status=status, message=message)

    @console.exception_handler(NeedsLogin)
    async def login(request: Request, error: NeedsLogin) -> Response:
        if request.method == "GET" and not wants_json(request):
            wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{PREFIX}/login?next={quote(wanted)}", status_code=303)
        return refuse(request, 401, str(error))

    @console.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden) -> Response:
        return refuse(request, 403, str(error))

    @console.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        return refuse(request, error.status_code, str(error.detail))

    # The API's statuses for the engine's errors (not found, not cancellable, broker down, ...).
    from services.api.app import STATUS_BY_ERROR

    def known(status: int) -> Callable[[Request, Exception], Awaitable[Response]]:
        async def handle(request: Request, error: Exception) -> Response:
            return refuse(request, status, str(error) if status != 503 else f"the broker is unavailable: {error}")

        return handle

    @console.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> Response:
        log.exception("console error", exc_info=error)
        return refuse(request, 500, "internal error (logged)")

    for kind, status in STATUS_BY_ERROR:  # NotFound among them: ConsoleNotFound is a 404 too
        console.add_exception_handler(kind, known(status))


class ConsoleNotFound(NotFound):
    """Raised when a console page names a dead letter or an action that does not exist."""


def _audit(settings: Settings) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """Every state-changing console request, allowed or refused, in the API's audit log."""

    def write(entry: dict[str, Any]) -> None:
        try:
            with session_scope(settings.database_url) as session:
                audit.record(session=session, **entry)
        except Exception:  # the answer stands; a lost audit line is logged, loudly
            log.exception("audit entry not written: %s", entry)

    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        if request.method in audit.CHANGES:
            route = request.scope.get("route")
            caller = getattr(request.state, "caller", None)
            entry = {
                "who": str(caller) if caller else "anonymous",
                "action": f"console {request.method} {PREFIX}{getattr(route, 'path', '(no such route)')}"[:64],
                "target": f"{PREFIX}{request.url.path}"
                if not request.url.path.startswith(PREFIX)
                else request.url.path,
                "status": response.status_code,
                "detail": getattr(request.state, "audit_detail", {}),
            }
            await run_in_threadpool(write, entry)
        return response

    return middleware
