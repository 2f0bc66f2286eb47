"""Request and response bodies of the API (they make its OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from services.api.strict import PRINTABLE, JsonBool, Timestamp
from services.contract.fields import json_number
from services.engine.dead_letters import DeadLetterSummary
from services.engine.ledger.states import TaskState
from services.engine.priority import Priority


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetryOverride(Strict):
    """Overrides of the actor's retry policy for this one task."""

    max_retries: Annotated[int, Field(ge=0, le=20), BeforeValidator(json_number)] | None = None
    first_delay_s: Annotated[float, Field(gt=0, le=3600), BeforeValidator(json_number)] | None = None
    max_delay_s: Annotated[float, Field(gt=0, le=24 * 3600), BeforeValidator(json_number)] | None = None
    jitter: Annotated[float, Field(ge=0, le=1), BeforeValidator(json_number)] | None = None


class TaskCreate(Strict):
    actor: str = Field(min_length=1, max_length=128, examples=["fetch_market_data"])
    parameters: dict[str, Any] = Field(default_factory=dict, description="The actor's arguments (its JSON Schema)")
    priority: Priority | None = Field(None, description="Default: the actor's own")
    scheduled_for: Timestamp | None = Field(None, description="Run no earlier than this (at most 30 days ahead)")
    retry_policy: RetryOverride | None = None


MAX_BATCH = 1000  # tasks in one POST /api/v1/tasks/batch


class TaskBatch(Strict):
    tasks: list[TaskCreate] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"1 to {MAX_BATCH} tasks, each as `POST /api/v1/tasks` takes it; all are sent or none",
    )


class TaskBatchCreated(BaseModel):
    count: int
    tasks: list[TaskCreated] = Field(description="One per task of the request, in its order")


class Submission(Strict):
    """Options every typed shortcut accepts besides the actor's own arguments."""

    priority: Priority | None = None
    scheduled_for: Timestamp | None = None


class TaskCreated(BaseModel):
    task_id: str
    status: TaskState
    actor: str
    queue: str
    priority: Priority
    created_at: datetime
    scheduled_for: datetime | None


class TaskSummary(BaseModel):
    task_id: str
    actor: str
    queue: str
    priority: str
    status: str
    attempts: int
    progress: float
    current_step: str | None
    created_at: datetime
    scheduled_for: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    worker: str | None


class TaskError(BaseModel):
    type: str | None
    message: str | None
    traceback: str | None


class TaskDetail(TaskSummary):
    parameters: dict[str, Any]
    updated_at: datetime
    result: str | None
    error: TaskError | None
    messages: list[str] = Field(description="The task's last log lines")
    cancel_requested_at: datetime | None


class TaskPage(BaseModel):
    items: list[TaskSummary]
    total: int
    limit: int
    offset: int


class TaskLogs(BaseModel):
    task_id: str
    lines: list[str]


class Cancelled(BaseModel):
    task_id: str
    status: TaskState
    detail: str


class Worker(BaseModel):
    id: str
    host: str
    pid: int
    queues: list[str]
    status: str
    started_at: datetime
    heartbeat_at: datetime
    in_flight: int
    processed: int
    failed: int


class JobStatus(BaseModel):
    name: str
    actor: str
    schedule: str
    state: str
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_run_state: str | None
    last_success_at: datetime | None
    description: str


class JobToggle(Strict):
    paused: JsonBool | None = Field(None, description="Omit to flip the current state")


class JobTriggered(BaseModel):
    job: str
    task_id: str
    actor: str
    queue: str


class DeadLetterOut(DeadLetterSummary):
    """A dead letter in a list (its fields are defined once, by the engine's DeadLetterSummary)."""


class DeadLetterDetail(DeadLetterOut):
    message: dict[str, Any] | None = Field(description="The original message (None when unreadable)")


class DeadLetterSelection(Strict):
    """Which dead letters: one `message_id`, or all matching `actor` and/or `reason`, or `all`."""

    message_id: str | None = Field(None, max_length=128, pattern=PRINTABLE)
    actor: str | None = Field(None, max_length=128, pattern=PRINTABLE)
    reason: str | None = Field(None, max_length=64, pattern=PRINTABLE)
    all: JsonBool = Field(False, description="Every dead letter: only a JSON `true` selects them")


class DeadLetterAction(BaseModel):
    action: str
    count: int
    message_ids: list[str]


class Queue(BaseModel):
    queue: str
    kind: str
    ready: int
    consumers: int
    unacked: int | None
    publish_rate: float | None
    deliver_rate: float | None
    ack_rate: float | None


class Problem(BaseModel):
    """Every error answer."""

    error: str
    detail: Any = None
