"""The market events an order is evaluated against, read from what Tickwork stores.

- A **quote**: the instrument's last price (`instruments.last_price*`), an event when its provider
  time is newer than the newest event the order has seen. Providers give no bid/ask or volume, so a
  quote carries the last price only (the fill rules then use the last for both sides).
- **Bars** that arrived while the order was working (after downtime or across a gap): stored bars
  that started at or after the order was placed and ended after the newest event it has seen, the
  finest interval that has any (1m, 5m, 15m, 1h, then 1d), oldest first.

Each event has a key, stable across runs, that the fill id is built from: `q<quote time in µs>` or
`b<interval>:<bar start in s>`; the same event always yields the same fill id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from services.storage.among import among
from services.storage.db import as_utc
from services.storage.models import DailyBar, Instrument, IntradayBar
from services.trading.model import Bar, MarketEvent, Quote

INTRADAY = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
}
DAILY = {"1d": timedelta(days=1)}
FINEST_FIRST = (*INTRADAY, *DAILY)


@dataclass(frozen=True)
class Event:
    key: str
    at: datetime  # when the event ends: the quote's time, the bar's end; an order is "through" it after
    market: MarketEvent
    daily: bool = False
    received_at: datetime | None = None  # when Tickwork stored the price (quotes)


@dataclass(frozen=True)
class InstrumentPrice:
    instrument_id: int
    last: Any
    at: datetime | None
    received_at: datetime | None


def load_prices(*, session: Session, instrument_ids: Iterable[int]) -> dict[int, InstrumentPrice]:
    """The last price of each instrument with its provider time and when we stored it."""
    table = Instrument.__table__  # type: ignore[attr-defined]
    c = table.c
    ids = sorted(set(instrument_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(c.id, c.last_price, c.last_price_at, c.price_checked_at, c.price_error).where(among(session, c.id, ids))
    ).all()
    prices = {}
    for row in rows:
        at = as_utc(row.last_price_at) if row.last_price_at else None
        # price_checked_at is the time of the last refresh attempt; it is the arrival of this price
        # unless a later attempt failed (then the arrival is unknown: no latency is observed).
        received = as_utc(row.price_checked_at) if row.price_checked_at and row.price_error is None else None
        prices[row.id] = InstrumentPrice(row.id, row.last_price, at, received)
    return prices


def load_bars(*, session: Session, since: dict[int, datetime], until: datetime) -> dict[int, list[Event]]:
    """Bars per instrument that started at or after `since[instrument]` and ended by `until`, of the
    finest interval that has any; oldest first."""
    if not since:
        return {}
    earliest = min(since.values())
    found: dict[int, list[Event]] = {}
    tables: tuple[tuple[Any, dict[str, timedelta]], ...] = ((IntradayBar, INTRADAY), (DailyBar, DAILY))
    for model, lengths in tables:
        table: Any = model.__table__
        c = table.c
        wanted = [i for i in since if i not in found]
        if not wanted:
            break
        rows = session.execute(
            select(c.instrument_id, c.interval, c.ts, c.open, c.high, c.low, c.close, c.volume)
            .where(among(session, c.instrument_id, wanted), c.interval.in_(list(lengths)), c.ts >= earliest)
            .order_by(c.instrument_id, c.ts)
        ).all()
        by_interval: dict[tuple[int, str], list[Event]] = {}
        for row in rows:
            start = as_utc(row.ts)
            end = start + lengths[row.interval]
            if start < since[row.instrument_id] or end > until:
                continue
            bar = Bar(
                open=row.open if row.open is not None else row.close,
                high=row.high if row.high is not None else row.close,
                low=row.low if row.low is not None else row.close,
                close=row.close,
                volume=row.volume,
                start=start,
                end=end,
            )
            key = f"b{row.interval}:{int(start.timestamp())}"
            by_interval.setdefault((row.instrument_id, row.interval), []).append(
                Event(key, end, bar, daily=row.interval in DAILY)
            )
        for instrument_id in wanted:
            for interval in FINEST_FIRST:
                events = by_interval.get((instrument_id, interval))
                if events:
                    found[instrument_id] = events
                    break
    return found


def quote_event(price: InstrumentPrice) -> Event | None:
    if price.last is None or price.at is None:
        return None
    quote = Quote(last=price.last, bid=None, ask=None, volume=None, at=price.at)
    return Event(f"q{int(price.at.timestamp() * 1_000_000)}", price.at, quote, received_at=price.received_at)


def events_for(*, placed_at: datetime, through: datetime, bars: list[Event], quote: Event | None) -> list[Event]:
    """The events an order has not seen yet, oldest first: bars since it was placed, then the quote."""
    fresh = [bar for bar in bars if bar.at > through and as_utc(bar.market.start) >= placed_at]  # type: ignore[union-attr]
    newest = fresh[-1].at if fresh else through
    if quote is not None and quote.at > newest:
        fresh.append(quote)
    return fresh
