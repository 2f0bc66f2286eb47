"""When an order may fill and when a day order expires, from the NYSE calendar for equities and ETFs;
crypto trades around the clock and its day ends at 00:00 UTC.

An equity order fills in regular hours only, or from the pre-market open to the after-hours close
with `extended_hours`. A day order lives until the close of the session it was placed in (13:00 ET on
an early close), or of the next session when placed after that close or on a closed day; with
`extended_hours`, until that session's after-hours close (Alpaca: extended-hours day orders expire at
20:00 ET). Every instant taken and returned is timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from services.scheduling.market_hours import NEW_YORK, NyseCalendar, Phase, Session
from services.trading.model import OrderTerms, TimeInForce

CALENDAR_CLASSES = frozenset({"equity", "etf"})
AROUND_THE_CLOCK_CLASSES = frozenset({"crypto"})
# The longest NYSE closure in living memory was four weekdays (September 2001); a week more is plenty.
_SEARCH_DAYS = 14


def day_order_expiry(
    placed_at: datetime, asset_class: str, calendar: NyseCalendar, *, extended_hours: bool = False
) -> datetime:
    """When a day order placed at `placed_at` expires."""
    placed_at = _utc(placed_at)
    if asset_class in AROUND_THE_CLOCK_CLASSES:
        midnight = datetime.combine(placed_at.date(), datetime.min.time(), UTC)
        return midnight + timedelta(days=1)
    _require_calendar_class(asset_class)
    for session in _sessions_from(placed_at, calendar):
        ends = session.after_hours_closes if extended_hours else session.closes
        if placed_at < ends:
            return ends
    raise LookupError(f"no NYSE session within {_SEARCH_DAYS} days of {placed_at.isoformat()}")


def expires_at(terms: OrderTerms, placed_at: datetime, calendar: NyseCalendar) -> datetime | None:
    """When an order expires by its time in force: day orders as above; GTC never. IOC and FOK do not
    wait for a time: their rest is cancelled by their first evaluation (fills.evaluate)."""
    if terms.time_in_force != TimeInForce.DAY:
        return None
    return day_order_expiry(placed_at, terms.asset_class, calendar, extended_hours=terms.extended_hours)


def can_fill_at(terms: OrderTerms, at: datetime, calendar: NyseCalendar) -> bool:
    """Whether the order may fill at the instant `at`."""
    if terms.asset_class in AROUND_THE_CLOCK_CLASSES:
        return True
    _require_calendar_class(terms.asset_class)
    phase = calendar.phase(_utc(at))
    if phase == Phase.REGULAR:
        return True
    return terms.extended_hours and phase in (Phase.PRE_MARKET, Phase.AFTER_HOURS)


def next_fill_window(terms: OrderTerms, at: datetime, calendar: NyseCalendar) -> datetime:
    """The first instant at or after `at` at which the order may fill: `at` itself when it may fill
    now, else the next open (the next pre-market open with `extended_hours`)."""
    at = _utc(at)
    if terms.asset_class in AROUND_THE_CLOCK_CLASSES:
        return at
    _require_calendar_class(terms.asset_class)
    for session in _sessions_from(at, calendar):
        opens, closes = (
            (session.pre_market_opens, session.after_hours_closes)
            if terms.extended_hours
            else (session.opens, session.closes)
        )
        if at < closes:
            return max(at, opens)
    raise LookupError(f"no NYSE session within {_SEARCH_DAYS} days of {at.isoformat()}")


def _sessions_from(at: datetime, calendar: NyseCalendar) -> Iterator[Session]:
    day = at.astimezone(NEW_YORK).date()
    for offset in range(_SEARCH_DAYS):
        session = calendar.session(day + timedelta(days=offset))
        if session is not None:
            yield session


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"a naive datetime is ambiguous here: {at.isoformat()} (give it a timezone)")
    return at.astimezone(UTC)


def _require_calendar_class(asset_class: str) -> None:
    if asset_class not in CALENDAR_CLASSES:
        raise ValueError(f"no trading hours for asset class {asset_class!r}")
