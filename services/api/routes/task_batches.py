"""POST /api/v1/tasks/batch: up to 1,000 tasks in one request, all sent or none. Its own router, so
that `create_app` gives it its own body limit (`TICKWORK_API_MAX_BATCH_BODY_BYTES`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response, status

from services.api.access import refusal_for, scope_for_actor, with_requester
from services.api.deps import Client, Sessions, Submitter
from services.api.routes.tasks import IdempotencyKey
from services.api.schemas import Problem, TaskBatch, TaskBatchCreated
from services.api.submit_batch import submit_batch
from services.api.tokens import Caller

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])

CREATED: dict[int | str, dict[str, Any]] = {
    200: {
        "model": TaskBatchCreated,
        "description": "An idempotent replay: this Idempotency-Key and body were submitted before; the first "
        "answer is returned (header `Idempotent-Replayed: true`) and nothing is sent again",
        "headers": {"Idempotent-Replayed": {"schema": {"type": "string"}, "description": "`true`"}},
    },
    201: {"description": "Every task confirmed by RabbitMQ and recorded `pending` in the ledger"},
    422: {
        "model": Problem,
        "description": "An empty batch, more than 1,000 tasks, or a task that fails its checks "
        "(`detail.index` names it): none of the batch is sent",
    },
}


@router.post("/batch", response_model=TaskBatchCreated, status_code=status.HTTP_201_CREATED, responses=CREATED)
def create_tasks(
    body: TaskBatch,
    response: Response,
    client: Client,
    sessions: Sessions,
    caller: Submitter,
    idempotency_key: IdempotencyKey = None,
) -> TaskBatchCreated:
    """Submit 1 to 1,000 tasks, each as `POST /api/v1/tasks` takes it, in one request: every one is
    checked against its actor's schema before any is sent, and a batch with one invalid task sends none.
    Each task needs the scope its actor needs (`notify` for the notification actors, `create` otherwise).
    The answer lists each task's id in the order of the request."""
    _authorize(body, caller)
    request = TaskBatch(tasks=[with_requester(task, caller) for task in body.tasks])
    result = submit_batch(
        request, client=client, session_factory=sessions, caller=caller, idempotency_key=idempotency_key
    )
    if result.replayed:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    return result.created


def _authorize(body: TaskBatch, caller: Caller) -> None:
    for index, task in enumerate(body.tasks):
        refused = refusal_for(caller, frozenset({scope_for_actor(task.actor)}), token_given=True)
        if refused is not None:
            raise HTTPException(refused.status_code, f"tasks[{index}] ({task.actor}): {refused.detail}")
