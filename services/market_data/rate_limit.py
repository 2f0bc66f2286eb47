"""A rate budget per provider, shared by every worker process on every host through `provider_state`.

Windows are fixed and aligned to the epoch (minutes by default): the window of time `t` starts at
`t - t % window_s`, which is what Binance's `X-MBX-USED-WEIGHT-1M` counts, so our count and the
server's can be compared. Spending is one atomic UPDATE ... RETURNING: it rolls the row over to the
current window, and adds `cost` only if the window still has room and no Retry-After block is on.
Two processes can never both spend the last unit, on SQLite (one writer at a time) or on PostgreSQL
(the UPDATE re-checks its WHERE on the row version it locks).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import case, select, update
from sqlalchemy.engine import Engine

from services.errors import RateLimited
from services.market_data.provider_state import COLUMNS, TABLE, ProviderRows, quick_write

log = logging.getLogger("tickwork.market_data")

Clock = Callable[[], float]


@dataclass(frozen=True)
class Refusal:
    """Why a spend was refused, and how long until it may fit."""

    wait_s: float
    reason: str  # "budget" (the window is spent) or "blocked" (a provider's Retry-After)


class SharedRateLimit:
    """Per-provider budgets of `limits[provider]` units (requests, or Binance request weight) per window."""

    def __init__(
        self,
        engine: Engine,
        *,
        limits: Mapping[str, int],
        window_s: float = 60.0,
        max_wait_s: float = 60.0,
        clock: Clock = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.engine = engine
        self.rows = ProviderRows(self.engine)
        self.limits = dict(limits)
        self.window_s = window_s
        self.max_wait_s = max_wait_s
        self.clock = clock
        self.sleep = sleep

    def window_of(self, now: float) -> float:
        """Start of the window holding `now`."""
        return now - now % self.window_s

    def try_acquire(self, provider: str, cost: int) -> Refusal | None:
        """Spend `cost` in the current window now, or say how long to wait (None: spent)."""
        limit = self.limits[provider]
        if cost > limit:
            raise ValueError(f"{provider}: a call of cost {cost} can never fit a budget of {limit}")
        self.rows.ensure(provider)
        now = self.clock()
        window = self.window_of(now)
        stale = COLUMNS.window_start < window
        used_in_window = case((stale, 0), else_=COLUMNS.used)
        spend = (
            update(TABLE)
            .where(COLUMNS.provider == provider, COLUMNS.blocked_until <= now, used_in_window + cost <= limit)
            .values(window_start=case((stale, window), else_=COLUMNS.window_start), used=used_in_window + cost)
            .returning(COLUMNS.used)
        )
        with quick_write(self.engine) as connection:
            if connection.execute(spend).first() is not None:
                return None
            # Refused: read why. Not atomic with the UPDATE, and need not be: it only sizes a sleep.
            row = connection.execute(
                select(COLUMNS.window_start, COLUMNS.blocked_until).where(COLUMNS.provider == provider)
            ).one()
        if row.blocked_until > now:
            return Refusal(row.blocked_until - now, "blocked")
        # Another host whose clock runs ahead may already be in the next window: wait for its end.
        return Refusal(max(row.window_start, window) + self.window_s - now, "budget")

    def acquire(self, provider: str, cost: int = 1, *, on_wait: Callable[[float], None] | None = None) -> float:
        """Spend `cost`, sleeping while the budget is spent or blocked, at most `max_wait_s` in all.

        Returns the seconds slept; raises RateLimited (with the wait still ahead) when waiting
        longer would be needed. `on_wait` is told each sleep before it is taken.
        """
        waited = 0.0
        while (refusal := self.try_acquire(provider, cost)) is not None:
            if waited + refusal.wait_s > self.max_wait_s:
                raise RateLimited(
                    provider,
                    f"{refusal.reason}: next call possible in {refusal.wait_s:.1f} s "
                    f"(waited {waited:.1f} s, wait at most {self.max_wait_s:.0f} s)",
                    retry_after_s=refusal.wait_s,
                )
            if on_wait is not None:
                on_wait(refusal.wait_s)
            self.sleep(refusal.wait_s)
            waited += refusal.wait_s
        return waited

    def observe_used(self, provider: str, used: int) -> None:
        """Raise the current window's count to `used`, the server's own count (never lower it)."""
        self.rows.ensure(provider)
        window = self.window_of(self.clock())
        stale = COLUMNS.window_start < window
        raise_count = (
            update(TABLE)
            .where(COLUMNS.provider == provider)
            .values(
                window_start=case((stale, window), else_=COLUMNS.window_start),
                used=case((stale | (COLUMNS.used < used), used), else_=COLUMNS.used),
            )
        )
        with quick_write(self.engine) as connection:
            connection.execute(raise_count)

    def exhaust(self, provider: str) -> None:
        """Spend what is left of the current window (a 429 without Retry-After: wait for the next)."""
        self.observe_used(provider, self.limits[provider])

    def block(self, provider: str, until: float) -> None:
        """No process calls `provider` before `until` (a Retry-After); an existing later block stays."""
        self.rows.ensure(provider)
        extend = (
            update(TABLE)
            .where(COLUMNS.provider == provider)
            .values(blocked_until=case((COLUMNS.blocked_until < until, until), else_=COLUMNS.blocked_until))
        )
        with self.engine.begin() as connection:
            connection.execute(extend)
        log.warning("provider=%s event=blocked until=%.0f in_s=%.1f", provider, until, until - self.clock())
