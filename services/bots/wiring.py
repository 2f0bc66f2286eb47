"""The bots' collaborators as the worker builds them: the orders service with its fees and calendar
bound, and a run sender over the client (run_bot messages with their deterministic ids)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from services.bots.fanout import BotRun, RunSender
from services.bots.runs import OrderPlacer
from services.engine.client import Send, TickworkClient
from services.scheduling.market_hours import NYSE, NyseCalendar
from services.trading.fees import DEFAULT_FEES, FeeSchedule
from services.trading.placing import OrderRequest, Placed, place_order


def orders_service(*, fees: FeeSchedule = DEFAULT_FEES, calendar: NyseCalendar = NYSE) -> OrderPlacer:
    """place_order as bots call it (they never write orders themselves)."""

    def place(*, session: Session, request: OrderRequest, placed_by: str, now: datetime) -> Placed:
        return place_order(session=session, request=request, placed_by=placed_by, now=now, fees=fees, calendar=calendar)

    return place


def client_sender(client: TickworkClient) -> RunSender:
    """Publishes run_bot messages through the client, confirmed, each with its bot-and-tick id."""

    def send(runs: Sequence[BotRun]) -> None:
        client.send_many(
            Send("run_bot", {"bot_id": run.bot_id, "tick": run.tick.isoformat()}, message_id=run.message_id)
            for run in runs
        )

    return send
