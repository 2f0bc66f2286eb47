"""Maintenance's tables: the backups catalog and the reports catalog."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.storage.models.columns import utc_field


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
    created_at: datetime = utc_field()
    verified_at: datetime | None = utc_field(default=None)
    verification: str | None = Field(default=None, max_length=1000)  # "ok" or what went wrong
    deleted_at: datetime | None = utc_field(default=None)  # rotated out: the file is gone


# -- market data ------------------------------------------------------------------------------------
# Prices carry 10 decimal places (crypto quotes below a cent); amounts of money carry 4.


class Report(SQLModel, table=True):
    """The reports catalog: one row per portfolio, period kind and period start (a re-run overwrites
    it), naming its HTML and CSV files relative to TICKWORK_REPORTS_DIR, with the figures shown."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("portfolio_id", "kind", "period_start"),)

    id: int | None = Field(default=None, primary_key=True)
    portfolio_id: int = Field(foreign_key="portfolios.id")
    kind: str = Field(max_length=8)  # daily | weekly | monthly
    period_start: date
    period_end: date
    created_at: datetime = utc_field()
    html_path: str = Field(max_length=500)  # relative to the reports folder: an email attachment's name
    csv_path: str = Field(max_length=500)
    html_bytes: int
    csv_bytes: int
    html_sha256: str = Field(max_length=64)
    csv_sha256: str = Field(max_length=64)
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# -- notifications ------------------------------------------------------------------------------------
