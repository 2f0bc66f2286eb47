"""fetch_market_data and refresh_benchmark: OHLCV history from each instrument's providers in fallback
order, upserted. Gaps are filled by asking the provider for the whole period again, never by
inventing bars: a bar the provider has no close for stays missing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlmodel import Session

from services.engine.progress import NullReporter, ProgressReporter
from services.errors import NotSupported, ProviderError, RateLimited, UnknownSymbol
from services.market_data.bars import default_start, upsert_actions, upsert_bars
from services.market_data.instruments import find_instruments, mark_unknown
from services.market_data.providers.base import History, Provider
from services.storage.db import SessionFactory
from services.storage.models import Instrument

log = logging.getLogger("tickwork.market_data")


@dataclass
class HistoryReport:
    """What one fetch stored, per symbol, and what it could not."""

    bars: dict[str, int] = field(default_factory=dict)  # symbol -> bars written
    sources: dict[str, str] = field(default_factory=dict)  # symbol -> provider that answered
    actions: int = 0  # splits and dividends written
    not_instruments: list[str] = field(default_factory=list)
    unknown: dict[str, str] = field(default_factory=dict)
    unsupported: dict[str, str] = field(default_factory=dict)  # no provider serves the interval
    failed: dict[str, str] = field(default_factory=dict)  # transient: a retry may succeed
    retry_after_s: float = 0.0  # the longest wait a rate-limited provider asked for

    def summary(self) -> str:
        written = sum(self.bars.values())
        text = f"{written} bars for {len(self.bars)} symbols"
        if self.actions:
            text += f", {self.actions} splits/dividends"
        for label, items in (
            ("not instruments", self.not_instruments),
            ("unknown", list(self.unknown)),
            ("interval not served", list(self.unsupported)),
        ):
            if items:
                text += f"; {label}: {', '.join(sorted(items))}"
        if self.failed:
            text += f"; failed: {'; '.join(f'{s}: {e}' for s, e in self.failed.items())}"
        return text


def fetch_history(
    *,
    session_factory: SessionFactory,
    providers: Mapping[str, Provider],
    symbols: Sequence[str],
    interval: str = "1d",
    start: date | None = None,
    end: date | None = None,
    reporter: ProgressReporter | None = None,
    today: Callable[[], date] = lambda: datetime.now(UTC).date(),
) -> HistoryReport:
    """Fetch and store bars for `symbols` (ours). Raises ProviderError after storing what it could if
    any symbol failed transiently, so the task is retried; unknown symbols are reported, not retried."""
    reporter = reporter or NullReporter()
    report = HistoryReport()
    end = end or today()
    with session_factory() as session:
        instruments = find_instruments(symbols, session=session)
    wanted = list(dict.fromkeys(symbols))
    for number, symbol in enumerate(wanted):
        reporter.progress(number / len(wanted), f"{symbol} {interval}")
        instrument = instruments.get(symbol)
        if instrument is None or instrument.id is None:
            report.not_instruments.append(symbol)
            continue
        _fetch_one(session_factory, instrument, providers, interval, start, end, report)
    reporter.progress(1.0, report.summary()[:200])
    if report.failed:
        detail = f"stored {sum(report.bars.values())} bars; " + report.summary()
        if report.retry_after_s:  # so that the retry waits as long as the provider asked
            raise RateLimited("history", detail, retry_after_s=report.retry_after_s)
        raise ProviderError("history", detail)
    return report


def _fetch_one(
    session_factory: SessionFactory,
    instrument: Instrument,
    providers: Mapping[str, Provider],
    interval: str,
    start: date | None,
    end: date,
    report: HistoryReport,
) -> None:
    """Ask the providers in order, then write; no transaction stays open while a provider answers."""
    assert instrument.id is not None
    if start is None:
        with session_factory() as session:
            start = default_start(session=session, instrument_id=instrument.id, interval=interval, end=end)
    said_unknown: list[str] = []
    errors: list[str] = []
    for name in instrument.providers:
        provider = providers.get(name)
        if provider is None or interval not in provider.intervals:
            continue
        symbol = instrument.provider_symbols.get(name, instrument.symbol)
        try:
            history: History = provider.history(symbol, start, end, interval)
        except UnknownSymbol as error:
            said_unknown.append(str(error))
            continue
        except NotSupported:
            continue
        except ProviderError as error:
            errors.append(str(error))
            if isinstance(error, RateLimited):
                report.retry_after_s = max(report.retry_after_s, error.retry_after_s)
            continue
        with session_factory() as session:
            report.bars[instrument.symbol] = upsert_bars(
                session=session, instrument_id=instrument.id, interval=interval, bars=history.bars, source=name
            )
            report.actions += upsert_actions(
                session=session,
                instrument_id=instrument.id,
                splits=history.splits,
                dividends=history.dividends,
                source=name,
            )
        report.sources[instrument.symbol] = name
        return
    if errors:
        report.failed[instrument.symbol] = errors[-1]
    elif said_unknown:
        report.unknown[instrument.symbol] = "; ".join(said_unknown)
        with session_factory() as session:
            mark_unknown({instrument.id: report.unknown[instrument.symbol]}, session=session, at=datetime.now(UTC))
    else:
        report.unsupported[instrument.symbol] = f"no provider of {instrument.providers} serves {interval}"


def ensure_benchmark(symbol: str, *, session: Session) -> Instrument:
    """The benchmark's instrument, created (as an ETF priced by Yahoo, then Stooq) when missing:
    a benchmark series is the benchmark's daily bars."""
    existing = find_instruments([symbol], session=session).get(symbol)
    if existing is not None:
        return existing
    instrument = Instrument(
        symbol=symbol,
        name=symbol,
        asset_class="etf",
        providers=["yahoo", "stooq"],
        provider_symbols={"stooq": f"{symbol.lower()}.us"},
    )
    session.add(instrument)
    session.flush()
    return instrument


def refresh_benchmark(
    *,
    session_factory: SessionFactory,
    providers: Mapping[str, Provider],
    benchmark: str,
    start: date | None = None,
    reporter: ProgressReporter | None = None,
) -> HistoryReport:
    """The benchmark's daily bars (the series portfolio metrics compare against), its instrument
    created first when missing."""
    with session_factory() as session:
        ensure_benchmark(benchmark, session=session)
    return fetch_history(
        session_factory=session_factory,
        providers=providers,
        symbols=[benchmark],
        interval="1d",
        start=start,
        reporter=reporter,
    )
