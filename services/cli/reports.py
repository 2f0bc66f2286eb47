"""`tickwork reports list|show`: the performance reports catalog, from a shell."""

from __future__ import annotations

from pathlib import Path

import click

from services.cli.database import in_transaction
from services.cli.output import emit, emit_one
from services.cli.settings import Failure, settings_or_exit

COLUMNS = ("id", "portfolio_id", "kind", "period_start", "period_end", "created_at", "html_path", "csv_path")


@click.group()
def reports() -> None:
    """Performance reports (HTML and CSV) per portfolio and period."""


@reports.command("list")
@click.option("--portfolio", "portfolio_id", type=int, default=None, help="Only this portfolio's reports.")
@click.option("--kind", type=click.Choice(["daily", "weekly", "monthly"]), default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_(portfolio_id: int | None, kind: str | None, limit: int, as_json: bool) -> None:
    """The catalog, newest period first; paths are relative to TICKWORK_REPORTS_DIR."""
    from services.reports.catalog import list_reports

    found = in_transaction(
        lambda session: list_reports(session=session, portfolio_id=portfolio_id, kind=kind, limit=limit)
    )
    emit([r.model_dump(exclude={"figures"}) for r in found], COLUMNS, as_json=as_json)


@reports.command("show")
@click.argument("report_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def show(report_id: int, as_json: bool) -> None:
    """One report: its catalog row, the files' full paths, and the figures it shows."""
    from services.reports.catalog import ReportNotFound, get_report

    settings = settings_or_exit()
    try:
        record = in_transaction(lambda session: get_report(session=session, report_id=report_id))
    except ReportNotFound as error:
        raise Failure(str(error)) from None
    folder = Path(settings.tickwork_reports_dir).resolve()
    emit_one(
        record.model_dump() | {"html_file": str(folder / record.html_path), "csv_file": str(folder / record.csv_path)},
        as_json=as_json,
    )
