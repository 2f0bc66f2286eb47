"""A periodic job: which actor it sends, with which arguments, when, and how late is too late."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from services.scheduling.cadence import Cadence
from services.scheduling.market_hours import NEW_YORK, NYSE, NyseCalendar, Phase

LOOKAHEAD = timedelta(days=400)


class MarketGate(StrEnum):
    """Limits a job to part of the NYSE calendar; its cadence picks the times, the gate filters them."""

    ALWAYS = "always"
    TRADING_DAYS = "trading_days"  # the New York date is a session (not a weekend or holiday)
    REGULAR_HOURS = "regular_hours"  # open until close, early closes included
    EXTENDED_HOURS = "extended_hours"  # pre-market, regular and after-hours
    OUTSIDE_EXTENDED_HOURS = "outside_extended_hours"  # nights, weekends and holidays
    OUTSIDE_REGULAR_HOURS = "outside_regular_hours"  # all but open to close: crypto's sweep

    def allows(self, at: datetime, calendar: NyseCalendar = NYSE) -> bool:
        if self is MarketGate.ALWAYS:
            return True
        phase = calendar.phase(at)
        if self is MarketGate.TRADING_DAYS:
            return calendar.session(at.astimezone(NEW_YORK).date()) is not None
        if self is MarketGate.REGULAR_HOURS:
            return phase is Phase.REGULAR
        if self is MarketGate.EXTENDED_HOURS:
            return phase is not Phase.CLOSED
        if self is MarketGate.OUTSIDE_REGULAR_HOURS:
            return phase is not Phase.REGULAR
        return phase is Phase.CLOSED


@dataclass(frozen=True)
class Job:
    """One line of the timetable.

    grace: a run not sent (by the scheduler) or not started (by a worker) within this time of its tick
        is too late to matter and is recorded as `skipped`; the next tick runs as usual.
    overdue_after: `monitor_jobs` raises an alert when a run due this long ago has not succeeded.
    """

    name: str
    actor: str
    cadence: Cadence
    grace: timedelta
    overdue_after: timedelta
    gate: MarketGate = MarketGate.ALWAYS
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name.replace("-", "").isalnum() or self.name != self.name.lower():
            raise ValueError(f"job name {self.name!r}: lowercase letters, digits and dashes")
        if self.grace <= timedelta(0) or self.overdue_after <= self.grace:
            raise ValueError(f"job {self.name}: 0 < grace < overdue_after")

    @property
    def schedule(self) -> str:
        gate = "" if self.gate is MarketGate.ALWAYS else f", {self.gate.value.replace('_', ' ')}"
        return f"{self.cadence}{gate}"

    def fire_times(self, after: datetime, until: datetime, calendar: NyseCalendar = NYSE) -> Iterator[datetime]:
        """Every tick in (after, until] that the gate lets through."""
        return (at for at in self.cadence.fire_times(after, until) if self.gate.allows(at, calendar))

    def next_run(self, after: datetime, calendar: NyseCalendar = NYSE) -> datetime | None:
        return next(self.fire_times(after, after + LOOKAHEAD, calendar), None)
