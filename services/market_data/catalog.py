"""The instruments as operators see and change them: prices with their market-time age and stale
flag (for the API and the CLI), adding an instrument, and clearing an unknown mark."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from services.contract.refresh import ASSET_CLASSES
from services.errors import NonRetryableError, NotFound
from services.market_data.providers import LIVE_URLS
from services.market_data.staleness import market_age
from services.storage.db import as_utc
from services.storage.models import Instrument

PROVIDERS = tuple(LIVE_URLS)  # every provider Tickwork has a client for


class InstrumentNotFound(NotFound, NonRetryableError):
    """Raised when no instrument has the symbol asked for."""


class InstrumentInvalid(NonRetryableError):
    """Raised when an instrument to add names an unknown asset class or provider, or exists already."""


@dataclass(frozen=True)
class PriceView:
    """An instrument's last good price, how old it is in market time, and whether that is stale."""

    symbol: str
    name: str
    asset_class: str
    price: Decimal | None
    price_at: datetime | None
    source: str | None
    age_s: float | None
    stale: bool  # older than the limit, or never priced
    checked_at: datetime | None
    error: str | None  # why the last refresh failed (the price is then the last good one)
    unknown: bool  # every provider said it does not know the symbol
    active: bool


def list_prices(
    *,
    session: Session,
    now: datetime,
    max_age_s: float,
    asset_class: str | None = None,
    stale_only: bool = False,
    symbols: list[str] | None = None,
) -> list[PriceView]:
    """Instruments by symbol, optionally of one class, or named, or only the stale ones."""
    query = select(Instrument).order_by(col(Instrument.symbol))
    if asset_class:
        query = query.where(Instrument.asset_class == asset_class)
    if symbols:
        query = query.where(col(Instrument.symbol).in_(symbols))
    views = [_view(instrument, now, max_age_s) for instrument in session.exec(query)]
    return [v for v in views if v.stale] if stale_only else views


def _view(instrument: Instrument, now: datetime, max_age_s: float) -> PriceView:
    at = as_utc(instrument.last_price_at) if instrument.last_price_at else None
    age = market_age(instrument.asset_class, at, now).total_seconds() if at else None
    return PriceView(
        symbol=instrument.symbol,
        name=instrument.name,
        asset_class=instrument.asset_class,
        price=instrument.last_price,
        price_at=at,
        source=instrument.last_price_source,
        age_s=age,
        stale=age is None or age > max_age_s,
        checked_at=as_utc(instrument.price_checked_at) if instrument.price_checked_at else None,
        error=instrument.price_error,
        unknown=instrument.unknown_at is not None,
        active=instrument.active,
    )


def add_instrument(
    *,
    session: Session,
    symbol: str,
    asset_class: str,
    providers: list[str],
    provider_symbols: dict[str, str] | None = None,
    name: str = "",
    currency: str = "USD",
) -> Instrument:
    """A new instrument, priced from the next refresh on; refuses what could never be priced."""
    if asset_class not in ASSET_CLASSES:
        raise InstrumentInvalid(f"asset class {asset_class!r} is not one of {', '.join(ASSET_CLASSES)}")
    unknown = [p for p in [*providers, *(provider_symbols or {})] if p not in PROVIDERS]
    if not providers or unknown:
        raise InstrumentInvalid(f"providers must be some of {', '.join(PROVIDERS)} (got {providers + unknown})")
    if session.exec(select(Instrument).where(Instrument.symbol == symbol)).first() is not None:
        raise InstrumentInvalid(f"instrument {symbol!r} exists already")
    instrument = Instrument(
        symbol=symbol,
        name=name,
        asset_class=asset_class,
        currency=currency,
        providers=list(dict.fromkeys(providers)),
        provider_symbols=dict(provider_symbols or {}),
    )
    session.add(instrument)
    session.flush()
    return instrument


def reactivate(*, session: Session, symbol: str) -> Instrument:
    """Clear an instrument's unknown mark (a symbol listed again, a mapping fixed) and activate it."""
    instrument = session.exec(select(Instrument).where(Instrument.symbol == symbol)).first()
    if instrument is None:
        raise InstrumentNotFound(f"no instrument {symbol!r}")
    instrument.unknown_at, instrument.active, instrument.price_error = None, True, None
    session.add(instrument)
    return instrument
