"""The API's tables: tokens, the audit log, idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from services.storage.models.columns import utc_field


class ApiToken(SQLModel, table=True):
    """A bearer token for the REST API. Only a hash of its secret is stored; the secret is shown once."""

    __tablename__ = "api_tokens"

    id: str = Field(primary_key=True, max_length=16)  # public part of the token, `tw_<id>_<secret>`
    name: str = Field(max_length=100)
    secret_sha256: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = utc_field()
    revoked_at: datetime | None = utc_field(default=None)
    last_used_at: datetime | None = utc_field(default=None)


class AuditEntry(SQLModel, table=True):
    """One state-changing API call: who, what, on what, when, and how it ended."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_field()
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
    created_at: datetime = utc_field()
