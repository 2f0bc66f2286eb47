"""A hand-written provider for the refresh use cases' tests: it answers from dictionaries, records
each call, and can be told to fail, to block, or to not know a symbol."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from services.errors import NotSupported, ProviderError, UnknownSymbol
from services.market_data.providers.base import History, Info, Quote, QuoteBatch

AT = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)


@dataclass
class FakeProvider:
    name: str
    prices: dict[str, Decimal] = field(default_factory=dict)
    max_batch: int = 2
    intervals: frozenset[str] = frozenset({"1d"})
    at: datetime = AT
    failing: bool = False
    histories: dict[str, History] = field(default_factory=dict)
    infos: dict[str, Info] = field(default_factory=dict)
    gate: threading.Event | None = None  # when set, calls wait for it
    calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def quotes(self, symbols: Sequence[str]) -> QuoteBatch:
        self._enter("quotes", symbols)
        known = {s: Quote(s, self.prices[s], self.at) for s in symbols if s in self.prices}
        return QuoteBatch(known, {s: "not listed" for s in symbols if s not in self.prices})

    def history(self, symbol: str, start: date, end: date, interval: str) -> History:
        self._enter("history", [symbol, start.isoformat(), end.isoformat(), interval])
        if interval not in self.intervals:
            raise NotSupported(f"{self.name}: no {interval}")
        if symbol not in self.histories:
            raise UnknownSymbol(self.name, symbol, "No data found")
        return self.histories[symbol]

    def asset_info(self, symbol: str) -> Info:
        self._enter("asset_info", [symbol])
        if not self.infos:
            raise NotSupported(f"{self.name}: no asset info")
        if symbol not in self.infos:
            raise UnknownSymbol(self.name, symbol, "not found")
        return self.infos[symbol]

    def _enter(self, what: str, args: Sequence[str]) -> None:
        self.calls.append((what, tuple(args)))
        if self.gate is not None:
            self.gate.wait(10)
        if self.failing:
            raise ProviderError(self.name, "HTTP 503")
