"""The price-freshness gauges, read from the database at each scrape of the scheduler's endpoint:
staleness matters most when no refresh runs, so no worker could report it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.market_data.freshness import price_freshness
from services.storage.db import SessionFactory

log = logging.getLogger("tickwork.market_data")


class PriceFreshnessCollector(Collector):
    """`tickwork_price_age_seconds`, `tickwork_prices_stale` and `tickwork_instruments` by asset class."""

    def __init__(self, *, session_factory: SessionFactory, max_age_s: float) -> None:
        self.session_factory, self.max_age_s = session_factory, max_age_s

    def collect(self) -> Iterator[GaugeMetricFamily]:
        by_class = ["asset_class"]
        age = GaugeMetricFamily(
            "tickwork_price_age_seconds", "Market-time age of the oldest stored price", labels=by_class
        )
        stale = GaugeMetricFamily(
            "tickwork_prices_stale", "Instruments whose price is older than the limit, or missing", labels=by_class
        )
        count = GaugeMetricFamily(
            "tickwork_instruments", "Active instruments no provider called unknown", labels=by_class
        )
        try:
            with self.session_factory() as session:
                rows = price_freshness(session=session, now=datetime.now(UTC), max_age_s=self.max_age_s)
        except Exception:  # a scrape must not fail because the database blinked: the series go missing
            log.exception("event=freshness_query_failed")
            rows = []
        for row in rows:
            count.add_metric([row.asset_class], row.instruments)
            stale.add_metric([row.asset_class], row.stale)
            if row.oldest_age_s is not None:
                age.add_metric([row.asset_class], row.oldest_age_s)
        yield from (age, stale, count)
