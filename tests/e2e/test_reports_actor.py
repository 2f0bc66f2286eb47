"""generate_reports on a real worker, as the timetable sends it, and the API serving its files."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from services.storage.db import session_scope
from services.storage.models import CashFlow, Instrument, Portfolio, PortfolioSnapshot, Trade
from tests.support.ledger import wait_state
from tests.support.workers import ROOT

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.both_databases,
]


@pytest.fixture
def worker_env(worker_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Workers and the API share one reports folder, as they do when deployed."""
    return {**worker_env, "TICKWORK_REPORTS_DIR": str(tmp_path / "reports")}


def seed(database_url: str) -> int:
    with session_scope(database_url) as session:
        instrument = Instrument(symbol="MSFT", asset_class="equity")
        portfolio = Portfolio(name="E2E <book>", account="carol", created_at=datetime(2026, 11, 1, tzinfo=UTC))
        session.add_all([instrument, portfolio])
        session.flush()
        session.add(CashFlow(portfolio_id=portfolio.id, at=datetime(2026, 11, 2, 15, tzinfo=UTC), amount=D("10000")))
        session.add(
            Trade(
                portfolio_id=portfolio.id,
                instrument_id=instrument.id,
                side="buy",
                quantity=D("10"),
                price=D("400"),
                fee=D("2.5"),
                executed_at=datetime(2026, 11, 18, 15, tzinfo=UTC),
            )
        )
        for day, value in ((17, "10000"), (18, "10097.5")):
            session.add(
                PortfolioSnapshot(
                    portfolio_id=portfolio.id,
                    day=date(2026, 11, day),
                    taken_at=datetime(2026, 11, day, 21, 30, tzinfo=UTC),
                    cash=D(0),
                    market_value=D(0),
                    total_value=D(value),
                    cost_basis=D(0),
                    unrealized_pnl=D(0),
                )
            )
        return portfolio.id or 0


def test_generate_reports_runs_on_a_worker_and_the_api_serves_its_files(
    start_workers, client, api, database_url, worker_env
):
    # Given a portfolio with a trade on the 18th, and a worker on the maintenance queue
    pid = seed(database_url)
    start_workers(queues=["maintenance"])
    # When the daily reports of the 18th are asked for
    sent = client.send("generate_reports", {"period": "daily", "as_of": "2026-11-18"})
    task = wait_state(database_url, sent.message_id, "completed", timeout=60)
    # Then the report is written into the reports folder, and the API lists and serves it
    assert "1 daily reports for 2026-11-18" in task.result_summary
    folder = Path(worker_env["TICKWORK_REPORTS_DIR"])
    assert (folder / "daily" / str(pid) / "2026-11-18.csv").is_file()
    token = api.token("read")
    [listed] = api.call("GET", f"/api/v1/reports?portfolio_id={pid}&kind=daily", token).json()
    assert (listed["period_start"], listed["html_path"]) == ("2026-11-18", f"daily/{pid}/2026-11-18.html")
    assert listed["figures"]["change"] == "97.5000" and listed["figures"]["volume"] == "4000.0000"

    page = api.call("GET", listed["html_url"], token)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "E2E &lt;book&gt;" in page.text and page.text.count("<circle ") == 1
    table = api.call("GET", listed["csv_url"], token)
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    assert table.content == (folder / listed["csv_path"]).read_bytes()
    figures = dict(csv.reader(io.StringIO(table.text.split("\n\n")[0])))
    assert (figures["trades"], figures["fees"], figures["closing_value"]) == ("1", "2.5000", "10097.5000")

    assert api.call("GET", listed["html_url"]).status_code == 401
    assert api.call("GET", "/api/v1/reports/999999/csv", token).status_code == 404
    assert api.call("GET", "/api/v1/reports?kind=yearly", token).status_code == 422

    # and the CLI shows the same catalog, with the files' full paths
    def tickwork(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(Path(sys.executable).with_name("tickwork")), "reports", *args]
        return subprocess.run(command, cwd=ROOT, env=worker_env, capture_output=True, text=True, timeout=60)

    [row] = json.loads(tickwork("list", "--kind", "daily", "--json").stdout)
    assert (row["id"], row["csv_path"]) == (listed["id"], listed["csv_path"])
    shown = json.loads(tickwork("show", str(listed["id"]), "--json").stdout)
    assert Path(shown["html_file"]) == (folder / listed["html_path"]).resolve()
    assert shown["figures"]["trades"] == 1
    missing = tickwork("show", "999999")
    assert missing.returncode == 2 and "no report 999999" in missing.stderr
