"""How fresh the stored prices are, per asset class, in market time (services/market_data/staleness.py):
what the `tickwork_price_*` gauges, the stale-prices alert and the API report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlmodel import Session

from services.market_data.staleness import market_age, stale_before
from services.storage.db import as_utc
from services.storage.models import Instrument

T = Instrument.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Freshness:
    """The active, known instruments of one asset class."""

    asset_class: str
    instruments: int
    unpriced: int  # never priced
    stale: int  # priced longer ago than the limit (market time), unpriced ones included
    oldest_age_s: float | None  # market-time age of the oldest price, None if none is priced


def price_freshness(*, session: Session, now: datetime, max_age_s: float) -> list[Freshness]:
    """Freshness per asset class; two small queries per class, for the metrics' scrape."""
    classes = session.execute(
        select(T.asset_class).where(T.active, T.unknown_at.is_(None)).group_by(T.asset_class)
    ).scalars()
    found = []
    for asset_class in sorted(classes):
        cutoff = stale_before(asset_class, now, max_age_s)
        old = case((T.last_price_at.is_(None), 1), (T.last_price_at < cutoff, 1), else_=0)
        instruments, unpriced, stale, oldest = session.execute(
            select(
                func.count(),
                func.count() - func.count(T.last_price_at),
                func.coalesce(func.sum(old), 0),
                func.min(T.last_price_at),
            ).where(T.active, T.unknown_at.is_(None), T.asset_class == asset_class)
        ).one()
        age = market_age(asset_class, as_utc(oldest), now).total_seconds() if oldest else None
        found.append(Freshness(asset_class, instruments, unpriced, int(stale), age))
    return found
