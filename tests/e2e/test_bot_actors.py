"""The bot actors on real workers (two processes) against RabbitMQ, on SQLite and PostgreSQL: ten runs
of one bot delivered at once trade once; a redelivered fan-out starts each bot once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select

from services.contract import CONTRACT
from services.contract.envelope import encode, new_message
from services.engine.client import Send
from services.storage.db import session_scope
from services.storage.models import DailyBar, Order, TradingSignal
from tests.support.bots import CROSS_UP, BotDesk
from tests.support.ledger import wait_state
from tests.support.trading_books import Clock, Desk
from tests.support.workers import wait_for

pytestmark = [
    pytest.mark.rabbitmq,
    pytest.mark.parametrize(
        "database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
    ),
]


def stored_cross_up(desk: Desk, instrument_id: int) -> None:
    """Daily bars ending in an EMA cross up (what fetch_market_data would have stored)."""
    start = datetime(2026, 10, 1, tzinfo=UTC)
    with desk.session() as session:
        for day, close in enumerate(CROSS_UP):
            session.add(
                DailyBar(
                    instrument_id=instrument_id,
                    interval="1d",
                    ts=start + timedelta(days=day),
                    close=Decimal(str(close)),
                    source="test",
                )
            )


def signals(url: str) -> list[TradingSignal]:
    with session_scope(url) as session:
        return list(session.exec(select(TradingSignal)))


def orders(url: str) -> list[Order]:
    with session_scope(url) as session:
        return list(session.exec(select(Order)))


@pytest.fixture
def bots(database_url: str) -> BotDesk:
    desk = Desk(database_url, Clock(datetime.now(UTC)))
    desk.fund("100000")
    stored_cross_up(desk, desk.instrument("BTC-USD", "crypto", "94"))
    return BotDesk(desk)


def test_ten_runs_of_one_bot_on_two_worker_processes_trade_once(start_workers: Any, client: Any, bots: BotDesk) -> None:
    # Given a bot whose stored bars cross up, and two worker processes on the bots queue
    bot = bots.create()
    start_workers(queues=["bots"], processes=2, threads=4)
    tick = datetime.now(UTC).replace(second=0, microsecond=0).isoformat()
    # When ten run_bot messages of the same tick are delivered at once
    sent = client.send_many([Send("run_bot", {"bot_id": bot, "tick": tick}) for _ in range(10)])
    for message in sent:
        wait_state(bots.desk.url, message.message_id, "completed", timeout=120)
    # Then exactly one traded and nine recorded skipped, each run a task linked to its signal
    outcomes = sorted(s.outcome for s in signals(bots.desk.url))
    assert outcomes == ["skipped"] * 9 + ["traded"]
    assert len(orders(bots.desk.url)) == 1
    assert {s.task_id for s in signals(bots.desk.url)} == {m.message_id for m in sent}


def test_a_redelivered_fan_out_starts_each_bot_once(start_workers: Any, client: Any, bots: BotDesk) -> None:
    # Given three bots and a worker
    ids = [bots.create(name=f"bot-{i}") for i in range(3)]
    start_workers(queues=["bots"], processes=2, threads=2)
    # When the same run_all_bots message (one id, one timestamp) is delivered twice
    envelope = new_message(CONTRACT.get("run_all_bots"), {})
    for _ in range(2):
        client.publish("bots", encode(envelope), message_id=envelope["message_id"])
    # Then each bot's run of that tick is one task id, and each bot traded once
    tick = datetime.fromtimestamp(envelope["message_timestamp"] / 1000, UTC).strftime("%Y%m%dT%H%MZ")
    for bot in ids:
        wait_state(bots.desk.url, f"run_bot-{bot}-{tick}", "completed", timeout=120)

    def traded_per_bot() -> dict[int, int] | None:
        found = signals(bots.desk.url)
        per_bot = {bot: sum(1 for s in found if s.bot_id == bot and s.outcome == "traded") for bot in ids}
        return per_bot if all(per_bot.values()) else None

    assert wait_for(traded_per_bot, 60, "every bot to trade") == {bot: 1 for bot in ids}
    assert len(orders(bots.desk.url)) == 3
