"""run_bot's decisions with hand-written fakes for its collaborators (clock, bars reader, orders
service) on a scratch SQLite file: what it asks the orders service for, and what it does with the answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, SQLModel

from services.bots.admin import create_bot
from services.bots.runs import run_bot
from services.storage.db import make_engine, session_factory
from services.storage.models import AssetInfo, Instrument, Order, Portfolio
from services.trading.placing import OrderRequest, Placed
from tests.support.bots import PARAMS, FixedBars

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


@dataclass
class RecordingOrders:
    """The orders service as a fake: records each request and answers accepted (or rejected)."""

    reject_with: str | None = None
    requests: list[OrderRequest] = field(default_factory=list)

    def __call__(self, *, session: Session, request: OrderRequest, placed_by: str, now: datetime) -> Placed:
        self.requests.append(request)
        state = "rejected" if self.reject_with else "working"
        order = Order(
            portfolio_id=request.portfolio_id,
            symbol=request.symbol,
            client_order_id=request.client_order_id or "",
            side=request.terms.side.value,
            type=request.terms.type.value,
            quantity=request.terms.quantity,
            state=state,
            reason=self.reject_with,
            remaining_quantity=request.terms.quantity,
            placed_at=now,
            updated_at=now,
            placed_by=placed_by,
        )
        session.add(order)  # stored as the real service would, so the signal can point at it
        session.flush()
        return Placed(order, created=True)


@pytest.fixture
def factory(tmp_path: Path) -> Any:
    url = f"sqlite:///{tmp_path / 'bots.db'}"
    SQLModel.metadata.create_all(make_engine(url))
    sessions = session_factory(url)
    with sessions() as session:
        session.add(Portfolio(id=1, name="p", account="a", created_at=NOW))
        session.add(Instrument(id=1, symbol="BTC-USD", asset_class="crypto", last_price=D(94)))
    return sessions


def bot(factory: Any, **fields: Any) -> int:
    values = {
        "name": "b",
        "portfolio_id": 1,
        "symbol": "BTC-USD",
        "strategy": "ema_crossover_rsi",
        "params": PARAMS,
        **fields,
    }
    with factory() as session:
        return create_bot(session=session, fields=values, by="t", now=NOW).bot.id or 0


def run(factory: Any, bot_id: int, orders: RecordingOrders) -> Any:
    return run_bot(session_factory=factory, bot_id=bot_id, place_order=orders, clock=lambda: NOW, read_bars=FixedBars())


def test_an_entry_asks_for_a_market_bracket_sized_and_keyed_by_the_run(factory: Any) -> None:
    orders = RecordingOrders()
    result = run(factory, bot(factory, sizing_value=D(500), stop_loss_pct=D(2), take_profit_pct=D(5)), orders)
    (request,) = orders.requests
    assert (request.terms.side, request.terms.type, request.terms.quantity) == ("buy", "market", D("5.31914893"))
    assert (request.stop_loss, request.take_profit) == (D("92.12"), D("98.70"))
    assert request.client_order_id and request.client_order_id.endswith("-entry")
    assert result.outcome == "traded" and result.order_id == 1


def test_a_rejected_order_is_a_run_without_a_trade_with_the_reason(factory: Any) -> None:
    result = run(factory, bot(factory), RecordingOrders(reject_with="insufficient_cash"))
    assert result.outcome == "no_trade" and result.reason.endswith("rejected: insufficient_cash")


def test_under_the_venues_minimum_notional_nothing_is_asked(factory: Any) -> None:
    with factory() as session:
        session.add(
            AssetInfo(instrument_id=1, source="binance", fetched_at=NOW, lot_step=D("0.001"), min_notional=D(10))
        )
    orders = RecordingOrders()
    result = run(factory, bot(factory, sizing_value=D(5)), orders)
    assert orders.requests == [] and result.outcome == "no_trade"
    assert "below_min_notional" in result.reason
