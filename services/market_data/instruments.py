"""Reading instruments to refresh and writing what the providers said about their prices."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, or_, select, update
from sqlmodel import Session

from services.storage.models import Instrument

TABLE = Instrument.__table__  # type: ignore[attr-defined]
T = TABLE.c


@dataclass(frozen=True)
class Target:
    """An instrument to price: the providers to ask, in fallback order, and its symbol at each."""

    id: int
    symbol: str
    route: tuple[str, ...]
    provider_symbols: dict[str, str]

    def symbol_at(self, provider: str) -> str:
        return self.provider_symbols.get(provider, self.symbol)


def targets(
    *, session: Session, asset_classes: Sequence[str] | None = None, instrument_ids: Iterable[int] | None = None
) -> list[Target]:
    """Active instruments no provider has called unknown, optionally of some classes or ids only."""
    query = select(T.id, T.symbol, T.providers, T.provider_symbols).where(T.active, T.unknown_at.is_(None))
    if asset_classes:
        query = query.where(T.asset_class.in_(list(asset_classes)))
    if instrument_ids is not None:
        query = query.where(T.id.in_(list(instrument_ids)))
    rows = session.execute(query.order_by(T.id)).all()
    return [Target(row.id, row.symbol, tuple(row.providers or ()), dict(row.provider_symbols or {})) for row in rows]


@dataclass(frozen=True)
class PriceUpdate:
    instrument_id: int
    price: Decimal
    at: datetime
    source: str


def record_prices(updates: Sequence[PriceUpdate], *, session: Session, checked_at: datetime) -> None:
    """Store new prices; a quote older than the one held (a fallback's stale close) does not replace it."""
    if not updates:
        return
    newer = (
        update(TABLE)
        .where(T.id == bindparam("b_id"), or_(T.last_price_at.is_(None), T.last_price_at <= bindparam("b_at")))
        .values(last_price=bindparam("b_price"), last_price_at=bindparam("b_at"), last_price_source=bindparam("b_src"))
    )
    session.execute(
        newer, [{"b_id": u.instrument_id, "b_price": u.price, "b_at": u.at, "b_src": u.source} for u in updates]
    )
    record_checks({u.instrument_id: None for u in updates}, session=session, checked_at=checked_at)


def record_checks(errors: dict[int, str | None], *, session: Session, checked_at: datetime) -> None:
    """Record a refresh attempt per instrument: None for success, else why it failed (the last good
    price stays, and its age tells that it is stale)."""
    if not errors:
        return
    checked = (
        update(TABLE)
        .where(T.id == bindparam("b_id"))
        .values(price_checked_at=bindparam("b_checked"), price_error=bindparam("b_error"))
    )
    session.execute(
        checked, [{"b_id": i, "b_checked": checked_at, "b_error": (e or None) and e[:500]} for i, e in errors.items()]
    )


def mark_unknown(reasons: dict[int, str], *, session: Session, at: datetime) -> None:
    """Instruments every provider called unknown: they are not asked for again until re-activated."""
    if not reasons:
        return
    unknown = (
        update(TABLE)
        .where(T.id == bindparam("b_id"))
        .values(unknown_at=at, price_checked_at=at, price_error=bindparam("b_error"))
    )
    session.execute(unknown, [{"b_id": i, "b_error": reason[:500]} for i, reason in reasons.items()])


def find_instruments(symbols: Iterable[str], *, session: Session) -> dict[str, Instrument]:
    """The instruments with these symbols (ours), by symbol; missing ones are absent."""
    wanted = list(symbols)
    found = session.execute(select(Instrument).where(T.symbol.in_(wanted))).scalars()
    return {instrument.symbol: instrument for instrument in found}
