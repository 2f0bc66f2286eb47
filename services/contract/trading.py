"""Order processing, risk and trading bot actors (queues `orders` and `bots`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from services.contract.fields import Id
from services.contract.spec import ActorSpec, NoArguments, Payload
from services.engine.priority import Priority
from services.engine.task_classes import DEFAULT, REALTIME


class ProcessOrders(Payload):
    portfolio_id: Id | None = Field(None, description="None processes the pending orders of every portfolio")


class CheckRiskLimits(Payload):
    portfolio_id: Id | None = None


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
        idempotency="an order moves from pending to filled once, under a row lock",
    ),
    ActorSpec(
        "check_risk_limits",
        "orders",
        CheckRiskLimits,
        priority=Priority.CRITICAL,
        task_class=REALTIME,
        idempotency="reads positions and records breaches keyed by rule and day",
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
