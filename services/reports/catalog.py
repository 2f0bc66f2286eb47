"""The reports catalog as the API and the CLI read it: list, get one, and find its file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from sqlmodel import Session, col, select

from services.errors import NotFound
from services.storage.models import Report


class ReportNotFound(NotFound):
    """Raised when the catalog has no such report, or its file is missing from the reports folder."""


def list_reports(
    *, session: Session, portfolio_id: int | None = None, kind: str | None = None, limit: int = 100
) -> list[Report]:
    """Reports, newest period first (then by portfolio)."""
    query = select(Report).order_by(col(Report.period_start).desc(), col(Report.portfolio_id), col(Report.kind))
    if portfolio_id is not None:
        query = query.where(Report.portfolio_id == portfolio_id)
    if kind is not None:
        query = query.where(Report.kind == kind)
    return list(session.exec(query.limit(limit)).all())


def get_report(*, session: Session, report_id: int) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise ReportNotFound(f"no report {report_id}")
    return report


def report_file(report: Report, which: Literal["html", "csv"], *, reports_dir: Path) -> Path:
    """The report's HTML or CSV file; refuses a catalog path that leads out of the reports folder."""
    base = reports_dir.resolve()
    path = (base / (report.html_path if which == "html" else report.csv_path)).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        raise ReportNotFound(f"report {report.id}: its {which} file is not in the reports folder")
    return path
