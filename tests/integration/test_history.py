"""fetch_history, refresh of a benchmark and fetch_asset_info against a real database and hand-written
providers: idempotent upserts, fallback, gaps left as gaps, unknown symbols."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from services.errors import ProviderError, UnknownSymbol
from services.market_data.asset_info import NotAnInstrument, fetch_asset_info
from services.market_data.history import fetch_history
from services.market_data.providers.base import Bar, History, Info
from services.storage.db import as_utc, session_factory, session_scope
from services.storage.models import AssetInfo, CorporateAction, DailyBar, Instrument, IntradayBar
from tests.support.fake_provider import FakeProvider

pytestmark = pytest.mark.both_databases


def add(url: str, symbol: str, providers: list[str]) -> int:
    with session_scope(url) as session:
        instrument = Instrument(symbol=symbol, asset_class="equity", providers=providers)
        session.add(instrument)
        session.flush()
        assert instrument.id is not None
        return instrument.id


def days(first: date, count: int, *, skip: set[int] = frozenset()) -> list[Bar]:
    """Daily bars from `first`, leaving out the offsets in `skip` (a provider's null bars)."""
    return [
        Bar(
            ts=datetime.combine(first + timedelta(days=n), datetime.min.time(), UTC),
            open=Decimal(100 + n),
            high=Decimal(101 + n),
            low=Decimal(99 + n),
            close=Decimal(f"{100 + n}.5"),
            volume=Decimal(1000 * n),
        )
        for n in range(count)
        if n not in skip
    ]


def stored(url: str, table: type = DailyBar) -> list[tuple[datetime, Decimal, str]]:
    with session_scope(url) as session:
        rows = session.execute(select(table.ts, table.close, table.source).order_by(table.ts)).all()
    return [(as_utc(ts), close, source) for ts, close, source in rows]


def test_history_is_upserted_once_with_gaps_left_as_gaps(database_url):
    # Given a provider whose 10 days of history lack day 4 (a null bar) and hold a split and a dividend
    add(database_url, "AAPL", ["yahoo"])
    history = History(
        bars=days(date(2026, 11, 2), 10, skip={4}),
        splits={date(2026, 11, 5): Decimal(4)},
        dividends={date(2026, 11, 6): Decimal("0.24")},
    )
    yahoo = FakeProvider("yahoo", histories={"AAPL": history})

    # When the same period is fetched twice
    for _ in range(2):
        report = fetch_history(
            session_factory=session_factory(database_url),
            providers={"yahoo": yahoo},
            symbols=["AAPL"],
            start=date(2026, 11, 2),
            end=date(2026, 11, 11),
        )

    # Then nine bars are stored once each, day 4 stays missing, and the actions are stored once
    bars = stored(database_url)
    assert len(bars) == 9 and report.bars == {"AAPL": 9} and report.actions == 2
    assert datetime(2026, 11, 6, tzinfo=UTC) not in [ts for ts, _, _ in bars]
    assert bars[0] == (datetime(2026, 11, 2, tzinfo=UTC), Decimal("100.5"), "yahoo")
    with session_scope(database_url) as session:
        assert session.execute(select(func.count()).select_from(CorporateAction)).scalar() == 2


def test_a_later_fetch_overwrites_with_the_providers_corrected_figures(database_url):
    add(database_url, "AAPL", ["yahoo"])
    yahoo = FakeProvider("yahoo", histories={"AAPL": History(bars=days(date(2026, 11, 2), 3))})
    fetch_history(
        session_factory=session_factory(database_url),
        providers={"yahoo": yahoo},
        symbols=["AAPL"],
        end=date(2026, 11, 4),
    )
    corrected = [Bar(ts=b.ts, close=b.close + 1) for b in days(date(2026, 11, 2), 3)]
    yahoo.histories["AAPL"] = History(bars=corrected)

    # When no start is given, the fetch re-reads a little before the newest stored bar
    fetch_history(
        session_factory=session_factory(database_url),
        providers={"yahoo": yahoo},
        symbols=["AAPL"],
        end=date(2026, 11, 4),
    )

    assert [close for _, close, _ in stored(database_url)] == [Decimal("101.5"), Decimal("102.5"), Decimal("103.5")]
    assert yahoo.calls[-1][1][1] == "2026-10-30"  # newest stored bar (11-04) minus five days


def test_intraday_bars_go_to_their_own_table_from_the_provider_that_serves_the_interval(database_url):
    # Given stooq first (daily only) and yahoo second (hourly too)
    add(database_url, "AAPL", ["stooq", "yahoo"])
    hourly = [Bar(ts=datetime(2026, 11, 20, 14 + n, 30, tzinfo=UTC), close=Decimal(n + 1)) for n in range(3)]
    stooq = FakeProvider("stooq", histories={"AAPL": History(bars=days(date(2026, 11, 2), 3))})
    yahoo = FakeProvider("yahoo", intervals=frozenset({"1d", "1h"}), histories={"AAPL": History(bars=hourly)})

    report = fetch_history(
        session_factory=session_factory(database_url),
        providers={"stooq": stooq, "yahoo": yahoo},
        symbols=["AAPL"],
        interval="1h",
    )

    assert report.sources == {"AAPL": "yahoo"} and stooq.calls == []
    assert len(stored(database_url, IntradayBar)) == 3 and stored(database_url) == []


def test_failures_are_stored_around_and_raised_for_a_retry_while_unknown_symbols_are_not(database_url):
    # Given AAPL served, MSFT behind a failing provider, and ZZZ unknown everywhere
    for symbol, providers in [("AAPL", ["yahoo"]), ("MSFT", ["stooq"]), ("ZZZ", ["yahoo"])]:
        add(database_url, symbol, providers)
    yahoo = FakeProvider("yahoo", histories={"AAPL": History(bars=days(date(2026, 11, 2), 2))})
    stooq = FakeProvider("stooq", failing=True)

    # When all three are fetched, plus a symbol that is no instrument
    with pytest.raises(ProviderError) as raised:
        fetch_history(
            session_factory=session_factory(database_url),
            providers={"yahoo": yahoo, "stooq": stooq},
            symbols=["AAPL", "MSFT", "ZZZ", "NOPE"],
            end=date(2026, 11, 3),
        )

    # Then AAPL's bars are stored, the error names MSFT, ZZZ is marked unknown, NOPE is reported
    assert len(stored(database_url)) == 2
    message = str(raised.value)
    assert "MSFT: stooq: HTTP 503" in message and "unknown: ZZZ" in message and "not instruments: NOPE" in message
    with session_scope(database_url) as session:
        zzz = session.execute(select(Instrument).where(Instrument.symbol == "ZZZ")).scalar_one()
        assert zzz.unknown_at is not None


def test_asset_info_comes_from_the_first_provider_that_offers_it(database_url):
    # Given stooq (no asset info) before yahoo
    instrument_id = add(database_url, "AAPL", ["stooq", "yahoo"])
    info = Info(name="Apple Inc.", asset_type="EQUITY", exchange="NMS", sector="Technology", details={"score": 1})
    yahoo = FakeProvider("yahoo", infos={"AAPL": info})

    fetch_asset_info(
        session_factory=session_factory(database_url),
        providers={"stooq": FakeProvider("stooq"), "yahoo": yahoo},
        symbol="AAPL",
    )
    fetch_asset_info(
        session_factory=session_factory(database_url),
        providers={"stooq": FakeProvider("stooq"), "yahoo": yahoo},
        symbol="AAPL",
    )

    with session_scope(database_url) as session:
        row = session.get(AssetInfo, instrument_id)
        assert row is not None and (row.name, row.sector, row.source) == ("Apple Inc.", "Technology", "yahoo")
        assert session.get(Instrument, instrument_id).name == "Apple Inc."
    # A provider's overlong names are clipped to the columns, on PostgreSQL too
    long = Info(name="N" * 300, exchange="Nasdaq Global Select Market (NGS) - Tier 1", sector="S" * 150)
    fetch_asset_info(
        session_factory=session_factory(database_url),
        providers={"yahoo": FakeProvider("yahoo", infos={"AAPL": long})},
        symbol="AAPL",
    )
    with session_scope(database_url) as session:
        row = session.get(AssetInfo, instrument_id)
        assert (len(row.name), row.exchange, len(row.sector)) == (200, long.exchange, 100)
    with pytest.raises(NotAnInstrument):
        fetch_asset_info(session_factory=session_factory(database_url), providers={"yahoo": yahoo}, symbol="NOPE")
    add(database_url, "ZZZ", ["yahoo"])
    with pytest.raises(UnknownSymbol):
        fetch_asset_info(session_factory=session_factory(database_url), providers={"yahoo": yahoo}, symbol="ZZZ")


def test_no_transaction_stays_open_while_a_provider_answers(database_url):
    from sqlalchemy import text

    from services.storage.db import make_engine

    if not database_url.startswith("postgresql"):
        pytest.skip("pg_stat_activity is PostgreSQL's")

    # Given a provider that looks, while it answers, for sessions idle inside a transaction
    add(database_url, "AAPL", ["yahoo"])
    seen: list[int] = []

    class Watching(FakeProvider):
        def history(self, symbol, start, end, interval):
            with make_engine(database_url).connect() as connection:
                query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = :s"
                seen.append(connection.execute(text(query), {"s": "idle in transaction"}).scalar())
            return super().history(symbol, start, end, interval)

    yahoo = Watching("yahoo", histories={"AAPL": History(bars=days(date(2026, 11, 2), 2))})

    # When history is fetched without a start (the stored bars are read first)
    fetch_history(
        session_factory=session_factory(database_url),
        providers={"yahoo": yahoo},
        symbols=["AAPL"],
        end=date(2026, 11, 3),
    )

    # Then none was
    assert seen == [0]


def test_a_rate_limited_provider_makes_the_fetch_wait_as_long_as_it_asked(database_url):
    from services.errors import RateLimited

    class Limited(FakeProvider):
        def history(self, symbol, start, end, interval):
            raise RateLimited(self.name, "Exceeded the daily hits limit", retry_after_s=3600)

    add(database_url, "AAPL", ["stooq"])
    with pytest.raises(RateLimited) as raised:
        fetch_history(
            session_factory=session_factory(database_url), providers={"stooq": Limited("stooq")}, symbols=["AAPL"]
        )
    assert raised.value.retry_after_s == 3600 and "daily hits limit" in str(raised.value)
