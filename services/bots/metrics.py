"""Prometheus series of the trading bots:

- `tickwork_bot_runs_total{outcome}`: runs by outcome (traded, no_trade, skipped, paused, error).
- `tickwork_bot_signals_total{action}`: signal rows by action (buy, sell, hold, skipped, paused, error).
- `tickwork_bots{state}`: bots by state (idle, running, waiting, paused_daily_limit, paused, error),
  as the newest fan-out counted them.
- `tickwork_bot_pnl{period}`: realized P&L summed over every bot, `daily` (since 00:00 UTC) and `total`.

Labels are the StrEnums of services/bots/states.py: bounded whatever the number of bots (a bot's own
P&L is in the API and the CLI, not a label). prometheus_client is imported on first use, never at
import time, as in services/trading/metrics.py.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from services.bots.states import BotStatus, RunAction, RunOutcome


class BotMetrics:
    def __init__(self, registry: Any = None) -> None:
        import prometheus_client as prom

        r = registry or prom.REGISTRY
        self.runs = prom.Counter("tickwork_bot_runs", "Bot runs, by outcome", ["outcome"], registry=r)
        self.signals = prom.Counter("tickwork_bot_signals", "Bot signal rows, by action", ["action"], registry=r)
        self.states = prom.Gauge(
            "tickwork_bots", "Bots by state, at the last fan-out", ["state"], multiprocess_mode="mostrecent", registry=r
        )
        self.pnl = prom.Gauge(
            "tickwork_bot_pnl",
            "Realized P&L of all bots, daily (since 00:00 UTC) and total",
            ["period"],
            multiprocess_mode="mostrecent",
            registry=r,
        )
        # Every child at 0 from the start, so that rate() and increase() see the first event.
        self._runs = {o.value: self.runs.labels(o.value) for o in RunOutcome}
        self._signals = {a.value: self.signals.labels(a.value) for a in RunAction}
        self._states = {s.value: self.states.labels(s.value) for s in BotStatus}
        self._pnl = {period: self.pnl.labels(period) for period in ("daily", "total")}
        # A "mostrecent" gauge is served once written (multiprocess files keep the write's time).
        for gauge in (*self._states.values(), *self._pnl.values()):
            gauge.set(0)

    def run_finished(self, outcome: str, action: str) -> None:
        if outcome in self._runs:
            self._runs[outcome].inc()
        if action in self._signals:
            self._signals[action].inc()

    def census(self, by_state: Mapping[str, int], daily_pnl: Decimal, total_pnl: Decimal) -> None:
        for state, child in self._states.items():
            child.set(by_state.get(state, 0))
        self._pnl["daily"].set(float(daily_pnl))
        self._pnl["total"].set(float(total_pnl))


class NoBotMetrics:
    def run_finished(self, outcome: str, action: str) -> None:
        return None

    def census(self, by_state: Mapping[str, int], daily_pnl: Decimal, total_pnl: Decimal) -> None:
        return None


_metrics: BotMetrics | None = None
_lock = threading.Lock()


def bot_metrics() -> BotMetrics:
    """The process's bot series, created on first use (every child at 0)."""
    global _metrics
    with _lock:
        if _metrics is None:
            _metrics = BotMetrics()
        return _metrics


def declare_bot_series() -> None:
    """Create the series at worker boot, so that they are served at 0 before the first run."""
    bot_metrics()
