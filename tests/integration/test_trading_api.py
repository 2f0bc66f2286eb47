"""/api/v1/orders and /api/v1/risk in process (FastAPI's TestClient) on SQLite and PostgreSQL:
placing answers 201, 200 for the same client order id, 422 with the reason when rejected; scopes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from services.api.app import create_app
from services.api.tokens import create_token
from services.settings import Settings
from services.storage.db import session_scope
from services.storage.models import AuditEntry
from tests.support.trading_books import Clock, Desk

pytestmark = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def desk(database_url: str) -> Desk:
    desk = Desk(database_url, Clock())
    desk.fund("10000")
    desk.instrument("BTC-USD", "crypto", "50000")
    return desk


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, tickwork_env="test")
    with TestClient(create_app(settings)) as client:
        yield client


def token(database_url: str, *scopes: str) -> dict[str, str]:
    with session_scope(database_url) as session:
        _, secret = create_token(session=session, name="trader", scopes=scopes)
    return {"Authorization": f"Bearer {secret}"}


def test_placing_showing_listing_and_cancelling_an_order(api: TestClient, desk: Desk) -> None:
    trader = token(desk.url, "create", "read", "cancel")
    body = {
        "portfolio_id": desk.portfolio_id,
        "symbol": "BTC-USD",
        "side": "buy",
        "type": "limit",
        "quantity": "0.05",
        "limit_price": "49000",
        "time_in_force": "gtc",
        "client_order_id": "api-1",
    }
    # When an order is placed, then 201; the same client order id again answers 200 with the same order
    first = api.post("/api/v1/orders", json=body, headers=trader)
    assert first.status_code == 201, first.text
    again = api.post("/api/v1/orders", json={**body, "quantity": "1"}, headers=trader)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    order_id = first.json()["id"]
    assert first.json()["state"] == "working" and first.json()["placed_by"] == "trader"
    # It is listed by portfolio, state and symbol, and shown with its (no) fills
    listed = api.get(
        "/api/v1/orders",
        params={"portfolio_id": desk.portfolio_id, "state": "working", "symbol": "BTC-USD"},
        headers=trader,
    )
    assert [o["id"] for o in listed.json()] == [order_id]
    assert api.get(f"/api/v1/orders/{order_id}", headers=trader).json()["fills"] == []
    # Cancelling it answers the cancelled order; a second cancel is a conflict
    assert api.delete(f"/api/v1/orders/{order_id}", headers=trader).json()["state"] == "cancelled"
    assert api.delete(f"/api/v1/orders/{order_id}", headers=trader).status_code == 409
    assert api.get("/api/v1/orders/999999", headers=trader).status_code == 404


def test_a_rejected_order_answers_422_with_its_reason(api: TestClient, desk: Desk) -> None:
    trader = token(desk.url, "create", "read")
    body = {"portfolio_id": desk.portfolio_id, "symbol": "BTC-USD", "side": "buy", "quantity": "1"}
    reply = api.post("/api/v1/orders", json=body, headers=trader)
    assert reply.status_code == 422
    assert reply.json()["detail"]["reason"] == "insufficient_cash"
    assert reply.json()["error"] == "order rejected: insufficient_cash"
    assert api.get("/api/v1/orders", params={"state": "rejected"}, headers=trader).json()[0]["reason"] == (
        "insufficient_cash"
    )


def test_scopes_guard_placing_cancelling_and_risk_changes(api: TestClient, desk: Desk) -> None:
    reader = token(desk.url, "read")
    body = {"portfolio_id": desk.portfolio_id, "symbol": "BTC-USD", "side": "buy", "quantity": "0.01"}
    assert api.post("/api/v1/orders", json=body, headers=reader).status_code == 403
    assert api.put("/api/v1/risk/kill-switch", json={"halted": True, "reason": "x"}, headers=reader).status_code == 403


def test_risk_limits_halt_resume_and_the_kill_switch(api: TestClient, desk: Desk) -> None:
    admin, trader = token(desk.url, "admin"), token(desk.url, "create", "read")
    path = f"/api/v1/risk/portfolios/{desk.portfolio_id}"
    changed = api.put(path, json={"max_drawdown": 0.15, "max_order_value": "2000"}, headers=admin)
    assert changed.status_code == 200 and changed.json()["max_drawdown"] == 0.15
    assert api.put(path, json={"max_order_value": None}, headers=admin).json()["max_order_value"] is None
    assert api.put(path, json={"allow_short": True}, headers=admin).status_code == 400
    order = {"portfolio_id": desk.portfolio_id, "symbol": "BTC-USD", "side": "buy", "quantity": "0.01"}
    # A halted portfolio rejects new orders until resumed
    assert api.post(f"{path}/halt", json={"reason": "review"}, headers=admin).json()["halted"] is True
    assert api.post("/api/v1/orders", json=order, headers=trader).json()["detail"]["reason"] == "trading_halted"
    assert api.post(f"{path}/resume", json={"reason": "ok"}, headers=admin).json()["halted"] is False
    assert api.post("/api/v1/orders", json=order, headers=trader).status_code == 201
    # The kill switch halts all trading
    assert api.put("/api/v1/risk/kill-switch", json={"halted": True, "reason": "outage"}, headers=admin).json()[
        "halted"
    ]
    assert api.post("/api/v1/orders", json={**order, "client_order_id": "k"}, headers=trader).status_code == 422
    events = api.get("/api/v1/risk/events", params={"portfolio_id": desk.portfolio_id}, headers=trader).json()
    assert {(e["rule"], e["action"]) for e in events} >= {("halt", "halt"), ("halt", "resume"), ("kill_switch", "halt")}
    # Every change was audited: the audit line is written as the answer starts, after the route's own
    # transaction committed (on SQLite it used to wait out the busy timeout on it, and was lost)
    with session_scope(desk.url) as session:
        audited = session.exec(select(AuditEntry.action).where(col(AuditEntry.action).like("% /api/v1/risk/%"))).all()
    assert len(audited) == 6
