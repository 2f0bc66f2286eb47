"""Every table, in one module (Alembic's autogenerate reads `SQLModel.metadata` from here).

Conventions: money and prices are `Decimal` with explicit digits; timestamps are timezone-aware UTC
(`sa_type=DateTime(timezone=True)`); JSON columns hold what is read whole, never what is queried.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata


def _utc(**kwargs: Any) -> Any:
    return Field(sa_type=DateTime(timezone=True), **kwargs)


class Task(SQLModel, table=True):
    """The task ledger: one row per message a worker saw or a client submitted, keyed by message id."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_state_created", "state", "created_at"),
        Index("ix_tasks_actor_created", "actor", "created_at"),
        Index("ix_tasks_finished", "finished_at"),
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
    created_at: datetime = _utc()
    scheduled_for: datetime | None = _utc(default=None)
    started_at: datetime | None = _utc(default=None)
    finished_at: datetime | None = _utc(default=None)
    updated_at: datetime = _utc()
    worker: str | None = Field(default=None, max_length=128)
    error_type: str | None = Field(default=None, max_length=128)
    error_message: str | None = Field(default=None, sa_column=Column(Text))
    error_traceback: str | None = Field(default=None, sa_column=Column(Text))
    result_summary: str | None = Field(default=None, sa_column=Column(Text))
    log_tail: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    cancel_requested_at: datetime | None = _utc(default=None)


class WorkerProcess(SQLModel, table=True):
    """A worker process, registered at boot and kept fresh by its heartbeat."""

    __tablename__ = "workers"

    id: str = Field(primary_key=True, max_length=128)  # host:pid:started
    host: str = Field(max_length=128)
    pid: int
    queues: str = Field(max_length=512)
    started_at: datetime = _utc()
    heartbeat_at: datetime = _utc()
    stopped_at: datetime | None = _utc(default=None)
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
    at: datetime = _utc()


class ScheduledJob(SQLModel, table=True):
    """A timetable job as the scheduler last saw it, with its runtime state (paused or not).

    The scheduler writes the definition columns at start-up and `next_run_at` as it goes; operators
    write `paused`. The API and CLI read jobs from here, so they need neither periodiq nor the actors."""

    __tablename__ = "scheduled_jobs"

    name: str = Field(primary_key=True, max_length=64)
    actor: str = Field(max_length=128)
    schedule: str = Field(max_length=200)  # human-readable: cron spec, timezone and market gate
    args: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    grace_s: float
    overdue_after_s: float
    description: str = Field(default="", max_length=500)
    active: bool = True  # False while the actor is not implemented in this deployment
    paused: bool = False
    paused_by: str | None = Field(default=None, max_length=128)
    paused_at: datetime | None = _utc(default=None)
    resumed_at: datetime | None = _utc(default=None)
    next_run_at: datetime | None = _utc(default=None)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class ScheduledRun(SQLModel, table=True):
    """One tick of one job (or a manual trigger). The primary key is the claim: of two schedulers,
    the one whose insert lands sends the message."""

    __tablename__ = "scheduled_runs"
    __table_args__ = (Index("ix_scheduled_runs_message", "message_id"),)

    job: str = Field(primary_key=True, max_length=64)
    due_at: datetime = _utc(primary_key=True)
    kind: str = Field(max_length=16)  # scheduled | manual
    outcome: str = Field(max_length=16)  # claimed | sent | skipped
    message_id: str = Field(max_length=128)
    scheduler: str = Field(max_length=128)
    claimed_at: datetime = _utc()
    sent_at: datetime | None = _utc(default=None)
    detail: str | None = Field(default=None, max_length=500)


class Alert(SQLModel, table=True):
    """An alert raised by a check (an overdue job, ...): open until its condition clears."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_key_open", "key", "resolved_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)  # what it is about, e.g. "job_overdue:prices-extended-hours"
    kind: str = Field(max_length=64)
    severity: str = Field(max_length=16)  # info | warning | critical
    title: str = Field(max_length=200)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    raised_at: datetime = _utc()
    last_seen_at: datetime = _utc()
    resolved_at: datetime | None = _utc(default=None)


class ApiToken(SQLModel, table=True):
    """A bearer token for the REST API. Only a hash of its secret is stored; the secret is shown once."""

    __tablename__ = "api_tokens"

    id: str = Field(primary_key=True, max_length=16)  # public part of the token, `tw_<id>_<secret>`
    name: str = Field(max_length=100)
    secret_sha256: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc()
    revoked_at: datetime | None = _utc(default=None)
    last_used_at: datetime | None = _utc(default=None)


class AuditEntry(SQLModel, table=True):
    """One state-changing API call: who, what, on what, when, and how it ended."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _utc()
    who: str = Field(max_length=128)  # "token:<id> (<name>)"
    action: str = Field(max_length=64)  # e.g. task.create, task.cancel, dlq.replay
    target: str = Field(default="", max_length=500)
    status: int
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class IdempotencyKey(SQLModel, table=True):
    """An `Idempotency-Key` already used to create a task: a repeat gets the first answer back."""

    __tablename__ = "idempotency_keys"

    key: str = Field(primary_key=True, max_length=200)
    token_id: str = Field(primary_key=True, max_length=16)
    request_sha256: str = Field(max_length=64)
    task_id: str = Field(max_length=128)
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc()


class Backup(SQLModel, table=True):
    """The backup catalog: one row per backup file, with what verification found."""

    __tablename__ = "backups"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    path: str = Field(max_length=1000)
    engine: str = Field(max_length=16)  # postgresql | sqlite
    size_bytes: int = Field(sa_type=BigInteger)
    sha256: str = Field(max_length=64)
    row_counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc()
    verified_at: datetime | None = _utc(default=None)
    verification: str | None = Field(default=None, max_length=1000)  # "ok" or what went wrong
    deleted_at: datetime | None = _utc(default=None)  # rotated out: the file is gone
