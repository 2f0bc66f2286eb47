"""When a price is stale: older than the limit, counted in *market time*.

A closed market does not age a price. For an NYSE-traded instrument (equity, ETF, index) the age is
measured up to the last moment the market was open in *regular hours* (09:30-16:00 ET, 13:00 on an
early close), not up to now:

    age = max(0, last_open_moment(now) - price_time)

so Friday's closing price is fresh all weekend, through a holiday and overnight, and becomes stale
once Monday's session has run longer than the limit without a new price. Extended hours are left out
on purpose: many instruments barely trade then and providers often report the regular-session price,
so counting pre-market and after-hours would flag sound prices as stale every evening.

Crypto trades around the clock, so its age is wall-clock age; so are fx (which trades around the
clock on weekdays: a weekend flags it, which errs on the safe side) and any class we do not know.

Valuing 200,000 positions asks this once per asset class and `now`: `stale_before` turns the rule
into one cutoff instant (cached), and each position compares its price time with it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from services.scheduling.market_hours import NEW_YORK, NYSE, CalendarOutOfRange, Phase

NYSE_CLASSES = frozenset({"equity", "etf", "index"})
# No NYSE calendar lists a gap longer than this between two sessions (the longest closures were days).
_LOOKBACK_DAYS = 15


def last_open_moment(asset_class: str, now: datetime) -> datetime:
    """The last instant up to `now` at which the instrument's market was open (`now` itself for
    a market open around the clock)."""
    if asset_class not in NYSE_CLASSES:
        return now
    return _nyse_last_open(now)


@lru_cache(maxsize=1024)
def _nyse_last_open(now: datetime) -> datetime:
    try:
        if NYSE.phase(now) is Phase.REGULAR:
            return now
        day = now.astimezone(NEW_YORK).date()
        for back in range(_LOOKBACK_DAYS):
            session = NYSE.session(day - timedelta(days=back))
            if session is not None and session.closes <= now:
                return session.closes
    except CalendarOutOfRange:
        pass  # beyond the calendar's years: wall-clock age, which can only err towards "stale"
    return now


def market_age(asset_class: str, price_at: datetime, now: datetime) -> timedelta:
    """How old a price taken at `price_at` is at `now`, in market time (never negative)."""
    return max(last_open_moment(asset_class, now) - price_at, timedelta(0))


@lru_cache(maxsize=1024)
def stale_before(asset_class: str, now: datetime, max_age_seconds: float) -> datetime:
    """Prices of `asset_class` taken before this instant are stale at `now`."""
    return last_open_moment(asset_class, now) - timedelta(seconds=max_age_seconds)


def is_stale(asset_class: str, price_at: datetime, now: datetime, max_age_seconds: float) -> bool:
    """Whether a price taken at `price_at` is older than `max_age_seconds` of market time at `now`."""
    return price_at < stale_before(asset_class, now, max_age_seconds)
