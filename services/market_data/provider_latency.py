"""Each provider's recent request latency and errors, kept in its shared `provider_state` row, so
that every API replica's console shows the same figures (Prometheus's histogram is per worker process).

Every HTTP attempt adds itself to the current window of `window_s` seconds (5 minutes), aligned to the
epoch like the rate budget, in one atomic UPDATE. The first attempt of a new window moves the window
that ended into `previous` if it is the one just before, and drops it otherwise. A reading
(`recent_latency`) adds up the previous and the current window: always the last one to two windows,
so the figures stay recent whatever the traffic, and the row's size is fixed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import case, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from services.market_data.provider_state import COLUMNS, TABLE, ProviderRows, quick_write
from services.storage.models import ProviderState

log = logging.getLogger("tickwork.market_data")

WINDOW_S = 300.0
# Each figure of the current window and where it goes when the window ends.
MOVES = (
    ("attempts", "previous_attempts"),
    ("errors", "previous_errors"),
    ("attempt_seconds", "previous_attempt_seconds"),
    ("slowest_s", "previous_slowest_s"),
)


@dataclass(frozen=True)
class RecentLatency:
    """One provider's attempts over the last `span_s` seconds (from the previous window's start), and
    its newest attempt, however old."""

    span_s: float
    attempts: int
    errors: int
    average_s: float | None  # None without attempts
    slowest_s: float | None
    last_s: float | None
    last_age_s: float | None


def recent_latency(row: ProviderState, now: float, window_s: float = WINDOW_S) -> RecentLatency:
    """The figures of `row` as of `now`: its stored windows that are still the current or the previous one."""
    window = now - now % window_s
    current = (row.attempts, row.errors, row.attempt_seconds, row.slowest_s)
    previous = (row.previous_attempts, row.previous_errors, row.previous_attempt_seconds, row.previous_slowest_s)
    if row.latency_window_start >= window:
        counted = [current, previous]
    elif row.latency_window_start >= window - window_s:  # no attempt yet in this window: the stored one ended
        counted = [current]
    else:
        counted = []
    attempts = sum(figures[0] for figures in counted)
    return RecentLatency(
        span_s=now - (window - window_s),
        attempts=attempts,
        errors=sum(figures[1] for figures in counted),
        average_s=sum(figures[2] for figures in counted) / attempts if attempts else None,
        slowest_s=max(figures[3] for figures in counted if figures[0]) if attempts else None,
        last_s=row.last_latency_s,
        last_age_s=max(0.0, now - row.last_attempt_at) if row.last_attempt_at is not None else None,
    )


class SharedLatency:
    """Adds each provider HTTP attempt to the provider's shared row."""

    def __init__(self, engine: Engine, *, window_s: float = WINDOW_S, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.rows = ProviderRows(self.engine)
        self.window_s = window_s
        self.clock = clock

    def record(self, provider: str, seconds: float, *, failed: bool) -> None:
        """One attempt of `seconds`; a sample that cannot be written is logged, never the caller's error
        (the provider's answer stands)."""
        now = self.clock()
        window = now - now % self.window_s
        ended = COLUMNS.latency_window_start < window
        moved = ended & (COLUMNS.latency_window_start >= window - self.window_s)
        error = int(failed)
        add = (
            update(TABLE)
            .where(COLUMNS.provider == provider)
            .values(
                **{later: case((moved, COLUMNS[name]), (ended, 0), else_=COLUMNS[later]) for name, later in MOVES},
                latency_window_start=case((ended, window), else_=COLUMNS.latency_window_start),
                attempts=case((ended, 1), else_=COLUMNS.attempts + 1),
                errors=case((ended, error), else_=COLUMNS.errors + error),
                attempt_seconds=case((ended, seconds), else_=COLUMNS.attempt_seconds + seconds),
                slowest_s=case((ended | (COLUMNS.slowest_s < seconds), seconds), else_=COLUMNS.slowest_s),
                last_latency_s=seconds,
                last_attempt_at=now,
            )
        )
        try:
            self.rows.ensure(provider)
            with quick_write(self.engine) as connection:
                connection.execute(add)
        except SQLAlchemyError as error:
            log.warning("provider=%s event=latency_not_recorded error=%r", provider, str(error)[:200])
