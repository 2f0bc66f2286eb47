"""Splits and dividends of the demo stocks (and a few generated ones), as Yahoo's chart `events` show them.

The dates are modelled on the real ones (AAPL's 4:1 split in 2020, NVDA's 10:1 in June 2024, ...);
an ex-date that falls on a closed day moves to the next session, as exchanges do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.sandbox.path import symbol_seed, unit
from services.sandbox.universe import Asset
from services.scheduling.market_hours import NyseCalendar


@dataclass(frozen=True)
class Split:
    day: date  # the first session at the new share count
    numerator: int  # new shares
    denominator: int  # per old shares


@dataclass(frozen=True)
class Dividend:
    day: date  # the ex-date (a session)
    amount: float  # cash per share, split-adjusted as Yahoo shows it


SPLITS: dict[str, list[tuple[date, int, int]]] = {
    "AAPL": [(date(2020, 8, 31), 4, 1)],
    "NVDA": [(date(2021, 7, 20), 4, 1), (date(2024, 6, 10), 10, 1)],
    "AMZN": [(date(2022, 6, 6), 20, 1)],
    "GOOGL": [(date(2022, 7, 18), 20, 1)],
}
# symbol -> (months of the year, nominal day of month, amount, first year paid)
QUARTERLY = (2, 5, 8, 11)
DIVIDENDS: dict[str, tuple[tuple[int, ...], int, float, int]] = {
    "AAPL": (QUARTERLY, 10, 0.25, 2016),
    "MSFT": (QUARTERLY, 15, 0.83, 2016),
    "NVDA": ((3, 6, 9, 12), 5, 0.01, 2016),
    "GOOGL": ((3, 6, 9, 12), 9, 0.20, 2024),
    "JPM": ((1, 4, 7, 10), 6, 1.25, 2016),
    "XOM": (QUARTERLY, 14, 0.99, 2016),
    "SPY": ((3, 6, 9, 12), 20, 1.75, 2016),
    "QQQ": ((3, 6, 9, 12), 20, 0.70, 2016),
    "TLT": (tuple(range(1, 13)), 1, 0.31, 2016),
}


def _schedule(asset: Asset) -> tuple[tuple[int, ...], int, float, int] | None:
    if asset.symbol in DIVIDENDS:
        return DIVIDENDS[asset.symbol]
    if asset.symbol.startswith("SIM") and not asset.is_crypto:
        seed = symbol_seed(asset.symbol)
        if unit(seed, 2000, 0) < 0.25:  # a quarter of the generated stocks pay ~0.5% a quarter
            day = 1 + int(unit(seed, 2001, 0) * 25)
            return QUARTERLY, day, round(asset.base_price * 0.005, 2), 2016
    return None


def _next_session(calendar: NyseCalendar, day: date) -> date:
    while calendar.session(day) is None:
        day += timedelta(days=1)
    return day


def splits(asset: Asset, start: date, end: date, *, calendar: NyseCalendar) -> list[Split]:
    """Splits whose first session lies in [start, end]."""
    return [
        Split(day, numerator, denominator)
        for day, numerator, denominator in SPLITS.get(asset.symbol, [])
        if start <= day <= end
    ]


def dividends(asset: Asset, start: date, end: date, *, calendar: NyseCalendar) -> list[Dividend]:
    """Dividends whose ex-date lies in [start, end]."""
    schedule = _schedule(asset)
    if schedule is None or asset.is_crypto:
        return []
    months, nominal_day, amount, first_year = schedule
    found = []
    for year in range(max(start.year, first_year), end.year + 1):
        for month in months:
            ex_date = _next_session(calendar, date(year, month, nominal_day))
            if start <= ex_date <= end:
                found.append(Dividend(ex_date, amount))
    return found
