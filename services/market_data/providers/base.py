"""What every provider offers, in our types: prices as `Decimal`, times as aware UTC datetimes.

A provider module turns one vendor's wire format into these and raises only the errors of
`services.errors`: `UnknownSymbol` (never retried), `NotSupported` (try the next provider),
`ProviderError` and its subclasses `RateLimited` and `CircuitOpen` (retry later, or fall back).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol


@dataclass(frozen=True)
class Quote:
    """The latest price of one symbol, at the provider's time for it."""

    symbol: str  # as the provider knows it
    price: Decimal
    at: datetime
    currency: str | None = None


@dataclass(frozen=True)
class QuoteBatch:
    """One batched price call: the prices it returned and the symbols it said it does not know."""

    quotes: dict[str, Quote] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)  # symbol -> what the provider said


@dataclass(frozen=True)
class Bar:
    """One OHLCV bar starting at `ts`. Bars the provider returned without a close are dropped."""

    ts: datetime
    close: Decimal
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    adj_close: Decimal | None = None
    volume: Decimal | None = None


@dataclass(frozen=True)
class History:
    """Bars for a period, with the splits (new shares per old) and dividends (cash per share) in it."""

    bars: list[Bar] = field(default_factory=list)
    splits: dict[date, Decimal] = field(default_factory=dict)
    dividends: dict[date, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Info:
    """What a provider says about a symbol."""

    name: str
    asset_type: str | None = None
    exchange: str | None = None
    sector: str | None = None
    industry: str | None = None
    currency: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # Trading rules, where the venue publishes them (Binance's exchangeInfo filters).
    lot_step: Decimal | None = None
    min_quantity: Decimal | None = None
    min_notional: Decimal | None = None
    tick_size: Decimal | None = None


class Provider(Protocol):
    """A market-data provider. Calls block; each HTTP request has its own timeout."""

    name: str
    max_batch: int  # symbols per `quotes` call
    intervals: frozenset[str]  # what `history` serves: "1m", "5m", "15m", "1h", "1d", "1wk"

    def quotes(self, symbols: Sequence[str]) -> QuoteBatch:
        """Prices of up to `max_batch` symbols in as few requests as the API allows."""
        ...

    def history(self, symbol: str, start: date, end: date, interval: str) -> History:
        """Bars from `start` to `end` inclusive; raises NotSupported for an interval it lacks."""
        ...

    def asset_info(self, symbol: str) -> Info:
        """Name, type, exchange, sector...; raises NotSupported if the provider has none."""
        ...
