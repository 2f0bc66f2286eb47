"""The timetable as the console shows it, rebuilt from the scheduler's `scheduled_jobs` rows.

The API process loads neither periodiq nor the actors (where the timetable lives), so each job's
cadence is read back from the schedule text the scheduler stored: `<cron spec> (<timezone>)` or
`every <n> s`, then `, <market gate>`. From it come the cadence in words, the next runs on the NYSE
calendar, and the coming days on which the job will not run (or runs less), with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from services.scheduling.cadence import Cadence, Cron, Every
from services.scheduling.jobs import Job, MarketGate
from services.scheduling.market_hours import (
    AFTER_HOURS_LENGTH,
    NEW_YORK,
    NYSE,
    REGULAR_CLOSE,
    CalendarOutOfRange,
    NyseCalendar,
)
from services.storage.db import as_utc
from services.storage.models import ScheduledJob, ScheduledRun, Task

NAMES = {
    3: {
        n: i
        for i, n in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)
    },
    4: {n: i for i, n in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])},
}
BOUNDS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


@dataclass
class CronSpec:
    """A cron spec's expanded fields (the CronFields that services.scheduling.cadence reads)."""

    minute: list[int]
    hour: list[int]
    dom: list[int]
    month: list[int]
    dow: list[int]


def parse_cron(spec: str) -> CronSpec:
    """Five fields of `*`, `a`, `a-b`, `*/n`, `a-b/n`, lists, and month or weekday names; raises ValueError."""
    fields = spec.split()
    if len(fields) != 5:
        raise ValueError(f"a cron spec has five fields: {spec!r}")
    expanded = []
    for index, (text, (low, high)) in enumerate(zip(fields, BOUNDS, strict=True)):
        values: set[int] = set()
        for part in text.lower().split(","):
            body, _, step_text = part.partition("/")
            step = int(step_text) if step_text else 1
            if body == "*":
                first, last = low, high
            else:
                start, _, end = body.partition("-")
                first = _value(start, index)
                last = _value(end, index) if end else (high if step_text else first)
            if not low <= first <= last <= high or step < 1:
                raise ValueError(f"cron field {text!r} is out of range")
            values.update(range(first, last + 1, step))
        expanded.append(sorted(values))
    return CronSpec(*expanded)


def _value(text: str, index: int) -> int:
    return NAMES.get(index, {}).get(text) if text in NAMES.get(index, {}) else int(text)  # type: ignore[return-value]


def parse_schedule(schedule: str) -> tuple[Cadence, MarketGate]:
    """The cadence and market gate of a stored schedule text; raises ValueError."""
    text, gate = schedule, MarketGate.ALWAYS
    for candidate in MarketGate:
        suffix = ", " + candidate.value.replace("_", " ")
        if candidate is not MarketGate.ALWAYS and schedule.endswith(suffix):
            text, gate = schedule[: -len(suffix)], candidate
    every = re.fullmatch(r"every (\d+) s", text)
    if every:
        return Every(int(every.group(1))), gate
    cron = re.fullmatch(r"(.+) \(([^()]+)\)", text)
    if not cron:
        raise ValueError(f"unreadable schedule {schedule!r}")
    try:
        tz = ZoneInfo(cron.group(2))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone in {schedule!r}") from None
    return Cron(cron.group(1), parse_cron(cron.group(1)), tz), gate


def in_words(cadence: Cadence, gate: MarketGate) -> str:
    """The cadence as a sentence: 'every minute from 04:00 to 19:59, Monday to Friday (America/New_York)'."""
    if isinstance(cadence, Every):
        words = f"every {cadence.seconds} seconds"
    else:
        words = _cron_words(cadence.fields, cadence.tz.key)
    gates = {
        MarketGate.TRADING_DAYS: "on NYSE trading days only",
        MarketGate.REGULAR_HOURS: "during NYSE regular hours only",
        MarketGate.EXTENDED_HOURS: "during NYSE pre-market, regular and after-hours only",
        MarketGate.OUTSIDE_EXTENDED_HOURS: "only while the NYSE is closed (nights, weekends, holidays)",
    }
    return f"{words}, {gates[gate]}" if gate in gates else words


def _cron_words(fields: object, tz: str) -> str:
    minute, hour, dom, month, dow = (getattr(fields, name) for name in ("minute", "hour", "dom", "month", "dow"))
    if len(minute) == 60 and len(hour) == 24:
        when = "every minute"
    elif len(minute) == 60:
        when = f"every minute of hours {_ranges(hour)}"
    elif len(hour) == 24:
        when = f"at minute {_ranges(minute)} of every hour" if len(minute) < 6 else _step_words(minute, "hour")
    elif len(hour) * len(minute) <= 4:
        when = "at " + ", ".join(f"{h:02d}:{m:02d}" for h in hour for m in minute)
    else:
        when = f"{_step_words(minute, 'hour')} from {hour[0]:02d}:00 to {hour[-1]:02d}:59"
    days = sorted({d % 7 for d in dow})
    if len(days) < 7:
        when += ", " + ("Monday to Friday" if days == [1, 2, 3, 4, 5] else ", ".join(WEEKDAYS[d] for d in days))
    if len(dom) < 31:
        when += f", on day {_ranges(dom)} of the month"
    if len(month) < 12:
        when += f", in month {_ranges(month)}"
    return f"{when} ({tz})"


def _step_words(values: list[int], unit: str) -> str:
    steps = {b - a for a, b in pairwise(values)}
    if len(steps) == 1 and values[0] == 0:
        return f"every {steps.pop()} minutes"
    return f"at minutes {_ranges(values)} of every {unit}"


def _ranges(values: list[int]) -> str:
    runs: list[list[int]] = []
    for value in values:
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


@dataclass(frozen=True)
class DayOff:
    """A coming New York date on which the job runs less than its cadence says, and why."""

    day: date
    reason: str  # weekend | holiday | early close
    detail: str


@dataclass(frozen=True)
class TimetableJob:
    row: ScheduledJob
    job: Job | None  # None when its schedule text cannot be read back
    words: str
    timezone: str


def timetable(*, session: Session) -> list[TimetableJob]:
    """Every job the scheduler has recorded, by name, with its cadence rebuilt."""
    found = []
    for row in session.exec(select(ScheduledJob).order_by(col(ScheduledJob.name))):
        try:
            cadence, gate = parse_schedule(row.schedule)
            job = Job(
                row.name,
                row.actor,
                cadence,
                grace=timedelta(seconds=row.grace_s),
                overdue_after=timedelta(seconds=row.overdue_after_s),
                gate=gate,
                kwargs=dict(row.args),
                description=row.description,
            )
        except ValueError:
            found.append(TimetableJob(row, None, row.schedule, "?"))
            continue
        tz = cadence.tz.key if isinstance(cadence, Cron) else "UTC"
        found.append(TimetableJob(row, job, in_words(cadence, gate), tz))
    return found


def next_runs(job: Job, now: datetime, count: int = 5, calendar: NyseCalendar = NYSE) -> list[datetime]:
    runs: list[datetime] = []
    try:
        for at in job.fire_times(now, now + timedelta(days=40), calendar):
            runs.append(at)
            if len(runs) >= count:
                break
    except CalendarOutOfRange:
        pass
    return runs


def days_off(job: Job, today: date, days: int = 31, calendar: NyseCalendar = NYSE) -> list[DayOff]:
    """Coming New York dates on which the cadence would fire but the market gate holds back some or
    all of its runs: weekends and holidays (no session), early closes (hours cut short)."""
    if job.gate in (MarketGate.ALWAYS, MarketGate.OUTSIDE_EXTENDED_HOURS):
        return []  # never held back by the calendar (the night job runs more on closed days, not less)
    found = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        start, end = _new_york_day(day)
        if next(job.cadence.fire_times(start, end), None) is None:
            continue  # not due that day anyway (a weekday-only cron on a Saturday)
        try:
            session = calendar.session(day)
        except CalendarOutOfRange:
            break
        if session is None:
            reason = "weekend" if day.weekday() >= 5 else "holiday"
            found.append(
                DayOff(day, reason, "the NYSE is closed" if reason == "weekend" else "NYSE holiday: no session")
            )
        elif session.early_close and job.gate in (MarketGate.REGULAR_HOURS, MarketGate.EXTENDED_HOURS):
            cut = session.closes if job.gate is MarketGate.REGULAR_HOURS else session.after_hours_closes
            usual = datetime.combine(day, REGULAR_CLOSE, NEW_YORK).astimezone(UTC)
            usual += AFTER_HOURS_LENGTH if job.gate is MarketGate.EXTENDED_HOURS else timedelta(0)
            if next(job.cadence.fire_times(cut - timedelta(microseconds=1), usual), None) is not None:
                hours = f"{cut.astimezone(NEW_YORK):%H:%M}-{usual.astimezone(NEW_YORK):%H:%M} ET"
                found.append(
                    DayOff(
                        day, "early close", f"closes at {session.closes.astimezone(NEW_YORK):%H:%M} ET: no runs {hours}"
                    )
                )
    return found


def _new_york_day(day: date) -> tuple[datetime, datetime]:
    """(just before the day's first instant, its last instant) in UTC, for fire_times' (after, until]."""
    start = datetime(day.year, day.month, day.day, tzinfo=NEW_YORK).astimezone(UTC)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=NEW_YORK).astimezone(UTC)
    return start - timedelta(microseconds=1), end - timedelta(microseconds=1)


@dataclass(frozen=True)
class RunView:
    due_at: datetime
    kind: str
    outcome: str
    message_id: str
    task_state: str | None
    detail: str | None


def recent_runs(*, session: Session, job: str, limit: int = 5) -> list[RunView]:
    """The job's newest runs (by tick), each with its task's ledger state."""
    query = select(ScheduledRun).where(ScheduledRun.job == job).order_by(col(ScheduledRun.due_at).desc()).limit(limit)
    runs = list(session.exec(query))
    ids = [run.message_id for run in runs]
    states: dict[str, str] = {}
    if ids:
        for message_id, state in session.exec(select(Task.message_id, Task.state).where(col(Task.message_id).in_(ids))):
            states[message_id] = state
    return [
        RunView(as_utc(r.due_at), r.kind, r.outcome, r.message_id, states.get(r.message_id), r.detail) for r in runs
    ]
