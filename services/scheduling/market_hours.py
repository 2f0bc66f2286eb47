"""NYSE trading sessions from `exchange_calendars` (holidays and early closes are its job, not ours).

A session day has four phases, in America/New_York:
    pre-market   04:00 until the open (09:30)
    regular      the open until the close (16:00, or 13:00 on an early close)
    after-hours  the close until four hours later (20:00, or 17:00 on an early close)
    closed       everything else, and all of a weekend or holiday
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.errors import TickworkError

NEW_YORK = ZoneInfo("America/New_York")
PRE_MARKET_OPENS = time(4, 0)
AFTER_HOURS_LENGTH = timedelta(hours=4)
REGULAR_CLOSE = time(16, 0)


class Phase(StrEnum):
    CLOSED = "closed"
    PRE_MARKET = "pre_market"
    REGULAR = "regular"
    AFTER_HOURS = "after_hours"


@dataclass(frozen=True)
class Session:
    """One trading day; every instant is timezone-aware UTC."""

    day: date
    pre_market_opens: datetime
    opens: datetime
    closes: datetime
    after_hours_closes: datetime

    @property
    def early_close(self) -> bool:
        return self.closes.astimezone(NEW_YORK).time() < REGULAR_CLOSE

    def phase(self, at: datetime) -> Phase:
        if self.pre_market_opens <= at < self.opens:
            return Phase.PRE_MARKET
        if self.opens <= at < self.closes:
            return Phase.REGULAR
        if self.closes <= at < self.after_hours_closes:
            return Phase.AFTER_HOURS
        return Phase.CLOSED


class CalendarOutOfRange(TickworkError, ValueError):
    """Raised when the calendar library has no sessions for that year yet."""


class NyseCalendar:
    """Sessions by New York date, loaded a year at a time and cached (thread-safe)."""

    def __init__(self) -> None:
        self._years: dict[int, dict[date, Session]] = {}
        self._lock = threading.Lock()

    def session(self, day: date) -> Session | None:
        """The session on `day` (a New York date), or None on weekends and holidays."""
        return self._year(day.year).get(day)

    def phase(self, at: datetime) -> Phase:
        """The market phase at the instant `at`."""
        session = self.session(at.astimezone(NEW_YORK).date())
        return session.phase(at) if session else Phase.CLOSED

    def sessions(self, year: int) -> list[Session]:
        return sorted(self._year(year).values(), key=lambda session: session.day)

    def _year(self, year: int) -> dict[date, Session]:
        with self._lock:
            if year not in self._years:
                self._years[year] = _load_year(year)
            return self._years[year]


def _load_year(year: int) -> dict[date, Session]:
    import exchange_calendars

    try:
        calendar = exchange_calendars.get_calendar("XNYS", start=f"{year}-01-01", end=f"{year}-12-31")
    except ValueError as error:  # outside the library's bounds (it knows about a year ahead)
        raise CalendarOutOfRange(f"no NYSE calendar for {year}: {error}") from None
    sessions = {}
    for label, row in calendar.schedule.iterrows():
        day = label.date()
        opens = row["open"].to_pydatetime().astimezone(UTC)
        closes = row["close"].to_pydatetime().astimezone(UTC)
        pre_market = datetime.combine(day, PRE_MARKET_OPENS, NEW_YORK).astimezone(UTC)
        sessions[day] = Session(day, pre_market, opens, closes, closes + AFTER_HOURS_LENGTH)
    return sessions


NYSE = NyseCalendar()
