"""Rate limits as the providers count them: per calendar minute (UTC), per client, here one budget.

Binance counts request weight, answers 429 with Retry-After over its limit, and bans (418) a client
that calls again before the Retry-After has passed. The others count requests and answer 429.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

WARSAW = ZoneInfo("Europe/Warsaw")


@dataclass(frozen=True)
class Verdict:
    """What the limiter says about one request: go ahead, 429, or 418, and the weight used so far."""

    status: int  # 200 (go ahead), 429 or 418
    retry_after: int
    used: int  # in the current minute, this request included


class MinuteLimits:
    """Per-provider counters of the current calendar minute, and Binance's warnings and bans."""

    def __init__(self) -> None:
        self._minute: dict[str, int] = {}
        self._used: dict[str, int] = {}
        self._warned_until: dict[str, float] = {}
        self._banned_until: dict[str, float] = {}
        self._day: dict[str, tuple[object, int]] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._minute.clear()
            self._used.clear()
            self._warned_until.clear()
            self._banned_until.clear()
            self._day.clear()

    def used(self, provider: str, now: float) -> int:
        with self._lock:
            return self._used.get(provider, 0) if self._minute.get(provider) == math.floor(now / 60) else 0

    def spend(self, provider: str, cost: int, limit: int | None, now: float, *, ban_s: float | None = None) -> Verdict:
        """Count `cost` against this minute's `limit`; `ban_s` turns on Binance's 418 for ignoring a Retry-After."""
        with self._lock:
            minute = math.floor(now / 60)
            if self._minute.get(provider) != minute:
                self._minute[provider], self._used[provider] = minute, 0
            used = self._used[provider]
            if ban_s is not None:
                banned_until = self._banned_until.get(provider, 0.0)
                if now < banned_until:
                    return Verdict(418, math.ceil(banned_until - now), used)
                if now < self._warned_until.get(provider, 0.0):
                    self._banned_until[provider] = now + ban_s
                    return Verdict(418, math.ceil(ban_s), used)
            used += cost
            self._used[provider] = used
            if limit is not None and used > limit:
                retry_after = max(1, math.ceil((minute + 1) * 60 - now))
                if ban_s is not None:
                    self._warned_until[provider] = now + retry_after
                return Verdict(429, retry_after, used)
            return Verdict(200, 0, used)

    def warn(self, provider: str, until: float) -> None:
        """A 429 was sent some other way (a fault): calling again before `until` is a ban."""
        with self._lock:
            self._warned_until[provider] = max(until, self._warned_until.get(provider, 0.0))

    def spend_daily(self, provider: str, limit: int | None, now: float) -> bool:
        """Count one hit against a daily limit (Stooq's day is Warsaw's); False once it is exceeded."""
        with self._lock:
            day = datetime.fromtimestamp(now, WARSAW).date()
            current_day, hits = self._day.get(provider, (day, 0))
            hits = hits + 1 if current_day == day else 1
            self._day[provider] = (day, hits)
            return limit is None or hits <= limit
