"""`tickwork orders ...` and `tickwork risk ...` on SQLite, in process (click's runner)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from services.cli.main import main
from services.settings import get_settings
from tests.support.trading_books import Clock, Desk


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    return CliRunner()


def test_place_list_show_cancel_and_risk_from_the_cli(cli: CliRunner, database_url: str) -> None:
    desk = Desk(database_url, Clock())
    portfolio = str(desk.fund("1000"))
    desk.instrument("ETH-USD", "crypto", "2000")
    # A rejected order exits 2 with its reason
    rejected = cli.invoke(
        main, ["orders", "place", "--portfolio", portfolio, "--symbol", "ETH-USD", "--side", "buy", "--quantity", "1"]
    )
    assert rejected.exit_code == 2 and "insufficient_cash" in rejected.output
    # A fitting one is placed, listed, shown and cancelled
    args = ["orders", "place", "--portfolio", portfolio, "--symbol", "ETH-USD", "--side", "buy", "--quantity", "0.1"]
    placed = cli.invoke(main, [*args, "--type", "limit", "--limit-price", "1900", "--tif", "gtc", "--json"])
    assert placed.exit_code == 0, placed.output
    order_id = str(json.loads(placed.output)["id"])
    listed = cli.invoke(main, ["orders", "list", "--state", "working", "--json"])
    assert [str(o["id"]) for o in json.loads(listed.output)] == [order_id]
    assert json.loads(cli.invoke(main, ["orders", "show", order_id, "--json"]).output)["fills"] == []
    assert json.loads(cli.invoke(main, ["orders", "cancel", order_id, "--json"]).output)["state"] == "cancelled"
    assert cli.invoke(main, ["orders", "cancel", order_id]).exit_code == 2
    # Risk: set, show, halt (orders refused), resume, kill switch
    assert (
        cli.invoke(main, ["risk", "set", portfolio, "--max-drawdown", "0.2", "--target", "ETH-USD=0.5"]).exit_code == 0
    )
    shown = json.loads(cli.invoke(main, ["risk", "show", portfolio, "--json"]).output)
    assert shown["max_drawdown"] == 0.2 and shown["target_weights"] == {"ETH-USD": 0.5}
    assert "halted" in cli.invoke(main, ["risk", "halt", portfolio, "--reason", "review"]).output
    again = cli.invoke(main, [*args, "--client-order-id", "h"])
    assert again.exit_code == 2 and "trading_halted" in again.output
    assert "resumed" in cli.invoke(main, ["risk", "resume", portfolio, "--reason", "ok"]).output
    assert "ON" in cli.invoke(main, ["risk", "kill-switch", "on", "--reason", "drill"]).output
    assert "off" in cli.invoke(main, ["risk", "kill-switch", "off", "--reason", "drill over"]).output
    events = cli.invoke(main, ["risk", "events", "--portfolio", portfolio, "--json"])
    assert {e["action"] for e in json.loads(events.output)} >= {"set", "halt", "resume"}
