"""Order-book gauges read from the database at each scrape of the scheduler's endpoint, so that they
count every order whoever placed it (the API and the CLI serve no metrics of their own):

- `tickwork_orders_open{type,state}`: orders now `new`, `working` or `partially_filled`.
- `tickwork_order_rejections_recent{reason}`: orders rejected when placed in the last 24 hours.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from services.storage.db import session_scope
from services.storage.models import Order
from services.trading.metrics import EXTRA_REASONS
from services.trading.model import OrderType, Rejection
from services.trading.records import OPEN_STATES

log = logging.getLogger("tickwork.trading")
RECENT = timedelta(hours=24)


class OrderBookCollector(Collector):
    def __init__(self, *, database_url: str) -> None:
        self.database_url = database_url

    def collect(self) -> Iterator[GaugeMetricFamily]:
        open_orders = GaugeMetricFamily(
            "tickwork_orders_open", "Open orders by type and state", labels=["type", "state"]
        )
        rejected = GaugeMetricFamily(
            "tickwork_order_rejections_recent", "Orders rejected when placed in the last 24 h", labels=["reason"]
        )
        table = Order.__table__  # type: ignore[attr-defined]
        c = table.c
        try:
            with session_scope(self.database_url) as session:
                by_state = session.execute(
                    select(c.type, c.state, func.count()).where(c.state.in_(OPEN_STATES)).group_by(c.type, c.state)
                ).all()
                since = datetime.now(UTC) - RECENT
                by_reason = session.execute(
                    select(c.reason, func.count()).where(c.state == "rejected", c.placed_at >= since).group_by(c.reason)
                ).all()
        except Exception:  # a scrape must not fail because the database blinked: the series go missing
            log.exception("event=order_book_query_failed")
            by_state, by_reason = [], []
        # Every series at 0 when there is none, so that a panel shows 0 rather than no data.
        counts = {(t.value, s): 0 for t in OrderType for s in OPEN_STATES}
        counts.update({(order_type, state): count for order_type, state, count in by_state})
        for (order_type, state), count in sorted(counts.items()):
            open_orders.add_metric([order_type, state], count)
        reasons = dict.fromkeys([r.value for r in Rejection] + list(EXTRA_REASONS), 0)
        reasons.update({reason or "unknown": count for reason, count in by_reason})
        for reason, count in sorted(reasons.items()):
            rejected.add_metric([reason], count)
        yield from (open_orders, rejected)
