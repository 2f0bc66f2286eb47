"""Event-driven processing: when new prices are stored, `process_orders` is sent (critical, with
publisher confirms) for those of the instruments that have working orders. The 5-second sweep is the
safety net: a lost trigger delays a fill by one sweep, never loses it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlmodel import Session, col, select

from services.storage.db import SessionFactory
from services.storage.models import Order
from services.trading.records import WORKING_STATES

log = logging.getLogger("tickwork.trading")
MAX_IDS_PER_MESSAGE = 1000  # the payload's bound (services/contract/trading.py)


class Sender(Protocol):
    """What sends a message to an actor and returns once the broker confirmed it (TickworkClient)."""

    def send(self, actor_name: str, kwargs: dict[str, Any] | None = None, *, priority: Any = None) -> Any: ...


def instruments_with_working_orders(*, session: Session, instrument_ids: Sequence[int]) -> list[int]:
    """Those of `instrument_ids` that some working order is for, in order."""
    if not instrument_ids:
        return []
    query = (
        select(Order.instrument_id)
        .where(col(Order.state).in_(WORKING_STATES), col(Order.instrument_id).in_(list(instrument_ids)))
        .distinct()
    )
    return sorted(i for i in session.exec(query).all() if i is not None)


def working_among(session_factory: SessionFactory) -> Callable[[list[int]], list[int]]:
    """instruments_with_working_orders in a unit of work of its own."""

    def find(instrument_ids: list[int]) -> list[int]:
        with session_factory() as session:
            return instruments_with_working_orders(session=session, instrument_ids=instrument_ids)

    return find


def order_trigger(*, working: Callable[[list[int]], list[int]], sender: Sender) -> Callable[[list[int]], None]:
    """The `on_prices` hook of the price refresh (services/market_data/refresh.py); `working` tells
    which of the instruments have working orders (`working_among(session_factory)`)."""

    def on_prices(instrument_ids: list[int]) -> None:
        wanted = working(instrument_ids)
        for start in range(0, len(wanted), MAX_IDS_PER_MESSAGE):
            chunk = wanted[start : start + MAX_IDS_PER_MESSAGE]
            sender.send("process_orders", {"instrument_ids": chunk}, priority="critical")
        if wanted:
            log.info("event=orders_triggered instruments=%d", len(wanted))

    return on_prices
