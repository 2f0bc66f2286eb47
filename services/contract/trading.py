"""Order processing, risk and trading bot actors (queues `orders` and `bots`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from services.contract.fields import Id
from services.contract.spec import ActorSpec, NoArguments, Payload
from services.engine.priority import Priority
from services.engine.task_classes import DEFAULT, REALTIME


class ProcessOrders(Payload):
    portfolio_id: Id | None = Field(None, description="None processes the working orders of every portfolio")
    instrument_ids: list[Id] | None = Field(
        None,
        max_length=1000,
        description="only orders for these instruments (sent when their new prices are stored); None: all",
    )
    asset_classes: list[Literal["equity", "etf", "crypto"]] | None = Field(
        None, max_length=3, description="only orders for instruments of these classes (the crypto sweep); None: all"
    )


class CheckRiskLimits(Payload):
    portfolio_id: Id | None = Field(None, description="None checks every portfolio that has risk limits")


class RunBot(Payload):
    bot_id: Id
    tick: datetime | None = Field(
        None, description="the fan-out tick this run belongs to (UTC); a tick runs once per bot. None: a run by hand"
    )


TRADING_ACTORS = [
    ActorSpec(
        "process_orders",
        "orders",
        ProcessOrders,
        priority=Priority.CRITICAL,
        task_class=REALTIME,
        idempotency=(
            "each order is evaluated once per market event: its orders are claimed (FOR UPDATE SKIP LOCKED "
            "on PostgreSQL, BEGIN IMMEDIATE on SQLite), only events newer than the order's evaluated_through "
            "are evaluated, and each fill's id (order id + event) is the primary key of fills, all in one "
            "transaction with the trade, cash and position; a redelivered or concurrent run fills nothing twice"
        ),
    ),
    ActorSpec(
        "check_risk_limits",
        "orders",
        CheckRiskLimits,
        priority=Priority.CRITICAL,
        task_class=REALTIME,
        idempotency=(
            "acts only on a breach that still holds: a halted portfolio is not reduced again, and a trim "
            "or rebalance is not placed while the risk manager's earlier order for that instrument is open "
            "(its client order id is keyed by rule, instrument and day)"
        ),
    ),
    ActorSpec(
        "run_bot",
        "bots",
        RunBot,
        task_class=DEFAULT,
        idempotency="a bot run is keyed by bot and tick (a tick already run is skipped); one run per bot at a time",
    ),
    ActorSpec("run_all_bots", "bots", NoArguments, idempotency="fans out run_bot keyed by bot and tick"),
    ActorSpec(
        "reset_daily_bot_counters",
        "bots",
        NoArguments,
        priority=Priority.HIGH,
        idempotency="sets counters to zero for the day; setting twice is the same",
    ),
]
