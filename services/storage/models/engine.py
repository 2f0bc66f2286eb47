"""The message engine's tables: the task ledger, worker processes, dead-letter actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from services.storage.models.columns import utc_field


class Task(SQLModel, table=True):
    """The task ledger: one row per message a worker saw or a client submitted, keyed by message id."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_finished", "finished_at"),
        # Keyset pages (the console's task list): newest first, each filter walking its own index in order.
        Index("ix_tasks_created_id", "created_at", "message_id"),
        Index("ix_tasks_state_created_id", "state", "created_at", "message_id"),
        Index("ix_tasks_queue_created_id", "queue", "created_at", "message_id"),
        Index("ix_tasks_actor_created_id", "actor", "created_at", "message_id"),
        Index("ix_tasks_rerun_of", "rerun_of"),
    )

    message_id: str = Field(primary_key=True, max_length=128)
    actor: str = Field(max_length=128)
    queue: str = Field(max_length=64)
    priority: str = Field(max_length=16)
    args: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(max_length=16)
    attempts: int = 0
    progress: float = 0.0
    current_step: str | None = Field(default=None, max_length=200)
    created_at: datetime = utc_field()
    scheduled_for: datetime | None = utc_field(default=None)
    started_at: datetime | None = utc_field(default=None)
    finished_at: datetime | None = utc_field(default=None)
    updated_at: datetime = utc_field()
    worker: str | None = Field(default=None, max_length=128)
    error_type: str | None = Field(default=None, max_length=128)
    error_message: str | None = Field(default=None, sa_column=Column(Text))
    error_traceback: str | None = Field(default=None, sa_column=Column(Text))
    result_summary: str | None = Field(default=None, sa_column=Column(Text))
    log_tail: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    cancel_requested_at: datetime | None = utc_field(default=None)
    rerun_of: str | None = Field(default=None, max_length=128)  # the task whose arguments this one ran again


class WorkerProcess(SQLModel, table=True):
    """A worker process, registered at boot and kept fresh by its heartbeat."""

    __tablename__ = "workers"

    id: str = Field(primary_key=True, max_length=128)  # host:pid:started
    host: str = Field(max_length=128)
    pid: int
    queues: str = Field(max_length=512)
    started_at: datetime = utc_field()
    heartbeat_at: datetime = utc_field()
    stopped_at: datetime | None = utc_field(default=None)
    in_flight: int = 0
    processed: int = 0
    failed: int = 0


class DeadLetterAction(SQLModel, table=True):
    """A replay or purge of dead letters: who asked, what matched, how many moved."""

    __tablename__ = "dead_letter_actions"

    id: int | None = Field(default=None, primary_key=True)
    action: str = Field(max_length=16)  # replay | purge
    queue: str = Field(max_length=64)
    selector: str = Field(max_length=500)  # the filter, as given
    message_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    count: int = 0
    requested_by: str = Field(max_length=128)
    at: datetime = utc_field()
