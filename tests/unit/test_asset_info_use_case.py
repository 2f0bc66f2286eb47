"""fetch_asset_info (services/market_data/asset_info.py) with fakes: the providers are asked in the
instrument's order with no transaction open, the first answer is stored, and the errors say why."""

from __future__ import annotations

import pytest

from services.errors import ProviderError, UnknownSymbol
from services.market_data.asset_info import NotAnInstrument, fetch_asset_info
from services.market_data.providers.base import Info
from services.storage.models import AssetInfo, Instrument
from tests.support.fake_provider import FakeProvider
from tests.support.fakes import FakeSessions

APPLE = Instrument(
    id=3, symbol="AAPL", asset_class="equity", providers=["stooq", "yahoo"], provider_symbols={"stooq": "aapl.us"}
)


class Catalog:
    """Fakes find_instruments and store_asset_info; checks both run inside a unit of work."""

    def __init__(self, sessions: FakeSessions, instruments: list[Instrument]) -> None:
        self.sessions, self.instruments = sessions, {i.symbol: i for i in instruments}
        self.stored: list[tuple[int, str, Info]] = []

    def find(self, symbols, *, session):
        assert self.sessions.in_transaction
        return {s: self.instruments[s] for s in symbols if s in self.instruments}

    def store(self, instrument_id, source, info, *, session):
        assert self.sessions.in_transaction
        self.stored.append((instrument_id, source, info))
        return AssetInfo(instrument_id=instrument_id, source=source, name=info.name)


class Watched(FakeProvider):
    """A FakeProvider that fails the test if asked while a transaction is open."""

    sessions: FakeSessions | None = None

    def asset_info(self, symbol):
        assert self.sessions is not None and not self.sessions.in_transaction
        return super().asset_info(symbol)


def providers(sessions: FakeSessions, **by_name: Watched) -> dict[str, Watched]:
    for provider in by_name.values():
        provider.sessions = sessions
    return by_name


def fetch(sessions, catalog, found, symbol="AAPL"):
    return fetch_asset_info(
        session_factory=sessions, providers=found, symbol=symbol, find=catalog.find, store=catalog.store
    )


def test_the_first_provider_that_answers_is_stored_under_its_own_symbol():
    # Given Stooq, first on the route, without asset info, and Yahoo with it
    sessions = FakeSessions()
    catalog = Catalog(sessions, [APPLE])
    stooq = Watched("stooq")
    yahoo = Watched("yahoo", infos={"AAPL": Info(name="Apple Inc.", exchange="NMS")})

    # When asset info is fetched
    row = fetch(sessions, catalog, providers(sessions, stooq=stooq, yahoo=yahoo))

    # Then each was asked in order under its own symbol, and Yahoo's answer stored in its own unit of work
    assert stooq.calls == [("asset_info", ("aapl.us",))] and yahoo.calls == [("asset_info", ("AAPL",))]
    assert [(i, source, info.name) for i, source, info in catalog.stored] == [(3, "yahoo", "Apple Inc.")]
    assert (row.source, row.name) == ("yahoo", "Apple Inc.") and sessions.units_of_work == 2


def test_a_transient_failure_wins_over_unknown_so_the_task_is_retried():
    sessions = FakeSessions()
    catalog = Catalog(sessions, [APPLE])
    found = providers(sessions, stooq=Watched("stooq", failing=True), yahoo=Watched("yahoo", infos={"MSFT": Info("")}))
    with pytest.raises(ProviderError, match="stooq"):
        fetch(sessions, catalog, found)
    assert catalog.stored == []


def test_unknown_everywhere_is_unknown():
    sessions = FakeSessions()
    catalog = Catalog(sessions, [APPLE])
    found = providers(sessions, yahoo=Watched("yahoo", infos={"MSFT": Info("")}))
    with pytest.raises(UnknownSymbol):
        fetch(sessions, catalog, found)


def test_a_symbol_that_is_not_ours_asks_no_provider():
    sessions = FakeSessions()
    yahoo = Watched("yahoo", infos={"TSLA": Info("Tesla")})
    with pytest.raises(NotAnInstrument):
        fetch(sessions, Catalog(sessions, [APPLE]), providers(sessions, yahoo=yahoo), symbol="TSLA")
    assert yahoo.calls == []
