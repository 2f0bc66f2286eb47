"""End to end from the API: an order placed over HTTP fills on the next sandbox price (the price
refresh sends process_orders for it), and the trade shows in the portfolio's valuation and in the
daily report."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from services.storage.db import session_scope
from services.storage.models import Instrument
from tests.support.ledger import wait_state
from tests.support.trading_books import Clock, Desk
from tests.support.workers import wait_for

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.slow,
    pytest.mark.parametrize(
        "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
    ),
]


@pytest.fixture
def worker_env(worker_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**worker_env, "TICKWORK_REPORTS_DIR": str(tmp_path / "reports")}


def test_an_order_placed_over_the_api_fills_on_the_next_sandbox_price_and_shows_in_valuation_and_report(
    start_workers, client, api, database_url, sandbox
):
    # Given a funded portfolio, BTC-USD priced by the sandbox's Binance, and workers on every queue used
    desk = Desk(database_url, Clock(datetime.now(UTC)))
    portfolio_id = desk.fund("100000", account="dana")
    with session_scope(database_url) as session:
        session.add(
            Instrument(
                symbol="BTC-USD", asset_class="crypto", providers=["binance"], provider_symbols={"binance": "BTCUSDT"}
            )
        )
    start_workers(queues=["refresh", "orders", "maintenance"], threads=2, **sandbox.env)
    first = client.send("refresh_all_prices", {})
    wait_state(database_url, first.message_id, "completed", timeout=60)
    # When a market buy is placed over the API
    trader = api.token("create", "read")
    body = {"portfolio_id": portfolio_id, "symbol": "BTC-USD", "side": "buy", "quantity": "0.5", "time_in_force": "gtc"}
    placed = api.call("POST", "/api/v1/orders", trader, json=body)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    # ... and the next price arrives: Binance stamps a price with its HTTP Date header, whole seconds,
    # and a price stamped before the order was placed is not one it can fill on, so wait a second out
    time.sleep(1.05 - datetime.now(UTC).microsecond / 1e6)
    client.send("refresh_all_prices", {})

    def filled() -> dict | None:
        order = api.call("GET", f"/api/v1/orders/{order_id}", trader).json()
        return order if order["state"] == "filled" else None

    order = wait_for(filled, 60, "the order to fill on the next price", interval=0.2)
    # Then it filled once, at that price, and the fill is a trade of the portfolio
    [fill] = order["fills"]
    assert D(fill["quantity"]) == D("0.5") and fill["rule"] == "tick.buy_market"
    [trade] = desk.trades()
    assert trade.external_id == fill["id"]
    # The valuation shows the position, and the daily report counts the trade
    valued = client.send("update_positions", {"portfolio_id": portfolio_id})
    wait_state(database_url, valued.message_id, "completed", timeout=60)
    view = api.call("GET", f"/api/v1/portfolios/{portfolio_id}", trader).json()
    [position] = view["positions"]
    assert position["symbol"] == "BTC-USD" and D(str(position["quantity"])) == D("0.5")
    assert D(str(view["cash"])) == D("100000") - D("0.5") * D(fill["price"]) - D(fill["fee"])
    report = client.send("generate_reports", {"period": "daily", "portfolio_id": portfolio_id})
    wait_state(database_url, report.message_id, "completed", timeout=90)
    [listed] = api.call("GET", f"/api/v1/reports?portfolio_id={portfolio_id}&kind=daily", trader).json()
    assert listed["figures"]["trades"] == 1
