"""Paper trading actors (queue `orders`, critical): process_orders and check_risk_limits.

Failure policy (task class `realtime`, services/engine/task_classes.py): retried with backoff on a
database or broker error, never on a bad payload (NonRetryableError). Each is one call into its use
case and idempotent as the contract says (services/contract/trading.py): process_orders evaluates
each order once per market event under a row claim, with fill ids unique per order and event;
check_risk_limits acts only on breaches that still hold, with risk orders keyed by rule, instrument
and day.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from actors.broker import settings
from actors.declare import contract_actor
from services.engine.client import TickworkClient
from services.scheduling.market_hours import NYSE
from services.storage.db import session_factory
from services.trading.composition import fee_schedule, processing_rules
from services.trading.metrics import trading_metrics
from services.trading.processing import process_orders as process
from services.trading.risk import check_risk_limits as check_limits
from services.trading.triggers import order_trigger, working_among

_client: TickworkClient | None = None
_lock = threading.Lock()


def client() -> TickworkClient:
    """The worker process's client (publisher confirms), opened on first use."""
    global _client
    with _lock:
        if _client is None:
            _client = TickworkClient(settings=settings)
        return _client


class ClientAlerts:
    """Risk alerts as `send_alert` messages: the notifications deliver them to the account and operators."""

    def send_alert(self, *, title: str, message: str, severity: str, account: str, portfolio_id: int) -> None:
        payload = {"title": title, "message": message[:4000], "severity": severity, "account": account}
        client().send("send_alert", {**payload, "portfolio_id": portfolio_id})


def now() -> datetime:
    return datetime.now(UTC)


def price_listener() -> Callable[[list[int]], None]:
    """refresh_all_prices' `on_prices` hook: process_orders for instruments with working orders."""
    return order_trigger(working=working_among(session_factory(settings.database_url)), sender=client())


def _kill_before_commit(fills: int) -> None:
    # TICKWORK_TEST_KILL_MID_FILL (tests only): die once, inside the first transaction that fills.
    marker = settings.tickwork_test_kill_mid_fill
    if marker and fills and not Path(marker).exists():
        Path(marker).write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)


@contract_actor
def process_orders(
    portfolio_id: int | None = None, instrument_ids: list[int] | None = None, asset_classes: list[str] | None = None
) -> str:
    """Working orders evaluated against the prices and bars they have not seen; fills committed."""
    report = process(
        session_factory=session_factory(settings.database_url),
        rules=processing_rules(settings),
        calendar=NYSE,
        clock=now,
        instrument_ids=instrument_ids,
        asset_classes=asset_classes,
        portfolio_id=portfolio_id,
        observer=trading_metrics(),
        before_commit=_kill_before_commit if settings.tickwork_test_kill_mid_fill else None,
    )
    return report.summary()


@contract_actor
def check_risk_limits(portfolio_id: int | None = None) -> str:
    """Each portfolio's drawdown, position weights and target drift; breaches acted on and alerted."""
    report = check_limits(
        session_factory=session_factory(settings.database_url),
        alerts=ClientAlerts(),
        fees=fee_schedule(settings),
        calendar=NYSE,
        clock=now,
        portfolio_id=portfolio_id,
        observer=trading_metrics(),
    )
    return report.summary()
