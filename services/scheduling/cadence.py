"""When a schedule fires, as UTC instants: a cron spec read in a timezone, or a fixed interval.

Cron specs are parsed by periodiq (`periodiq.cron`) on the message side; this module only needs the
expanded fields. It does its own matching because periodiq's has sharp edges: its `validate` compares
ISO weekdays (Sunday = 7) with cron weekdays (Sunday = 0), so a `sun` job never fires, and it works
in the process's local timezone only.

Daylight-saving rules, for a spec read in a timezone that has them:
- a wall time that does not exist (spring forward, 02:00-02:59 in New York) fires once, at the first
  instant after the gap (03:00), as cron does; several such times in one gap fire once;
- a wall time that happens twice (fall back, 01:00-01:59) fires once, at its first occurrence, unless
  the spec runs every hour (hour field `*`): then it fires in both, so its interval is kept.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

MAX_SEARCH = timedelta(days=5 * 366)


class CronFields(Protocol):
    """The expanded fields of a parsed cron spec (periodiq's CronSpec has them)."""

    minute: list[int]
    hour: list[int]
    dom: list[int]
    month: list[int]
    dow: list[int]  # 0 or 7 = Sunday


@dataclass(frozen=True)
class Cron:
    """A cron spec read in `tz`."""

    spec: str
    fields: CronFields
    tz: ZoneInfo

    def __post_init__(self) -> None:
        weekdays = frozenset(day % 7 for day in self.fields.dow)
        object.__setattr__(self, "_weekdays", weekdays)
        object.__setattr__(self, "_dom_restricted", len(set(self.fields.dom)) < 31)
        object.__setattr__(self, "_dow_restricted", len(weekdays) < 7)
        object.__setattr__(self, "_every_hour", len(set(self.fields.hour)) == 24)
        # A scheduler asks about the same few days at every tick: each day is worked out once.
        object.__setattr__(self, "_days", {})

    def __str__(self) -> str:
        return f"{self.spec} ({self.tz.key})"

    def fire_times(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Every instant in (after, until], in order."""
        day = after.astimezone(self.tz).date() - timedelta(days=1)  # a gap's fire may fall on the next day
        last_day = until.astimezone(self.tz).date()
        previous: datetime | None = None
        while day <= last_day:
            times = self._day_fire_times(day)
            for instant in times[bisect_right(times, after) :]:
                if instant > until:
                    return
                if instant != previous:
                    yield instant
                    previous = instant
            day += timedelta(days=1)

    def next_after(self, after: datetime) -> datetime | None:
        """The first instant after `after`, or None if there is none within five years."""
        return next(self.fire_times(after, after + MAX_SEARCH), None)

    def _matches_day(self, day: date) -> bool:
        if day.month not in self.fields.month:
            return False
        in_dom = day.day in self.fields.dom
        in_dow = day.isoweekday() % 7 in self._weekdays  # type: ignore[attr-defined]
        if self._dom_restricted and self._dow_restricted:  # type: ignore[attr-defined]
            return in_dom or in_dow  # cron's rule: either restricted field may match
        return in_dom and in_dow

    def _day_fire_times(self, day: date) -> tuple[datetime, ...]:
        days: dict[date, tuple[datetime, ...]] = self._days  # type: ignore[attr-defined]
        times = days.get(day)
        if times is None:
            if len(days) > 64:
                days.clear()
            times = days[day] = tuple(self._compute_day(day)) if self._matches_day(day) else ()
        return times

    def _compute_day(self, day: date) -> list[datetime]:
        times: set[datetime] = set()
        for hour in self.fields.hour:
            for minute in self.fields.minute:
                times.update(_resolve(datetime(day.year, day.month, day.day, hour, minute), self.tz, self._every_hour))  # type: ignore[attr-defined]
        return sorted(times)


@dataclass(frozen=True)
class Every:
    """A fixed interval in seconds, aligned to the Unix epoch (so every scheduler agrees on the ticks).
    For work that a minute-resolution cron cannot express: checking orders every few seconds."""

    seconds: int

    def __post_init__(self) -> None:
        if not 1 <= self.seconds <= 86400:
            raise ValueError("an interval is between 1 and 86400 seconds")

    def __str__(self) -> str:
        return f"every {self.seconds} s"

    def fire_times(self, after: datetime, until: datetime) -> Iterator[datetime]:
        step = self.seconds
        tick = (int(after.timestamp()) // step + 1) * step
        end = until.timestamp()
        while tick <= end:
            yield datetime.fromtimestamp(tick, UTC)
            tick += step

    def next_after(self, after: datetime) -> datetime | None:
        return next(self.fire_times(after, after + timedelta(seconds=self.seconds)), None)


Cadence = Cron | Every


def _resolve(wall: datetime, tz: ZoneInfo, both_folds: bool) -> list[datetime]:
    """The UTC instants at which the naive wall time `wall` in `tz` fires (see the module's rules)."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) != wall:  # in a gap: the first wall time after it
        later = wall
        while True:
            later += timedelta(minutes=1)
            instant = later.replace(tzinfo=tz).astimezone(UTC)
            if instant.astimezone(tz).replace(tzinfo=None) == later:
                return [instant]
    if first == second:
        return [first]
    return [first, second] if both_folds else [min(first, second)]
