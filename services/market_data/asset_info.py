"""fetch_asset_info: what the instrument's providers say about it (name, type, sector...), stored
whole in `asset_info`, and the instrument's own blank name and exchange filled from it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from sqlmodel import Session

from services.errors import NotSupported, ProviderError, TickworkError, UnknownSymbol
from services.market_data.instruments import find_instruments
from services.market_data.providers.base import Info, Provider
from services.storage.db import SessionFactory
from services.storage.models import AssetInfo, Instrument


class NotAnInstrument(UnknownSymbol):
    """Raised when a symbol is not one of our instruments: add it before asking about it."""

    def __init__(self, symbol: str) -> None:
        super().__init__("tickwork", symbol, "not an instrument (add it first, e.g. with `tickwork seed-demo`)")


class FindsInstruments(Protocol):
    def __call__(self, symbols: Iterable[str], *, session: Session) -> dict[str, Instrument]: ...


class StoresAssetInfo(Protocol):
    def __call__(self, instrument_id: int, source: str, info: Info, *, session: Session) -> AssetInfo: ...


def fetch_asset_info(
    *,
    session_factory: SessionFactory,
    providers: Mapping[str, Provider],
    symbol: str,
    find: FindsInstruments = find_instruments,
    store: StoresAssetInfo | None = None,
) -> AssetInfo:
    """Ask the instrument's providers in order; the first that answers is stored. Raises
    UnknownSymbol if every provider said so, ProviderError if one failed and none answered. No
    transaction is open while a provider answers."""
    store = store or store_asset_info
    with session_factory() as session:
        instrument = find([symbol], session=session).get(symbol)
        if instrument is None or instrument.id is None:
            raise NotAnInstrument(symbol)
        route = [(name, instrument.provider_symbols.get(name, symbol)) for name in instrument.providers]
        instrument_id = instrument.id
    problems: list[TickworkError] = []
    for name, provider_symbol in route:
        provider = providers.get(name)
        if provider is None:
            continue
        try:
            info = provider.asset_info(provider_symbol)
        except NotSupported:
            continue
        except (UnknownSymbol, ProviderError) as error:
            problems.append(error)
            continue
        with session_factory() as session:
            return store(instrument_id, name, info, session=session)
    transient = [p for p in problems if isinstance(p, ProviderError)]
    if transient:
        raise transient[-1]
    if problems:
        raise problems[-1]
    raise UnknownSymbol("tickwork", symbol, f"none of {[n for n, _ in route]} offers asset info")


def store_asset_info(instrument_id: int, source: str, info: Info, *, session: Session) -> AssetInfo:
    """Upsert the instrument's reference data from `source`, and fill the instrument's blanks."""
    row = session.get(AssetInfo, instrument_id) or AssetInfo(instrument_id=instrument_id, source=source)
    # Clipped to the columns: a provider's long exchange or sector name must not fail the write.
    row.name, row.asset_type = _clip(info.name, 200) or "", _clip(info.asset_type, 32)
    row.exchange, row.sector = _clip(info.exchange, 64), _clip(info.sector, 100)
    row.industry, row.currency = _clip(info.industry, 100), _clip(info.currency, 8)
    row.source, row.fetched_at, row.details = source, datetime.now(UTC), dict(info.details)
    row.lot_step, row.min_quantity, row.min_notional = info.lot_step, info.min_quantity, info.min_notional
    row.tick_size = info.tick_size
    session.add(row)
    instrument = session.get(Instrument, instrument_id)
    if instrument is not None:
        # Only blanks are filled: what an operator set on the instrument wins over a provider.
        instrument.name = instrument.name or row.name
        instrument.exchange = instrument.exchange or _clip(info.exchange, 32)
    return row


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value else value
