"""/api/v1/bots in process (FastAPI's TestClient) and `tickwork bots` (click's runner) on SQLite and
PostgreSQL: create, list, show, change, pause, resume, signals, delete; errors and scopes."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.api.tokens import create_token
from services.cli.main import main
from services.settings import Settings
from services.storage.db import session_scope
from tests.support.bots import PARAMS, BotDesk
from tests.support.trading_books import Clock, Desk

pytestmark = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def desk(database_url: str) -> Desk:
    desk = Desk(database_url, Clock())
    desk.fund("10000")
    desk.instrument("BTC-USD", "crypto", "94")
    return desk


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=database_url, tickwork_env="test"))) as client:
        yield client


def token(database_url: str, *scopes: str) -> dict[str, str]:
    with session_scope(database_url) as session:
        _, secret = create_token(session=session, name="ops", scopes=scopes)
    return {"Authorization": f"Bearer {secret}"}


def test_managing_a_bot_over_the_api(api: TestClient, desk: Desk) -> None:
    ops = token(desk.url, "admin")
    body = {
        "name": "btc-ema",
        "portfolio_id": desk.portfolio_id,
        "symbol": "BTC-USD",
        "params": PARAMS,
        "stop_loss_pct": "2",
        "take_profit_pct": "5",
        "max_trades_per_day": 3,
    }
    created = api.post("/api/v1/bots", json=body, headers=ops)
    assert created.status_code == 201, created.text
    bot = created.json()
    assert (bot["state"], bot["strategy"], D(bot["stop_loss_pct"])) == ("idle", "ema_crossover_rsi", D(2))
    # A configuration that cannot run is refused with the reason; an unknown bot is 404
    bad = api.post("/api/v1/bots", json={**body, "name": "x", "stop_loss_pct": None}, headers=ops)
    assert bad.status_code == 422 and "go together" in bad.json()["error"]
    assert api.get("/api/v1/bots/999", headers=ops).status_code == 404
    # Change, pause, resume
    changed = api.put(f"/api/v1/bots/{bot['id']}", json={"max_trades_per_day": 5}, headers=ops)
    assert changed.status_code == 200 and changed.json()["max_trades_per_day"] == 5
    assert api.post(f"/api/v1/bots/{bot['id']}/pause", headers=ops).json()["state"] == "paused"
    assert api.get("/api/v1/bots", params={"state": "paused"}, headers=ops).json()[0]["id"] == bot["id"]
    assert api.post(f"/api/v1/bots/{bot['id']}/resume", headers=ops).json()["state"] == "idle"
    # A run's signal is listed
    BotDesk(desk).run(bot["id"])
    (signal,) = api.get(f"/api/v1/bots/{bot['id']}/signals", headers=ops).json()
    assert (signal["action"], signal["outcome"]) == ("buy", "traded") and signal["order_id"]
    # A reader cannot change bots; delete answers 204
    reader = token(desk.url, "read")
    assert api.post(f"/api/v1/bots/{bot['id']}/pause", headers=reader).status_code == 403
    assert api.delete(f"/api/v1/bots/{bot['id']}", headers=ops).status_code == 204
    assert api.get("/api/v1/bots", headers=ops).json() == []


def test_managing_a_bot_from_the_cli(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", desk.url)
    runner = CliRunner()

    def tickwork(*args: str) -> str:
        result = runner.invoke(main, ["bots", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    out = tickwork(
        "create",
        "--name",
        "cli-bot",
        "--portfolio",
        str(desk.portfolio_id),
        "--symbol",
        "BTC-USD",
        "--params",
        '{"fast": 3, "slow": 6, "rsi_window": 5}',
        "--sizing-value",
        "500",
    )
    assert "cli-bot" in out
    assert "cli-bot" in tickwork("list")
    bot_id = 1
    assert "paused" in tickwork("pause", str(bot_id))
    assert "idle" in tickwork("resume", str(bot_id))
    BotDesk(desk).run(bot_id)
    assert "traded" in tickwork("signals", str(bot_id))
    assert '"sizing_value": "500' in tickwork("show", str(bot_id), "--json")
    refused = runner.invoke(
        main, ["bots", "create", "--name", "x", "--portfolio", str(desk.portfolio_id), "--symbol", "NOPE"]
    )
    assert refused.exit_code != 0 and "no instrument" in refused.output
    assert "deleted" in tickwork("delete", str(bot_id), "--yes")


def test_seed_demo_adds_the_demo_bots_once(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    first = CliRunner().invoke(main, ["seed-demo"])
    second = CliRunner().invoke(main, ["seed-demo"])
    assert first.exit_code == 0 and first.output.strip().endswith("3 bots"), first.output
    assert second.output.strip().endswith(", 0 bots")
    assert "demo-btc-ema-rsi" in CliRunner().invoke(main, ["bots", "list"]).output
