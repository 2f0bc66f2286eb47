"""What the four HTTP providers share: the started client they are built with, `close()`, and
a `quotes` call cut into batches of the provider's `max_batch`, each symbol asked once."""

from __future__ import annotations

from collections.abc import Sequence

from services.market_data.http import ProviderHttp
from services.market_data.providers.base import QuoteBatch
from services.market_data.providers.batching import chunked


class HttpProvider:
    """A provider over one `ProviderHttp` client; a subclass reads one batch in `_quote_batch`."""

    name: str
    max_batch: int  # symbols per request of `quotes`
    intervals: frozenset[str]

    def __init__(self, http: ProviderHttp) -> None:
        self.http = http

    def close(self) -> None:
        self.http.close()

    def quotes(self, symbols: Sequence[str]) -> QuoteBatch:
        batch = QuoteBatch()
        for chunk in chunked(symbols, self.max_batch):
            self._quote_batch(chunk, batch)
        return batch

    def _quote_batch(self, symbols: list[str], batch: QuoteBatch) -> None:
        """Ask for up to `max_batch` symbols; add to `batch` what was priced and what is unknown."""
        raise NotImplementedError
