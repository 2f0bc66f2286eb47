"""/api/v1/reports: the performance reports catalog and its files (read-only)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel

from services.api.deps import Config, Db, Reader
from services.api.lookups import row_id
from services.contract.fields import INTEGER_MAX
from services.reports.catalog import Report, get_report, list_reports, report_file
from services.storage.db import as_utc

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8"}


class ReportOut(BaseModel):
    """A generated report: its period, its files (relative to TICKWORK_REPORTS_DIR, as an email
    attachment names them), where to download them, and the figures it shows."""

    id: int
    portfolio_id: int
    kind: Literal["daily", "weekly", "monthly"]
    period_start: date
    period_end: date
    created_at: datetime
    html_path: str
    csv_path: str
    html_bytes: int
    csv_bytes: int
    html_sha256: str
    csv_sha256: str
    html_url: str
    csv_url: str
    figures: dict[str, Any]


@router.get("", response_model=list[ReportOut])
def reports(
    db: Db,
    _: Reader,
    portfolio_id: int | None = Query(None, ge=1, le=INTEGER_MAX),
    kind: Literal["daily", "weekly", "monthly"] | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[ReportOut]:
    """Reports, newest period first, optionally of one portfolio or one kind."""
    return [_out(r) for r in list_reports(session=db, portfolio_id=portfolio_id, kind=kind, limit=limit)]


@router.get("/{report_id}", response_model=ReportOut)
def report(report_id: int, db: Db, _: Reader) -> ReportOut:
    """One report's catalog row."""
    return _out(_get(db, report_id))


@router.get("/{report_id}/html", response_class=FileResponse)
def report_html(report_id: int, db: Db, config: Config, _: Reader) -> FileResponse:
    """The report as a self-contained HTML page (inline chart, no scripts)."""
    return _file(_get(db, report_id), "html", Path(config.tickwork_reports_dir))


@router.get("/{report_id}/csv", response_class=FileResponse)
def report_csv(report_id: int, db: Db, config: Config, _: Reader) -> FileResponse:
    """The report as CSV (summary, positions and daily values blocks; see docs)."""
    return _file(_get(db, report_id), "csv", Path(config.tickwork_reports_dir))


def _get(db: Db, report_id: int) -> Report:
    return get_report(session=db, report_id=row_id("report", report_id))  # ReportNotFound is a NotFound: 404


def _file(record: Report, which: Literal["html", "csv"], reports_dir: Path) -> FileResponse:
    path = report_file(record, which, reports_dir=reports_dir)  # a missing file is ReportNotFound: 404
    # The name tells a browser what it saves; the page itself is served inline.
    return FileResponse(path, media_type=MEDIA_TYPES[which], filename=path.name, content_disposition_type="inline")


def _out(record: Report) -> ReportOut:
    base = f"/api/v1/reports/{record.id}"
    return ReportOut(
        **record.model_dump(exclude={"created_at", "kind"}),
        kind=record.kind,
        created_at=as_utc(record.created_at),
        html_url=f"{base}/html",
        csv_url=f"{base}/csv",
    )
