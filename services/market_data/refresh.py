"""refresh_all_prices: the latest price of every active instrument, from its providers in fallback order.

Instruments are grouped by the provider they ask first and sent in that provider's batch size. Each
provider works on its own threads, so a slow or failing one holds no other back. A batch that fails
(timeout, 5xx, rate limit, open circuit) moves its instruments on to their next provider at once; an
instrument that no provider could price keeps its last good price, whose age then shows it is stale.
A symbol one provider does not know is asked of the next; it is marked unknown only when every
provider on its route said so, and then it is not asked again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from services.engine.progress import NullReporter, ProgressReporter
from services.errors import ProviderError, UnknownSymbol
from services.market_data.instruments import PriceUpdate, Target, mark_unknown, record_checks, record_prices, targets
from services.market_data.providers.base import Provider, QuoteBatch
from services.storage.db import session_scope

log = logging.getLogger("tickwork.market_data")


@dataclass
class RefreshReport:
    """What one refresh did, for the task's result summary."""

    instruments: int = 0
    priced: Counter[str] = field(default_factory=Counter)  # by provider
    fell_back: int = 0  # priced by a provider other than their first
    failed: dict[str, str] = field(default_factory=dict)  # symbol -> last error; last good price kept
    unknown: dict[str, str] = field(default_factory=dict)  # symbol -> what the providers said

    def summary(self) -> str:
        by_provider = ", ".join(f"{name} {count}" for name, count in sorted(self.priced.items())) or "none"
        text = f"priced {sum(self.priced.values())}/{self.instruments} ({by_provider}); fell back {self.fell_back}"
        if self.failed:
            text += f"; kept last price for {len(self.failed)} (e.g. {next(iter(self.failed.items()))})"
        if self.unknown:
            text += f"; unknown {sorted(self.unknown)[:10]}"
        return text


@dataclass(frozen=True)
class _Attempt:
    """One batch of targets sent to one provider."""

    provider: str
    targets: list[Target]


@dataclass
class _Outcome:
    attempt: _Attempt
    batch: QuoteBatch | None = None
    error: str | None = None


def refresh_prices(
    *,
    database_url: str,
    providers: Mapping[str, Provider],
    asset_classes: Sequence[str] | None = None,
    instrument_ids: Sequence[int] | None = None,
    reporter: ProgressReporter | None = None,
    threads_per_provider: int = 4,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_prices: Callable[[list[int]], None] | None = None,
) -> RefreshReport:
    """Price every active instrument (or those of `asset_classes` / `instrument_ids`) and store the prices.

    `on_prices(instrument_ids)` is called after each batch of new prices is committed (paper orders
    are processed on it), from the refresh's own thread; its failure is logged, not raised."""
    reporter = reporter or NullReporter()
    with session_scope(database_url) as session:
        wanted = targets(session=session, asset_classes=asset_classes, instrument_ids=instrument_ids)
    report = RefreshReport(instruments=len(wanted))
    run = _Run(database_url, providers, report, reporter, threads_per_provider, clock, on_prices)
    try:
        run.start(wanted)
        run.until_done()
    finally:
        run.close()
    log.info("event=prices_refreshed %s", report.summary())
    return report


class _Run:
    """One refresh: a thread pool per provider, results written as each batch comes back."""

    def __init__(
        self,
        database_url: str,
        providers: Mapping[str, Provider],
        report: RefreshReport,
        reporter: ProgressReporter,
        threads: int,
        clock: Callable[[], datetime],
        on_prices: Callable[[list[int]], None] | None = None,
    ) -> None:
        self.database_url, self.providers, self.report = database_url, providers, report
        self.on_prices = on_prices
        self.reporter, self.threads, self.clock = reporter, threads, clock
        self.pools: dict[str, ThreadPoolExecutor] = {}
        self.running: set[Future[_Outcome]] = set()
        self.said_unknown: dict[int, list[str]] = {}  # instrument -> what each provider said
        self.last_error: dict[int, str] = {}  # instrument -> the latest transient failure
        self.first_provider: dict[int, str] = {}
        self.finished = 0

    def start(self, wanted: list[Target]) -> None:
        for target in wanted:
            if target.route:
                self.first_provider[target.id] = target.route[0]
        self._route(wanted)

    def until_done(self) -> None:
        while self.running:
            done, self.running = wait(self.running, return_when=FIRST_COMPLETED)
            for future in done:
                self._settle(future.result())
            total = max(self.report.instruments, 1)
            self.reporter.progress(self.finished / total, f"priced {self.finished}/{self.report.instruments}")

    def close(self) -> None:
        for pool in self.pools.values():
            pool.shutdown(wait=False, cancel_futures=True)

    def _route(self, pending: list[Target]) -> None:
        """Send each target to the first provider left on its route; those with none left are settled."""
        by_provider: dict[str, list[Target]] = {}
        exhausted: list[Target] = []
        for target in pending:
            route = tuple(p for p in target.route if p in self.providers)
            if route:
                by_provider.setdefault(route[0], []).append(replace(target, route=route))
            else:
                exhausted.append(target)
        self._give_up(exhausted)
        for name, group in by_provider.items():
            size = max(self.providers[name].max_batch, 1)
            for start in range(0, len(group), size):
                self._submit(_Attempt(name, group[start : start + size]))

    def _submit(self, attempt: _Attempt) -> None:
        pool = self.pools.get(attempt.provider)
        if pool is None:
            pool = self.pools[attempt.provider] = ThreadPoolExecutor(self.threads, f"prices-{attempt.provider}")
        self.running.add(pool.submit(self._ask, attempt))

    def _ask(self, attempt: _Attempt) -> _Outcome:
        provider = self.providers[attempt.provider]
        try:
            return _Outcome(attempt, batch=provider.quotes([t.symbol_at(attempt.provider) for t in attempt.targets]))
        except UnknownSymbol as error:  # a provider may say so for a whole (one-symbol) batch
            return _Outcome(attempt, batch=QuoteBatch(unknown={error.symbol: str(error)}))
        except ProviderError as error:
            return _Outcome(attempt, error=str(error))
        except Exception as error:  # a provider bug must not stop the other providers' batches
            log.exception("event=provider_bug provider=%s", attempt.provider)
            return _Outcome(attempt, error=f"{attempt.provider}: {type(error).__name__}: {error}")

    def _settle(self, outcome: _Outcome) -> None:
        attempt, now = outcome.attempt, self.clock()
        batch = outcome.batch or QuoteBatch()
        prices: list[PriceUpdate] = []
        onward: list[Target] = []
        for target in attempt.targets:
            symbol = target.symbol_at(attempt.provider)
            quote = batch.quotes.get(symbol)
            if quote is not None:
                prices.append(PriceUpdate(target.id, quote.price, quote.at, attempt.provider))
                self.report.priced[attempt.provider] += 1
                self.report.fell_back += self.first_provider.get(target.id) != attempt.provider
                self.finished += 1
                continue
            if outcome.error is None and symbol in batch.unknown:
                self.said_unknown.setdefault(target.id, []).append(f"{attempt.provider}: {batch.unknown[symbol]}")
            else:
                self.last_error[target.id] = outcome.error or f"{attempt.provider}: no price returned for {symbol}"
            onward.append(replace(target, route=target.route[1:]))
        if prices:
            with session_scope(self.database_url) as session:
                record_prices(prices, session=session, checked_at=now)
            self._priced([price.instrument_id for price in prices])
        self._route(onward)

    def _priced(self, instrument_ids: list[int]) -> None:
        if self.on_prices is None:
            return
        try:
            self.on_prices(instrument_ids)
        except Exception:  # the prices are stored; the orders sweep picks them up within seconds
            log.exception("event=on_prices_failed instruments=%d", len(instrument_ids))

    def _give_up(self, exhausted: list[Target]) -> None:
        """No provider left: unknown if every provider asked said so, else failed with its last error."""
        if not exhausted:
            return
        now = self.clock()
        unknown: dict[int, str] = {}
        failed: dict[int, str | None] = {}
        for target in exhausted:
            self.finished += 1
            said = self.said_unknown.get(target.id, [])
            if target.id in self.last_error or not said:
                failed[target.id] = self.last_error.get(target.id) or "no provider configured for this instrument"
                self.report.failed[target.symbol] = failed[target.id] or ""
            else:
                unknown[target.id] = "; ".join(said)
                self.report.unknown[target.symbol] = unknown[target.id]
        with session_scope(self.database_url) as session:
            record_checks(failed, session=session, checked_at=now)
            mark_unknown(unknown, session=session, at=now)
