"""The scheduler's tables: the timetable's jobs (pause state) and each claimed tick."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from services.storage.models.columns import utc_field


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
    paused_at: datetime | None = utc_field(default=None)
    resumed_at: datetime | None = utc_field(default=None)
    next_run_at: datetime | None = utc_field(default=None)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class ScheduledRun(SQLModel, table=True):
    """One tick of one job (or a manual trigger). The primary key is the claim: of two schedulers,
    the one whose insert lands sends the message."""

    __tablename__ = "scheduled_runs"
    __table_args__ = (Index("ix_scheduled_runs_message", "message_id"),)

    job: str = Field(primary_key=True, max_length=64)
    due_at: datetime = utc_field(primary_key=True)
    kind: str = Field(max_length=16)  # scheduled | manual
    outcome: str = Field(max_length=16)  # claimed | sent | skipped
    message_id: str = Field(max_length=128)
    scheduler: str = Field(max_length=128)
    claimed_at: datetime = utc_field()
    sent_at: datetime | None = utc_field(default=None)
    detail: str | None = Field(default=None, max_length=500)
