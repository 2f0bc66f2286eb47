"""An independent oracle for the scheduler tests: NYSE's published 2026 calendar, typed in by hand
(https://www.nyse.com/markets/hours-calendars), and a minute-by-minute cron matcher.

It shares no code with `services.scheduling`, so a test that compares the two checks both the
calendar library's data and our use of it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

NY = ZoneInfo("America/New_York")
HOLIDAYS_2026 = {
    date(2026, 1, 1),  # New Year's Day
    date(2026, 1, 19),  # Martin Luther King Jr. Day
    date(2026, 2, 16),  # Washington's Birthday
    date(2026, 4, 3),  # Good Friday
    date(2026, 5, 25),  # Memorial Day
    date(2026, 6, 19),  # Juneteenth
    date(2026, 7, 3),  # Independence Day, observed (July 4 is a Saturday)
    date(2026, 9, 7),  # Labor Day
    date(2026, 11, 26),  # Thanksgiving
    date(2026, 12, 25),  # Christmas
}
EARLY_CLOSES_2026 = {date(2026, 11, 27), date(2026, 12, 24)}  # 13:00 ET


def is_session(day: date) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS_2026


def close_time(day: date) -> time:
    return time(13) if day in EARLY_CLOSES_2026 else time(16)


def gate_allows(gate: str, at: datetime) -> bool:
    local = at.astimezone(NY)
    day, clock = local.date(), local.time()
    if gate == "always":
        return True
    session = is_session(day)
    after_close = (datetime.combine(day, close_time(day)) + timedelta(hours=4)).time()
    extended = session and time(4) <= clock < after_close
    if gate == "trading_days":
        return session
    if gate == "regular_hours":
        return session and time(9, 30) <= clock < close_time(day)
    if gate == "extended_hours":
        return extended
    if gate == "outside_extended_hours":
        return not extended
    raise ValueError(gate)


def cron_matches(fields, local: datetime) -> bool:
    """Plain cron matching on a wall-clock time (the timetable restricts dom or dow, never both)."""
    minute, hour, dom, month, weekdays = _as_sets(fields)
    return (
        local.minute in minute
        and local.hour in hour
        and local.day in dom
        and local.month in month
        and local.isoweekday() % 7 in weekdays
    )


_sets: dict[int, tuple] = {}


def _as_sets(fields) -> tuple:
    """The fields as sets, once per cron (the oracle asks 525,600 times)."""
    found = _sets.get(id(fields))
    if found is None or found[0] is not fields:
        weekdays = {day % 7 for day in fields.dow}
        assert len(set(fields.dom)) == 31 or len(weekdays) == 7, "the oracle handles dom * or dow *"
        found = (fields, (set(fields.minute), set(fields.hour), set(fields.dom), set(fields.month), weekdays))
        _sets[id(fields)] = found
    return found[1]


def minutes(start: datetime, end: datetime):
    """Every minute in (start, end], like the scheduler's windows."""
    at = start + timedelta(minutes=1)
    while at <= end:
        yield at
        at += timedelta(minutes=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
