"""The FastAPI application: routers, error answers, middleware (audit log, authentication, allowed
methods, request size limit), health."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pika.exceptions
from fastapi import Depends, FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from services.api import audit
from services.api.access import Authenticate, access_refusal
from services.api.audit_log import AuditLog
from services.api.idempotency import IdempotencyConflict
from services.api.methods import AllowedMethods, RouteTable
from services.api.metrics import CONTENT_TYPE_LATEST, ApiMetrics, RequestMetrics
from services.api.query_params import known_query_only
from services.api.routes import (
    bots,
    dead_letters,
    jobs,
    market,
    notifications,
    orders,
    queues,
    reports,
    risk,
    task_batches,
    tasks,
)
from services.api.schemas import Problem
from services.api.submit import ScheduleTooFar
from services.api.submit_batch import BatchTaskInvalid
from services.bots.errors import BotConfigInvalid
from services.console.app import mount_console
from services.engine.client import TickworkClient
from services.engine.health import check_broker, check_database
from services.engine.ledger.tasks import TaskNotCancellable
from services.errors import MessageRejected, NotFound, PublishFailed, TickworkError
from services.metrics_dir import prepare_run_dir
from services.notifications.preferences import PreferenceInvalid
from services.scheduling.store import job_names
from services.settings import Settings, import_contract_modules, load_settings
from services.storage.db import SessionFactory, session_factory
from services.storage.group_commit import GroupWriter
from services.trading.errors import OrderNotCancellable

log = logging.getLogger("tickwork.api")
BATCH_PATH = "/api/v1/tasks/batch"

STATUS_BY_ERROR: list[tuple[type[Exception], int]] = [
    (NotFound, 404),  # every "no such id or name": tasks, jobs, tokens, portfolios, recipients, rules, ...
    (OrderNotCancellable, 409),
    (TaskNotCancellable, 409),
    (IdempotencyConflict, 409),
    (MessageRejected, 422),  # unknown actor, parameters that fail the actor's schema
    (ScheduleTooFar, 422),
    (PreferenceInvalid, 422),  # a recipient or alert rule that does not check out
    (BotConfigInvalid, 422),  # a strategy's parameters, a sizing or a portfolio that does not check out
    (PublishFailed, 503),
    (pika.exceptions.AMQPError, 503),
    (DataError, 422),  # a value the database cannot store, e.g. a NUL character in a path
    (TickworkError, 400),
]


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.client = TickworkClient(settings=settings, ledger=app.state.sessions)
        yield
        app.state.client.close()

    app = FastAPI(
        title="Tickwork",
        version="1",
        description="Tasks, scheduled jobs, dead letters and queues of the Tickwork engine. "
        "Every /api/v1 call needs `Authorization: Bearer <token>` with the right scope.",
        lifespan=lifespan,
        responses={code: {"model": Problem} for code in (400, 401, 403, 404, 409, 413, 422, 503)},
    )
    app.state.settings = settings
    app.state.sessions = session_factory(settings.database_url)
    app.state.metrics = ApiMetrics()
    routers = (tasks, bots, jobs, dead_letters, queues, market, reports, notifications, orders, risk)
    for router in (module.router for module in routers):
        # Per route rather than app-wide: FastAPI's app-wide limit answers before any middleware
        # (so before the audit log), in plain text.
        app.include_router(
            router, max_body_size=settings.tickwork_api_max_body_bytes, dependencies=[Depends(known_query_only)]
        )
    batch_limit = settings.tickwork_api_max_batch_body_bytes
    app.include_router(task_batches.router, max_body_size=batch_limit, dependencies=[Depends(known_query_only)])
    _health(app, settings)
    _errors(app)
    mount_console(app, settings)  # before the route table: /console is one of the app's routes
    # Added innermost first. Outermost, the audit log sees every answer; then the caller is found,
    # before any body is read; then OPTIONS and 405; then an oversized Content-Length is refused (413).
    app.add_middleware(BodyLimit, max_bytes=settings.tickwork_api_max_body_bytes, larger={BATCH_PATH: batch_limit})
    table = RouteTable(app.routes)  # every route is added by now
    app.add_middleware(AllowedMethods, table=table)
    app.add_middleware(Authenticate, sessions=app.state.sessions)
    app.add_middleware(AuditLog, write=_audit_writer(app.state.sessions), table=table)
    app.add_middleware(RequestMetrics, metrics=app.state.metrics, table=table)
    app.state.metrics.declare_routes(table)
    return app


def _health(app: FastAPI, settings: Settings) -> None:
    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str | int]:
        """Alive: the process answers (which one of TICKWORK_API_PROCESSES: its pid)."""
        return {"status": "alive", "pid": os.getpid()}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "a dependency is unreachable"}})
    def readyz(response: Response) -> dict[str, str]:
        """Ready: RabbitMQ and the database answer."""
        checks = {"broker": check_broker(settings.rabbitmq_url), "database": check_database(settings.database_url)}
        ready = all(result == "ok" for result in checks.values())
        response.status_code = 200 if ready else 503
        return {"status": "ready" if ready else "not ready", **checks}

    @app.get(
        "/metrics",
        tags=["health"],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}},
    )
    def metrics() -> Response:
        """This process's Prometheus series: requests by route, method and status, their latency,
        manual runs of scheduled jobs. Open like /healthz: counts only, no data."""
        exported: ApiMetrics = app.state.metrics
        try:
            with app.state.sessions() as session:
                exported.declare_jobs(job_names(session=session))
        except Exception:  # the database away: serve what is known, the scrape must not fail for it
            log.warning("metrics: job names not read (database unavailable)")
        body, content_type = exported.exposition()
        return Response(body, media_type=content_type)


def _errors(app: FastAPI) -> None:
    def problem(status: int, error: str, detail: Any = None, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"error": error, "detail": jsonable_encoder(detail)}, status_code=status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return problem(error.status_code, str(error.detail), headers=getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        refused = access_refusal(request)  # the body is read before the route's scope check: 401/403 first
        if refused is not None:
            return problem(refused.status_code, str(refused.detail), headers=dict(refused.headers or {}))
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in error.errors()]
        if any(e.get("type") == "json_invalid" for e in errors):  # not JSON at all: a malformed request
            return problem(400, "the request body is not valid JSON", errors)
        first = errors[0] if errors else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return problem(422, f"invalid request: {where}: {first.get('msg', '')}".rstrip(": "), errors)

    def known(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
        async def handle(_: Request, error: Exception) -> JSONResponse:
            if isinstance(error, DataError):  # its text would show SQL: say what is wrong instead
                return problem(status, "a value in the request cannot be stored (control characters?)")
            return problem(status, str(error) if status != 503 else f"the broker is unavailable: {error}")

        return handle

    @app.exception_handler(BatchTaskInvalid)
    async def batch_task_invalid(_: Request, error: BatchTaskInvalid) -> JSONResponse:
        return problem(422, str(error), {"index": error.index, "actor": error.actor, "reason": error.reason})

    # Starlette picks the handler of the most specific class in the error's MRO.
    for kind, status in STATUS_BY_ERROR:
        app.add_exception_handler(kind, known(status))

    @app.exception_handler(Exception)
    async def failed(_: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=error)
        return problem(500, "internal error (logged)")


def _audit_writer(sessions: SessionFactory) -> Callable[[dict[str, Any]], None]:
    writes = GroupWriter(sessions)  # concurrent requests share the audit log's commits

    def write(entry: dict[str, Any]) -> None:
        try:
            writes.write(lambda session: audit.record(session=session, **entry))
        except Exception:  # the answer stands; a lost audit line is logged, loudly
            log.exception("audit entry not written: %s", entry)

    return write


class BodyLimit:
    """Refuses a body whose Content-Length is over `max_bytes` with 413, before reading it. A body
    sent in chunks is counted by FastAPI's own `max_body_size` of each route, set to the same limit."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app, self.max_bytes, self.larger = app, max_bytes, larger or {}  # larger: limits of exact paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope["headers"]).get(b"content-length") if scope["type"] == "http" else None
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            body = f'{{"error": "request body larger than {limit} bytes", "detail": null}}'.encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 413, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def serve(settings: Settings, *, host: str | None = None, port: int | None = None) -> None:
    """Serve on one port with TICKWORK_API_PROCESSES processes: uvicorn's own supervisor binds the
    socket, starts each process (which builds the app from the environment, as this one read it) and
    starts a new one for any that dies."""
    import uvicorn

    options: dict[str, Any] = {
        "host": host or settings.tickwork_api_host,
        "port": port or settings.tickwork_api_port,
        "log_level": settings.tickwork_log_level.lower(),
        "proxy_headers": settings.tickwork_api_trusted_proxy,  # else uvicorn trusts them from 127.0.0.1
    }
    if settings.tickwork_api_processes == 1:
        uvicorn.run(create_app(settings), **options)
        return
    folder = prepare_run_dir(settings.tickwork_metrics_dir, main=os.getpid())
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)  # inherited: each process stores its samples there
    try:
        uvicorn.run(
            "services.api.app:app_from_environment", factory=True, workers=settings.tickwork_api_processes, **options
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def app_from_environment() -> FastAPI:
    """The app of one server process of several (serve)."""
    settings = load_settings()
    import_contract_modules(settings)
    return create_app(settings)
