"""/api/v1/tasks: list, create (generic and typed shortcuts), inspect, logs, cancel; workers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import BeforeValidator, Field

from services.api.access import refusal_for, scope_for_actor, with_requester
from services.api.deps import Canceller, Client, Config, Creator, Db, Reader, Sessions, Submitter
from services.api.lookups import text_id
from services.api.schemas import (
    Cancelled,
    Submission,
    TaskCreate,
    TaskCreated,
    TaskDetail,
    TaskError,
    TaskLogs,
    TaskPage,
    TaskSummary,
    Worker,
)
from services.api.strict import PRINTABLE, QueryTimestamp
from services.api.submit import submit
from services.api.tokens import Caller
from services.contract.fields import Id, json_number
from services.contract.refresh import CreatePortfolioSnapshot, FetchAssetInfo, FetchMarketData
from services.engine.cancellation import RabbitBroadcast, cancel_task
from services.engine.client import TickworkClient
from services.engine.ledger import tasks as ledger
from services.engine.ledger.states import WAITING, TaskState
from services.engine.ledger.tasks import Task
from services.engine.workers import list_workers, worker_status
from services.storage.db import SessionFactory, as_utc

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        pattern=PRINTABLE,
        description="Repeat a creation safely: the same key and body return the first answer",
    ),
]
ACTIVE = tuple(state.value for state in (*WAITING, TaskState.RUNNING))


def summary(task: Task) -> TaskSummary:
    return TaskSummary(
        task_id=task.message_id, status=task.state, **task.model_dump(include=set(TaskSummary.model_fields))
    )


@router.get("", response_model=TaskPage)
def list_tasks(
    db: Db,
    _: Reader,
    status_: Annotated[list[TaskState] | None, Query(alias="status")] = None,
    actor: Annotated[str | None, Query(min_length=1, max_length=128, pattern=PRINTABLE)] = None,
    queue: Annotated[str | None, Query(min_length=1, max_length=64, pattern=PRINTABLE)] = None,
    created_after: QueryTimestamp | None = None,
    created_before: QueryTimestamp | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TaskPage:
    """Tasks, newest first, filtered by status (repeatable), actor, queue and creation time."""
    where = ledger.TaskFilter(
        states=tuple(s.value for s in status_ or ()),
        actor=actor,
        queue=queue,
        since=as_utc(created_after) if created_after else None,  # a naive time is read as UTC
        until=as_utc(created_before) if created_before else None,
    )
    rows = ledger.list_tasks(session=db, where=where, limit=limit, offset=offset)
    total = sum(ledger.count_tasks(session=db, where=where).values())
    return TaskPage(items=[summary(t) for t in rows], total=total, limit=limit, offset=offset)


CREATED: dict[int | str, dict[str, Any]] = {
    200: {
        "model": TaskCreated,
        "description": "An idempotent replay: this Idempotency-Key and body were submitted before; the first "
        "answer is returned (header `Idempotent-Replayed: true`) and nothing is sent again",
        "headers": {"Idempotent-Replayed": {"schema": {"type": "string"}, "description": "`true`"}},
    },
    201: {"description": "Submitted; `Location` names the task"},
}


@router.post("", response_model=TaskCreated, status_code=status.HTTP_201_CREATED, responses=CREATED)
def create_task(
    body: TaskCreate,
    response: Response,
    db: Db,
    client: Client,
    sessions: Sessions,
    caller: Submitter,
    idempotency_key: IdempotencyKey = None,
) -> TaskCreated:
    """Submit a task for any actor of the contract; its parameters are checked against the actor's schema.
    The notification actors (`send_email`, `send_alert`, `webhook_callback`, ...) need the `notify` scope,
    the others `create`."""
    refused = refusal_for(caller, frozenset({scope_for_actor(body.actor)}), token_given=True)
    if refused is not None:
        raise refused
    return _submitted(with_requester(body, caller), response, client, sessions, caller, idempotency_key)


@router.get("/active", response_model=list[TaskSummary])
def active_tasks(db: Db, _: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[TaskSummary]:
    """Tasks pending, retrying or running, newest first."""
    rows = ledger.list_tasks(session=db, where=ledger.TaskFilter(states=ACTIVE), limit=limit)
    return [summary(t) for t in rows]


@router.get("/workers", response_model=list[Worker])
def workers(db: Db, config: Config, _: Reader) -> list[Worker]:
    """Worker processes: alive, dead (stopped heartbeating) or stopped in the last hour."""
    now = datetime.now(UTC)
    found = []
    for worker in list_workers(session=db):
        state = worker_status(worker, now, config.tickwork_heartbeat_seconds)
        found.append(Worker(**{**worker.model_dump(), "queues": worker.queues.split(","), "status": state}))
    return found


# -- typed shortcuts: the actor's own arguments, plus priority and scheduled_for ---------------------
class MarketDataRequest(FetchMarketData, Submission):
    """fetch_market_data's arguments, plus priority and scheduled_for."""


class PortfolioPricesRequest(Submission):
    portfolio_id: Id


class AssetInfoRequest(FetchAssetInfo, Submission):
    """fetch_asset_info's arguments, plus priority and scheduled_for."""


class PortfolioPerformanceRequest(Submission):
    portfolio_id: Id
    days: Annotated[int, Field(ge=2, le=3650), BeforeValidator(json_number)] = 365


class PortfolioSnapshotRequest(CreatePortfolioSnapshot, Submission):
    """create_portfolio_snapshot's arguments, plus priority and scheduled_for."""


SHORTCUTS: list[tuple[str, str, type[Submission], str]] = [
    ("market-data", "fetch_market_data", MarketDataRequest, "Backfill OHLCV history for symbols."),
    ("portfolio-prices", "refresh_portfolio", PortfolioPricesRequest, "Revalue one portfolio at current prices."),
    ("asset-info", "fetch_asset_info", AssetInfoRequest, "Fetch an instrument's reference data."),
    ("portfolio-performance", "calculate_metrics", PortfolioPerformanceRequest, "Performance metrics over N days."),
    ("portfolio-snapshot", "create_portfolio_snapshot", PortfolioSnapshotRequest, "Snapshot a portfolio (or all)."),
]


def _shortcut(actor: str, model: type[Submission], doc: str) -> Any:
    def create(
        body: model,  # type: ignore[valid-type]
        response: Response,
        client: Client,
        sessions: Sessions,
        caller: Creator,
        idempotency_key: IdempotencyKey = None,
    ) -> TaskCreated:
        given: Submission = body
        parameters = given.model_dump(mode="json", exclude={"priority", "scheduled_for"}, exclude_unset=True)
        request = TaskCreate(
            actor=actor, parameters=parameters, priority=given.priority, scheduled_for=given.scheduled_for
        )
        return _submitted(request, response, client, sessions, caller, idempotency_key)

    # The module postpones annotations, so `body: model` would be resolved later, by name, to the
    # loop's last model: give FastAPI the class itself.
    create.__annotations__["body"] = model
    create.__doc__ = f"{doc} Sends `{actor}`."
    return create


for path, actor_name, model, doc in SHORTCUTS:
    router.add_api_route(
        f"/{path}",
        _shortcut(actor_name, model, doc),
        methods=["POST"],
        response_model=TaskCreated,
        status_code=status.HTTP_201_CREATED,
        responses=CREATED,
        name=f"create_{actor_name}",
    )


# -- one task ---------------------------------------------------------------------------------------
@router.get("/{task_id}", response_model=TaskDetail)
def get_task(task_id: str, db: Db, _: Reader) -> TaskDetail:
    """State, progress, current step, log lines, result and error of one task."""
    task = ledger.get_task(session=db, message_id=text_id("task", task_id))
    error = TaskError(type=task.error_type, message=task.error_message, traceback=task.error_traceback)
    return TaskDetail(
        **summary(task).model_dump(),
        parameters=task.args,
        updated_at=task.updated_at,
        result=task.result_summary,
        error=error if task.error_type else None,
        messages=task.log_tail.splitlines(),
        cancel_requested_at=task.cancel_requested_at,
    )


@router.get("/{task_id}/logs", response_model=TaskLogs)
def task_logs(task_id: str, db: Db, _: Reader) -> TaskLogs:
    return TaskLogs(task_id=task_id, lines=ledger.task_log(session=db, message_id=text_id("task", task_id)))


@router.delete("/{task_id}", response_model=Cancelled)
def cancel(task_id: str, sessions: Sessions, config: Config, _: Canceller) -> Cancelled:
    """Cancel a pending task (skipped when delivered) or a running one (interrupted); 409 if it finished."""
    task = cancel_task(
        text_id("task", task_id), session_factory=sessions, broadcast=RabbitBroadcast(rabbitmq_url=config.rabbitmq_url)
    )
    running = task.state == TaskState.RUNNING.value
    detail = "its worker interrupts it" if running else "its message is skipped when delivered"
    return Cancelled(task_id=task_id, status=TaskState(task.state), detail=detail)


def _submitted(
    request: TaskCreate,
    response: Response,
    client: TickworkClient,
    sessions: SessionFactory,
    caller: Caller,
    key: str | None,
) -> TaskCreated:
    result = submit(request, client=client, session_factory=sessions, caller=caller, idempotency_key=key)
    if result.replayed:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/api/v1/tasks/{result.created.task_id}"
    return result.created
