"""The risk manager on SQLite and PostgreSQL: a drawdown breach cancels open orders, reduces every
position, halts the portfolio and alerts; position weight trims; drift rebalances; all recorded."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlmodel import select

from services.scheduling.market_hours import NYSE
from services.storage.db import session_scope
from services.storage.models import Order, PortfolioSnapshot, RiskEvent
from services.trading.kill_switch import resume_portfolio
from services.trading.limits import LimitChanges, set_limits
from services.trading.metrics import NoTradingMetrics
from services.trading.risk import check_risk_limits
from tests.support.trading_books import FREE, Clock, Desk

pytestmark = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


class RecordedAlerts:
    """A fake AlertSender: keeps what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []

    def send_alert(self, *, title: str, message: str, severity: str, account: str, portfolio_id: int) -> None:
        self.sent.append({"title": title, "message": message, "severity": severity, "portfolio_id": portfolio_id})


class CountedEvents(NoTradingMetrics):
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def risk_event(self, rule: str, action: str) -> None:
        self.events.append((rule, action))


@pytest.fixture
def desk(database_url: str) -> Desk:
    desk = Desk(database_url, Clock())
    desk.fund("10000")
    return desk


def buy(desk: Desk, instrument_id: int, symbol: str, quantity: str, price: str) -> None:
    desk.place(symbol, "buy", quantity, client_order_id=f"buy-{symbol}")
    desk.price(instrument_id, price)
    desk.process()


def limits(desk: Desk, **values: object) -> None:
    with session_scope(desk.url) as session:
        set_limits(
            session=session, portfolio_id=desk.portfolio_id, changes=LimitChanges(values), by="ops", now=desk.clock()
        )


def check(desk: Desk, alerts: RecordedAlerts, observer: NoTradingMetrics | None = None):
    return check_risk_limits(
        session_factory=desk.session, alerts=alerts, fees=FREE, calendar=NYSE, clock=desk.clock, observer=observer
    )


def test_a_drawdown_breach_cancels_reduces_halts_and_alerts_until_an_operator_resumes(desk: Desk) -> None:
    # Given 40 AAPL bought at 100, a peak snapshot of 10,000 and a 15 % drawdown limit selling half
    aapl = desk.instrument("AAPL", price="100")
    buy(desk, aapl, "AAPL", "40", "100")
    with session_scope(desk.url) as session:
        yesterday = (desk.clock() - timedelta(days=1)).date()
        figures = {name: D(0) for name in ("cash", "market_value", "cost_basis", "unrealized_pnl")}
        session.add(
            PortfolioSnapshot(
                portfolio_id=desk.portfolio_id, day=yesterday, taken_at=desk.clock(), total_value=D(10000), **figures
            )
        )
    limits(desk, max_drawdown=0.15, drawdown_sell_share=0.5)
    resting = desk.place("AAPL", "buy", "1", "limit", limit_price="10", client_order_id="resting").order
    # When AAPL falls to 60 (value 6,000 + 2,400 = 8,400: a 16 % drawdown) and the limits are checked
    desk.price(aapl, "60")
    alerts, observer = RecordedAlerts(), CountedEvents()
    report = check(desk, alerts, observer)
    # Then the open order is cancelled, half the position is being sold at market, trading is halted
    assert report.breaches == [(desk.portfolio_id, "max_drawdown")] and report.halted == [desk.portfolio_id]
    assert desk.order(resting.id).state == "cancelled"
    with session_scope(desk.url) as session:
        sells = session.exec(select(Order).where(Order.side == "sell")).all()
        events = [(e.rule, e.action, e.actor) for e in session.exec(select(RiskEvent).order_by(RiskEvent.id))]
    assert [(s.quantity, s.type, s.placed_by) for s in sells] == [(D(20), "market", "risk_manager")]
    assert ("max_drawdown", "breach", "risk_manager") in events and ("max_drawdown", "halt", "risk_manager") in events
    assert ("max_drawdown", "cancel_orders", "risk_manager") in events and (
        "max_drawdown",
        "reduce",
        "risk_manager",
    ) in events
    # And one alert went out, critical; the metric counted the breach and each action
    [alert] = alerts.sent
    assert alert["severity"] == "critical" and "max_drawdown" in str(alert["title"])
    assert {("max_drawdown", a) for a in ("breach", "cancel_orders", "reduce", "halt")} <= set(observer.events)
    # The sell fills on the next price; a second check does nothing more (halted: not reduced again)
    desk.price(aapl, "60")
    desk.process()
    assert desk.books()[1] == {aapl: (D(20), D(100))}
    assert check(desk, alerts).breaches == [] and len(alerts.sent) == 1
    # The halted portfolio rejects new orders until an operator resumes it
    assert desk.place("AAPL", "buy", "1", client_order_id="after").order.reason == "trading_halted"
    with session_scope(desk.url) as session:
        resume_portfolio(session=session, portfolio_id=desk.portfolio_id, by="ops", reason="reviewed", now=desk.clock())
    assert desk.place("AAPL", "buy", "1", client_order_id="resumed").order.state == "working"


def test_a_position_over_its_weight_is_trimmed_to_the_limit_once(desk: Desk) -> None:
    # Given 60 AAPL at 100 in a portfolio of 10,000: a 60 % weight against a 50 % limit
    aapl = desk.instrument("AAPL", price="100")
    buy(desk, aapl, "AAPL", "60", "100")
    limits(desk, max_position_weight=0.5)
    alerts = RecordedAlerts()
    report = check(desk, alerts)
    # Then a market sell of 10 (6,000 - 5,000 at 100) is placed; checking again places nothing more
    assert report.breaches == [(desk.portfolio_id, "max_position_weight")] and report.orders_placed == 1
    assert check(desk, alerts).orders_placed == 0
    with session_scope(desk.url) as session:
        [trim] = session.exec(select(Order).where(Order.side == "sell")).all()
    assert (trim.quantity, trim.client_order_id.startswith("risk:max_position_weight:AAPL")) == (D(10), True)
    assert alerts.sent[0]["severity"] == "warning"


def test_weights_that_drift_past_the_threshold_are_rebalanced_to_their_targets(desk: Desk) -> None:
    # Given 50 % AAPL and 50 % cash, targets 30 % AAPL and 30 % MSFT, and a 5 % drift threshold
    aapl, msft = desk.instrument("AAPL", price="100"), desk.instrument("MSFT", price="50")
    buy(desk, aapl, "AAPL", "50", "100")
    limits(desk, target_weights={"AAPL": 0.3, "MSFT": 0.3})
    report = check(desk, RecordedAlerts())
    # Then AAPL is sold down to 3,000 and MSFT bought up to 3,000
    assert report.breaches == [(desk.portfolio_id, "drift")]
    with session_scope(desk.url) as session:
        placed = {
            (o.symbol, o.side, o.quantity) for o in session.exec(select(Order).where(Order.placed_by == "risk_manager"))
        }
    assert placed == {("AAPL", "sell", D(20)), ("MSFT", "buy", D(60))}
    assert msft
