"""Prometheus series of paper trading, emitted by whoever places, processes and checks orders:

- `tickwork_orders_total{type,state}`: orders entering a state (placed: `working` or `rejected`,
  then `partially_filled`, `filled`, `cancelled`, `expired`).
- `tickwork_order_fills_total{type,side}`: fills committed.
- `tickwork_order_rejections_total{reason}`: orders rejected when placed by a worker (the risk
  manager, bots), by reason code; every rejection, whoever placed the order, is in the scheduler's
  `tickwork_order_rejections_recent` (services/trading/book_metrics.py).
- `tickwork_tick_to_fill_seconds`: from the arrival of the price a fill used (when the refresh
  stored it) to the commit of the fill.
- `tickwork_risk_events_total{rule,action}`: breaches and the risk manager's and operators' actions.

prometheus_client is imported when the series are first asked for, never at import time (a worker
chooses multiprocess storage at boot; services/market_data/metrics.py says more). Labels are
bounded: types, states and sides are the StrEnums of services/trading/model.py, reasons the
rejection codes, rules and actions those of services/trading/risk.py.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from services.trading.model import OrderState, OrderType, Rejection, Side

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
RISK_RULES = ("max_drawdown", "max_position_weight", "drift", "halt", "kill_switch", "limits")
RISK_ACTIONS = ("breach", "cancel_orders", "reduce", "trim", "rebalance", "halt", "resume", "set")
EXTRA_REASONS = ("no_price", "over_max_daily_loss", "bracket_prices_inverted")


class TradingObserver(Protocol):
    """What placing, processing and the risk manager tell about what they did."""

    def order_state(self, order_type: str, state: str) -> None: ...

    def rejection(self, reason: str) -> None: ...

    def fill(self, order_type: str, side: str, latency_s: float | None) -> None: ...

    def risk_event(self, rule: str, action: str) -> None: ...


class NoTradingMetrics:
    """The observer of callers that keep no metrics (unit tests, the CLI)."""

    def order_state(self, order_type: str, state: str) -> None:
        return None

    def rejection(self, reason: str) -> None:
        return None

    def fill(self, order_type: str, side: str, latency_s: float | None) -> None:
        return None

    def risk_event(self, rule: str, action: str) -> None:
        return None


class TradingMetrics:
    def __init__(self, registry: Any = None) -> None:
        import prometheus_client as prom

        r = registry or prom.REGISTRY
        self.orders = prom.Counter("tickwork_orders", "Orders entering a state, by type", ["type", "state"], registry=r)
        self.fills = prom.Counter(
            "tickwork_order_fills", "Fills committed, by order type and side", ["type", "side"], registry=r
        )
        self.rejections = prom.Counter(
            "tickwork_order_rejections", "Orders rejected when placed, by reason", ["reason"], registry=r
        )
        self.latency = prom.Histogram(
            "tickwork_tick_to_fill_seconds",
            "From the arrival of the price a fill used to the fill's commit",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.risk = prom.Counter(
            "tickwork_risk_events", "Risk breaches and actions, by rule and action", ["rule", "action"], registry=r
        )
        # Every series at 0 from the start, so that rate() and increase() see the first event.
        self._states = {(t.value, s.value): self.orders.labels(t.value, s.value) for t in OrderType for s in OrderState}
        self._fills = {(t.value, s.value): self.fills.labels(t.value, s.value) for t in OrderType for s in Side}
        reasons = [reason.value for reason in Rejection] + list(EXTRA_REASONS)
        self._reasons = {reason: self.rejections.labels(reason) for reason in reasons}
        self._risk = {(rule, action): self.risk.labels(rule, action) for rule in RISK_RULES for action in RISK_ACTIONS}

    def order_state(self, order_type: str, state: str) -> None:
        child = self._states.get((order_type, state))
        if child is not None:
            child.inc()

    def rejection(self, reason: str) -> None:
        child = self._reasons.get(reason)
        if child is not None:
            child.inc()

    def fill(self, order_type: str, side: str, latency_s: float | None) -> None:
        child = self._fills.get((order_type, side))
        if child is not None:
            child.inc()
        if latency_s is not None and latency_s >= 0:
            self.latency.observe(latency_s)

    def risk_event(self, rule: str, action: str) -> None:
        child = self._risk.get((rule, action))
        if child is not None:
            child.inc()


_metrics: TradingMetrics | None = None
_lock = threading.Lock()


def trading_metrics() -> TradingMetrics:
    """The process's trading series, created on first use (every child at 0)."""
    global _metrics
    with _lock:
        if _metrics is None:
            _metrics = TradingMetrics()
        return _metrics


def declare_trading_series() -> None:
    """Create the series at worker boot, so that they are served at 0 before the first order."""
    trading_metrics()
