"""check_risk_limits: each portfolio's limits enforced on its positions at the stored prices.

Rules, checked in this order for every portfolio with risk limits (services/trading/limits.py):

- **max_drawdown**: the value now (cash + positions at the last prices) against the peak of the
  daily snapshots (and of the value now). On a breach: every open order is cancelled, a market sell
  of `drawdown_sell_share` of every position is placed, and the portfolio is halted until an
  operator resumes it. A halted portfolio is not reduced again.
- **max_position_weight**: a position worth more than this share of the value is trimmed back to it
  with a market sell.
- **target weights**: when any weight drifts more than `drift_threshold` from its target, every
  target is traded back to its weight (sells before buys; a buy the cash cannot pay is rejected).

A halted portfolio gets no trims or rebalances (its orders would be refused anyway). Orders the risk
manager places have client order ids keyed by rule, instrument and day, so a second check the same
day (a redelivered message, the next minute) finds them placed and places nothing more. Every breach
and action is a risk event (who, what, why, the figures), counted in tickwork_risk_events_total, and
each portfolio's breaches are sent as one alert after its transaction commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Protocol

from sqlalchemy import func
from sqlmodel import Session, col, select

from services.portfolio.money import WIDE, ZERO, money
from services.scheduling.market_hours import NyseCalendar
from services.storage.db import SessionFactory
from services.storage.models import Instrument, Portfolio, PortfolioSnapshot, Position, RiskEvent, RiskLimits
from services.trading.fees import FeeSchedule
from services.trading.kill_switch import halt_portfolio
from services.trading.metrics import NoTradingMetrics, TradingObserver
from services.trading.model import FRACTIONAL_ASSET_CLASSES, OrderTerms, OrderType, Side, TimeInForce
from services.trading.placing import OrderRequest, cancel_open_orders, place_order

log = logging.getLogger("tickwork.trading")
RISK_MANAGER = "risk_manager"
QUANTUM = Decimal("0.0000000001")


class AlertSender(Protocol):
    """Sends an alert through the notifications (the `send_alert` actor, with publisher confirms)."""

    def send_alert(self, *, title: str, message: str, severity: str, account: str, portfolio_id: int) -> None: ...


@dataclass(frozen=True)
class Holding:
    instrument_id: int
    symbol: str
    asset_class: str
    quantity: Decimal
    price: Decimal | None

    @property
    def value(self) -> Decimal:
        return WIDE.multiply(self.quantity, self.price) if self.price is not None else ZERO


@dataclass
class Breach:
    rule: str
    reason: str
    figures: dict[str, Any]
    actions: list[str] = field(default_factory=list)


@dataclass
class RiskReport:
    portfolios: int = 0
    breaches: list[tuple[int, str]] = field(default_factory=list)  # (portfolio, rule)
    orders_placed: int = 0
    orders_cancelled: int = 0
    halted: list[int] = field(default_factory=list)

    def summary(self) -> str:
        rules = ", ".join(f"{p}:{r}" for p, r in self.breaches) or "none"
        return (
            f"checked {self.portfolios} portfolios; breaches {rules}; placed {self.orders_placed} orders, "
            f"cancelled {self.orders_cancelled}; halted {self.halted or 'none'}"
        )


def check_risk_limits(
    *,
    session_factory: SessionFactory,
    alerts: AlertSender,
    fees: FeeSchedule,
    calendar: NyseCalendar,
    clock: Callable[[], datetime],
    portfolio_id: int | None = None,
    observer: TradingObserver | None = None,
) -> RiskReport:
    """Check every portfolio with risk limits (or one), one transaction each; alerts after each commit."""
    observer = observer or NoTradingMetrics()
    report = RiskReport()
    with session_factory() as session:
        query = select(RiskLimits.portfolio_id).order_by(col(RiskLimits.portfolio_id))
        if portfolio_id is not None:
            query = query.where(RiskLimits.portfolio_id == portfolio_id)
        ids = list(session.exec(query).all())
    for pid in ids:
        with session_factory() as session:
            account, breaches = _check_one(session, pid, fees, calendar, clock(), report)
        report.portfolios += 1
        for breach in breaches:
            report.breaches.append((pid, breach.rule))
            observer.risk_event(breach.rule, "breach")
            for action in breach.actions:
                observer.risk_event(breach.rule, action)
        if breaches:
            alerts.send_alert(
                title=f"Risk limits breached in portfolio {pid}: {', '.join(b.rule for b in breaches)}"[:200],
                message="\n".join(f"{b.rule}: {b.reason}; actions: {', '.join(b.actions) or 'none'}" for b in breaches),
                severity="critical" if any(b.rule == "max_drawdown" for b in breaches) else "warning",
                account=account,
                portfolio_id=pid,
            )
    log.info("event=risk_checked %s", report.summary())
    return report


def _check_one(
    session: Session, portfolio_id: int, fees: FeeSchedule, calendar: NyseCalendar, now: datetime, report: RiskReport
) -> tuple[str, list[Breach]]:
    portfolio = session.get(Portfolio, portfolio_id, with_for_update=True)
    limits = session.get(RiskLimits, portfolio_id)
    if portfolio is None or limits is None:
        return "", []
    holdings = _holdings(session, portfolio_id)
    value = money(portfolio.cash + sum((h.value for h in holdings), ZERO))
    breaches: list[Breach] = []
    act = _Actions(session, portfolio, fees, calendar, now, report)
    if limits.max_drawdown is not None and not limits.halted:
        peak = _peak(session, portfolio_id, value)
        drawdown = float((peak - value) / peak) if peak > 0 else 0.0
        if drawdown >= limits.max_drawdown:
            breach = Breach(
                "max_drawdown",
                f"drawdown {drawdown:.2%} from the peak {peak} is at or over the limit {limits.max_drawdown:.2%}",
                {"peak": str(peak), "value": str(value), "drawdown": drawdown, "limit": limits.max_drawdown},
            )
            act.record(breach, "breach", breach.reason, breach.figures)
            cancelled = cancel_open_orders(
                session=session, portfolio_id=portfolio_id, now=now, reason="risk: max drawdown"
            )
            report.orders_cancelled += len(cancelled)
            act.record(breach, "cancel_orders", f"cancelled {len(cancelled)} open orders", {"orders": cancelled})
            share = Decimal(str(limits.drawdown_sell_share))
            for holding in holdings:
                act.sell(breach, "reduce", holding, WIDE.multiply(holding.quantity, share))
            halt_portfolio(
                session=session,
                portfolio_id=portfolio_id,
                by=RISK_MANAGER,
                reason=breach.reason,
                now=now,
                rule="max_drawdown",
            )
            breach.actions.append("halt")
            report.halted.append(portfolio_id)
            breaches.append(breach)
            return portfolio.account, breaches
    if limits.halted or value <= 0:
        return portfolio.account, breaches
    if limits.max_position_weight is not None:
        cap = Decimal(str(limits.max_position_weight))
        for holding in holdings:
            weight = holding.value / value
            if weight > cap and holding.price:
                breach = Breach(
                    "max_position_weight",
                    f"{holding.symbol} weighs {float(weight):.2%}, over the limit {float(cap):.2%}",
                    {
                        "symbol": holding.symbol,
                        "weight": float(weight),
                        "limit": float(cap),
                        "value": str(holding.value),
                    },
                )
                act.record(breach, "breach", breach.reason, breach.figures)
                excess = WIDE.divide(holding.value - WIDE.multiply(cap, value), holding.price)
                act.sell(breach, "trim", holding, excess, round_up=True)
                breaches.append(breach)
        if breaches:
            return portfolio.account, breaches  # rebalance on the next check, from the trimmed weights
    if limits.target_weights:
        drift = _drift(session, holdings, limits.target_weights, value)
        worst = max(drift.values(), key=lambda d: abs(d[0] - d[1]), default=None)
        if worst is not None and abs(worst[0] - worst[1]) > limits.drift_threshold:
            breach = Breach(
                "drift",
                f"weights drifted more than {limits.drift_threshold:.2%} from their targets",
                {symbol: {"weight": w, "target": t} for symbol, (w, t, _) in drift.items()},
            )
            act.record(breach, "breach", breach.reason, breach.figures)
            act.rebalance(breach, drift, value)
            breaches.append(breach)
    return portfolio.account, breaches


class _Actions:
    """The risk manager's orders and records, for one portfolio in one transaction."""

    def __init__(
        self,
        session: Session,
        portfolio: Portfolio,
        fees: FeeSchedule,
        calendar: NyseCalendar,
        now: datetime,
        report: RiskReport,
    ) -> None:
        self.session, self.portfolio, self.fees, self.calendar, self.now = session, portfolio, fees, calendar, now
        self.report = report

    def record(self, breach: Breach, action: str, reason: str, figures: dict[str, Any]) -> None:
        self.session.add(
            RiskEvent(
                portfolio_id=self.portfolio.id,
                at=self.now,
                rule=breach.rule,
                action=action,
                actor=RISK_MANAGER,
                reason=reason[:500],
                figures=figures,
            )
        )
        if action != "breach":
            breach.actions.append(action)

    def sell(self, breach: Breach, action: str, holding: Holding, quantity: Decimal, *, round_up: bool = False) -> None:
        self.order(
            breach, action, holding.symbol, holding.asset_class, Side.SELL, min(quantity, holding.quantity), round_up
        )

    def order(
        self, breach: Breach, action: str, symbol: str, asset_class: str, side: Side, quantity: Decimal, round_up: bool
    ) -> None:
        step = QUANTUM if asset_class in FRACTIONAL_ASSET_CLASSES else Decimal(1)
        rounding = ROUND_CEILING if round_up else ROUND_FLOOR
        quantity = (quantity / step).to_integral_value(rounding=rounding) * step
        if quantity <= 0:
            return
        terms = OrderTerms(side, OrderType.MARKET, quantity, time_in_force=TimeInForce.GTC, asset_class=asset_class)
        client_id = f"risk:{breach.rule}:{symbol}:{self.now.date().isoformat()}"
        request = OrderRequest(self.portfolio.id or 0, symbol, terms, client_order_id=client_id)
        placed = place_order(
            session=self.session,
            request=request,
            placed_by=RISK_MANAGER,
            now=self.now,
            fees=self.fees,
            calendar=self.calendar,
        )
        figures = {"order_id": placed.order.id, "symbol": symbol, "side": side.value, "quantity": str(quantity)}
        if not placed.created:
            return  # placed by an earlier check today
        self.report.orders_placed += 1
        outcome = f"rejected: {placed.order.reason}" if placed.rejected else "placed"
        self.record(breach, action, f"market {side.value} of {quantity} {symbol} {outcome}", figures)

    def rebalance(self, breach: Breach, drift: dict[str, tuple[float, float, Holding]], value: Decimal) -> None:
        trades = []
        for symbol, (_, target, holding) in drift.items():
            if not holding.price:
                continue
            wanted = WIDE.divide(WIDE.multiply(Decimal(str(target)), value), holding.price)
            trades.append((wanted - holding.quantity, symbol, holding))
        for difference, symbol, holding in sorted(trades, key=lambda t: t[0]):  # sells (negative) first
            side = Side.BUY if difference > 0 else Side.SELL
            self.order(breach, "rebalance", symbol, holding.asset_class, side, abs(difference), False)


def _holdings(session: Session, portfolio_id: int) -> list[Holding]:
    rows = session.exec(
        select(Position, Instrument)
        .join(Instrument, col(Instrument.id) == Position.instrument_id)
        .where(Position.portfolio_id == portfolio_id)
        .order_by(col(Position.instrument_id))
    ).all()
    return [Holding(p.instrument_id, i.symbol, i.asset_class, p.quantity, i.last_price) for p, i in rows]


def _peak(session: Session, portfolio_id: int, value: Decimal) -> Decimal:
    peak = session.exec(
        select(func.max(PortfolioSnapshot.total_value)).where(PortfolioSnapshot.portfolio_id == portfolio_id)
    ).one()
    return max(Decimal(peak), value) if peak is not None else value


def _drift(
    session: Session, holdings: list[Holding], targets: dict[str, float], value: Decimal
) -> dict[str, tuple[float, float, Holding]]:
    """Weight, target and holding of every symbol held or targeted (a target not held counts 0)."""
    by_symbol = {h.symbol: h for h in holdings}
    missing = [symbol for symbol in targets if symbol not in by_symbol]
    if missing:
        for instrument in session.exec(select(Instrument).where(col(Instrument.symbol).in_(missing))):
            by_symbol[instrument.symbol] = Holding(
                instrument.id or 0, instrument.symbol, instrument.asset_class, ZERO, instrument.last_price
            )
    return {
        symbol: (float(holding.value / value), float(targets.get(symbol, 0.0)), holding)
        for symbol, holding in by_symbol.items()
    }
