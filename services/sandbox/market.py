"""The simulated market: prices and bars of every asset, at any time up to now, computed on demand.

Stocks move only in NYSE regular hours: their clock counts session minutes (a session's minute m
reads `ordinal(day) * 480 + m`, so a weekday night adds 90 minutes of movement and a weekend more),
and outside hours the price is the last close. Coins move 24/7 on a clock of Unix minutes.

Bars of up to an hour are built from the minute path (open and close are the path at the bar's
ends; high and low add a hashed wick). Longer bars take the path at their ends for open and close,
and for high and low a bound of the path over the bar (`path.py`), so every longer bar contains
the shorter bars inside it. Daily bars of finished sessions are cached.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from services.sandbox.path import (
    COARSE_STEP,
    GAP_LEVEL,
    VOLUME_LEVEL,
    WICK_LEVEL_HIGH,
    WICK_LEVEL_LOW,
    PricePath,
)
from services.sandbox.universe import Asset
from services.scheduling.market_hours import NEW_YORK, NyseCalendar, Session

CLOCK_MINUTES_PER_DAY = 480  # 390 of a session plus 90 of overnight movement
STOCK_LEVELS = 18  # the coarsest level spans 2**17 clock minutes (about nine months of sessions)
COIN_LEVELS = 19
DAILY_CACHE_SIZE = 300_000  # finished sessions' bars kept (about 50 MB); then the cache starts over
PARTIAL_CACHE_SIZE = 50_000  # sessions in progress, for the instant they were last computed at
NULL_MINUTE_SHARE = 0.004  # a few one-minute stock bars have no trade (Yahoo shows them as nulls)


@dataclass(frozen=True)
class Interval:
    """A bar length: `size` minutes, or `size` sessions/days ("day"), weeks or months."""

    unit: str  # "minute", "day", "week", "month"
    size: int = 1

    @property
    def minutes(self) -> int:
        return {"minute": self.size, "day": 1440 * self.size, "week": 10080 * self.size}.get(self.unit, 0)


@dataclass
class Bars:
    """Bars in time order. `start`/`end` are epoch seconds; `null` marks a bar with no trade."""

    start: np.ndarray
    end: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    null: np.ndarray
    first_day: list[date]  # the session (stocks) or UTC date (coins) of each bar's first day
    last_day: list[date]  # and of its last day (weekly and monthly bars span several)

    def __len__(self) -> int:
        return len(self.start)

    @staticmethod
    def empty() -> Bars:
        none = np.zeros(0)
        return Bars(none, none, none, none, none, none, none, np.zeros(0, dtype=bool), [], [])

    def take(self, keep: np.ndarray) -> Bars:
        days = np.flatnonzero(keep)
        return Bars(
            self.start[keep],
            self.end[keep],
            self.open[keep],
            self.high[keep],
            self.low[keep],
            self.close[keep],
            self.volume[keep],
            self.null[keep],
            [self.first_day[i] for i in days],
            [self.last_day[i] for i in days],
        )


@dataclass(frozen=True)
class Price:
    """The price of an asset at `at` (epoch seconds): for a stock after the close, the close."""

    value: float
    at: float


class Market:
    """Prices and bars of the sandbox's assets; thread-safe, deterministic, computed on demand."""

    def __init__(self, *, calendar: NyseCalendar) -> None:
        self.calendar = calendar
        self._paths: dict[str, PricePath] = {}
        self._daily: dict[tuple[str, date], tuple[float, float, float, float, float]] = {}
        self._years: dict[int, tuple[list[date], list[Session]]] = {}
        self._partial: dict[tuple[str, date], tuple[float, tuple[float, float, float, float, float]]] = {}
        self._lock = threading.Lock()

    # -- the path --------------------------------------------------------------------------------
    def path(self, asset: Asset) -> PricePath:
        found = self._paths.get(asset.symbol)
        if found is None:
            minutes_per_day = 1440 if asset.is_crypto else 390
            found = PricePath(
                asset.symbol,
                base_price=asset.base_price,
                sigma_per_minute=asset.daily_volatility / math.sqrt(minutes_per_day),
                levels=COIN_LEVELS if asset.is_crypto else STOCK_LEVELS,
            )
            self._paths[asset.symbol] = found
        return found

    def price(self, asset: Asset, at: float) -> Price:
        """The last price at `at`: a coin's at that instant, a stock's at its last session minute."""
        if asset.is_crypto:
            return Price(self._round(asset, math.exp(self.path(asset).log_price(at / 60))), at)
        session = self.last_session(at)
        if session is None:
            raise LookupError(f"no session before {at}")
        traded_until = min(at, session.closes.timestamp())
        clock = _session_clock(session) + (traded_until - session.opens.timestamp()) / 60
        return Price(self._round(asset, math.exp(self.path(asset).log_price(clock))), traded_until)

    def last_session(self, at: float) -> Session | None:
        """The latest NYSE session that opened at or before `at`."""
        day = datetime.fromtimestamp(at, NEW_YORK).date()
        for back in range(10):
            session = self.calendar.session(day - timedelta(days=back))
            if session is not None and session.opens.timestamp() <= at:
                return session
        return None

    def sessions(self, first: date, last: date) -> list[Session]:
        """NYSE sessions from `first` to `last`, both included."""
        found: list[Session] = []
        for year in range(first.year, last.year + 1):
            days, sessions = self._year(year)
            found += sessions[bisect_left(days, first) : bisect_right(days, last)]
        return found

    def _year(self, year: int) -> tuple[list[date], list[Session]]:
        cached = self._years.get(year)
        if cached is None:
            sessions = self.calendar.sessions(year)
            cached = self._years[year] = ([s.day for s in sessions], sessions)
        return cached

    def warm_up(self, first_year: int, last_year: int) -> None:
        """Load the calendar's years ahead of the first request that needs them (a fraction of a second each)."""
        for year in range(first_year, last_year + 1):
            self._year(year)

    # -- bars --------------------------------------------------------------------------------------
    def bars(self, asset: Asset, interval: Interval, start: float, end: float, now: float) -> Bars:
        """Bars whose start lies in [start, end), up to the bar in progress at `now`."""
        end = min(end, now + 1)
        listed = datetime.combine(asset.listed, datetime.min.time(), UTC).timestamp()
        start = max(start, listed)
        if end <= start:
            return Bars.empty()
        if asset.is_crypto:
            return self._coin_bars(asset, interval, start, end, now)
        return self._stock_bars(asset, interval, start, end, now)

    def _stock_bars(self, asset: Asset, interval: Interval, start: float, end: float, now: float) -> Bars:
        # A weekly or monthly bar may begin before `start`: its sessions from a month back are needed.
        spans_sessions = interval.unit in ("week", "month") or (interval.unit == "day" and interval.size > 1)
        first = datetime.fromtimestamp(start, NEW_YORK).date() - timedelta(days=31 if spans_sessions else 0)
        last = datetime.fromtimestamp(min(end, now), NEW_YORK).date()
        sessions = [s for s in self.sessions(first, last) if s.opens.timestamp() <= now and s.day >= asset.listed]
        if not sessions:
            return Bars.empty()
        if interval.unit == "minute":
            bars = self._stock_minute_bars(asset, sessions, interval.size, start, end, now)
        else:
            bars = self._group_days(self._stock_daily(asset, sessions, now), interval)
        return bars.take((bars.start >= start) & (bars.start < end))

    def _stock_minute_bars(
        self, asset: Asset, sessions: list[Session], size: int, start: float, end: float, now: float
    ) -> Bars:
        starts, ends, clocks, clock_ends, group, days, slots = [], [], [], [], [], [], []
        for number, session in enumerate(sessions):
            opens, closes = session.opens.timestamp(), session.closes.timestamp()
            if closes <= start or opens >= end:
                continue
            length = round((closes - opens) / 60)
            minutes = np.arange(length)
            minute_starts = opens + minutes * 60.0
            # whole bars only: a bar belongs to the range when its start does
            bar_starts = opens + (minutes // size) * size * 60.0
            keep = (bar_starts >= start) & (bar_starts < end) & (minute_starts <= now)
            minutes = minutes[keep]
            if not len(minutes):
                continue
            clock0 = _session_clock(session)
            now_clock = clock0 + (now - opens) / 60
            starts.append(minute_starts[keep])
            slots.append(bar_starts[keep])
            ends.append(np.minimum(minute_starts[keep] + 60, closes))
            clocks.append(clock0 + minutes)
            clock_ends.append(np.minimum(clock0 + minutes + 1.0, now_clock))
            group.append(number * 100_000 + minutes // size)
            days.append(np.full(len(minutes), number))
        if not starts:
            return Bars.empty()
        x = np.concatenate(clocks)
        minute_bars = self._minute_bars(asset, x, np.concatenate(clock_ends), length_per_day=390)
        minute_bars.start = np.concatenate(starts)
        minute_bars.end = np.concatenate(ends)
        session_of = np.concatenate(days)
        minute_bars.first_day = minute_bars.last_day = [sessions[i].day for i in session_of]
        minute_bars.null = self.path(asset).extras(GAP_LEVEL, x.astype(np.int64)) < NULL_MINUTE_SHARE
        if size == 1:
            return minute_bars
        traded = ~minute_bars.null
        return _aggregate(minute_bars.take(traded), np.concatenate(group)[traded], np.concatenate(slots)[traded], size)

    def _minute_bars(self, asset: Asset, x: np.ndarray, x_end: np.ndarray, *, length_per_day: int) -> Bars:
        """One-minute bars starting at clock readings `x` (ending at `x_end`, earlier for the bar in progress)."""
        path = self.path(asset)
        both = path.log_prices(np.concatenate([x, x_end]))
        opens, closes = np.exp(both[: len(x)]), np.exp(both[len(x) :])
        index = x.astype(np.int64)
        highs = np.maximum(opens, closes) * np.exp(path.wick * path.extras(WICK_LEVEL_HIGH, index))
        lows = np.minimum(opens, closes) * np.exp(-path.wick * path.extras(WICK_LEVEL_LOW, index))
        if asset.is_crypto:
            shape = np.ones(len(x))
        else:  # busier near the open and the close
            minute_of_day = np.mod(x, CLOCK_MINUTES_PER_DAY)
            shape = 0.55 + 1.35 * (2 * minute_of_day / length_per_day - 1) ** 2
        volume = asset.daily_volume / length_per_day * shape * (0.5 + path.extras(VOLUME_LEVEL, index))
        volume *= np.clip(x_end - x, 0, 1)
        volume = self._round_volume(asset, volume)
        nothing = np.zeros(len(x), dtype=bool)
        rounded = [self._round(asset, v) for v in (opens, highs, lows, closes)]
        return Bars(x, x_end, rounded[0], rounded[1], rounded[2], rounded[3], volume, nothing, [], [])

    def _stock_daily(self, asset: Asset, sessions: list[Session], now: float) -> Bars:
        """One bar per session; finished sessions come from the cache."""
        rows: list[tuple[float, float, float, float, float] | None] = []
        missing = []
        for number, session in enumerate(sessions):
            cached = self._daily.get((asset.symbol, session.day))
            if cached is None:  # the session in progress, asked twice for one request (chart and meta)
                partial = self._partial.get((asset.symbol, session.day))
                cached = partial[1] if partial and partial[0] == now else None
            rows.append(cached)
            if cached is None:
                missing.append(number)
        if missing:
            a = np.array([_session_clock(sessions[i]) for i in missing], dtype=float)
            lengths = np.array([(sessions[i].closes - sessions[i].opens).total_seconds() / 60 for i in missing])
            elapsed = np.array(
                [(min(now, sessions[i].closes.timestamp()) - sessions[i].opens.timestamp()) / 60 for i in missing]
            )
            elapsed = np.clip(elapsed, 0, lengths)
            opens, highs, lows, closes = self._span(asset, a, a + elapsed)
            share = self.path(asset).extras(VOLUME_LEVEL, np.array([sessions[i].day.toordinal() for i in missing]))
            volume = self._round_volume(asset, asset.daily_volume * (0.6 + 0.8 * share) * elapsed / lengths)
            with self._lock:
                for j, number in enumerate(missing):
                    row = (opens[j], highs[j], lows[j], closes[j], volume[j])
                    rows[number] = row
                    if elapsed[j] >= lengths[j]:
                        self._daily[(asset.symbol, sessions[number].day)] = row
                    else:
                        self._partial[(asset.symbol, sessions[number].day)] = (now, row)
                if len(self._daily) > DAILY_CACHE_SIZE:
                    self._daily.clear()
                if len(self._partial) > PARTIAL_CACHE_SIZE:
                    self._partial.clear()
        table = np.array(rows, dtype=float).reshape(len(rows), 5)
        start = np.array([s.opens.timestamp() for s in sessions])
        end = np.array([s.closes.timestamp() for s in sessions])
        days = [s.day for s in sessions]
        nothing = np.zeros(len(rows), dtype=bool)
        opens, highs, lows, closes, volumes = table.T
        return Bars(start, end, opens, highs, lows, closes, volumes, nothing, days, list(days))

    def _span(self, asset: Asset, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
        """Open, high, low, close (rounded) of bars from clock `a` to clock `b`, without visiting every minute."""
        path = self.path(asset)
        ends = path.log_prices(np.concatenate([a, b]))
        first_step = np.ceil(a / COARSE_STEP)
        counts = np.maximum(np.floor(b / COARSE_STEP) - first_step + 1, 0).astype(np.int64)
        # each bar's points: a, b, then the multiples of COARSE_STEP strictly inside
        sizes = counts + 2
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        points = np.empty(int(sizes.sum()))
        points[offsets] = a
        points[offsets + 1] = b
        within = np.arange(len(points)) - np.repeat(offsets, sizes) - 2
        inside = within >= 0
        points[inside] = (np.repeat(first_step, sizes)[inside] + within[inside]) * COARSE_STEP
        coarse = path.coarse_many(points)
        margin = path.fine_bound + path.wick
        highs = np.exp(np.maximum.reduceat(coarse, offsets) + margin)
        lows = np.exp(np.minimum.reduceat(coarse, offsets) - margin)
        return tuple(self._round(asset, v) for v in (np.exp(ends[: len(a)]), highs, lows, np.exp(ends[len(a) :])))

    def _coin_bars(self, asset: Asset, interval: Interval, start: float, end: float, now: float) -> Bars:
        now_clock = now / 60
        if interval.unit == "month":
            raise ValueError("monthly coin bars are not simulated")
        step = interval.minutes
        offset = 4 * 1440 if interval.unit == "week" else 0  # weeks start on Monday; 1970-01-01 was a Thursday
        first_bar = math.ceil((start / 60 - offset) / step) * step + offset
        # Counted up to the bar in progress: np.arange with a float stop can drop the bar opening right now.
        count = math.floor((now_clock - first_bar) / step) + 1
        bar_starts = first_bar + step * np.arange(max(count, 0), dtype=float)
        bar_starts = bar_starts[bar_starts < end / 60]
        if not len(bar_starts):
            return Bars.empty()
        if interval.unit == "minute" and step <= 60:
            minutes = (bar_starts[:, None] + np.arange(step)[None, :]).ravel()
            minutes = minutes[minutes <= now_clock]
            bars = self._minute_bars(asset, minutes, np.minimum(minutes + 1, now_clock), length_per_day=1440)
            bars.start, bars.end = minutes * 60, (minutes + 1) * 60
            days = [datetime.fromtimestamp(t, UTC).date() for t in bars.start]
            bars.first_day, bars.last_day = days, days
            if step > 1:
                keys = np.floor((minutes - first_bar) / step).astype(np.int64)
                bars = _aggregate(bars, keys, (first_bar + keys * step) * 60.0, step)
            return bars
        bar_ends = np.minimum(bar_starts + step, now_clock)
        opens, highs, lows, closes = self._span(asset, bar_starts, bar_ends)
        share = self.path(asset).extras(VOLUME_LEVEL, (bar_starts * 7 + step).astype(np.int64))
        volume = self._round_volume(asset, asset.daily_volume / 1440 * (bar_ends - bar_starts) * (0.6 + 0.8 * share))
        first = [datetime.fromtimestamp(t * 60, UTC).date() for t in bar_starts]
        last = [datetime.fromtimestamp((t + step) * 60 - 1, UTC).date() for t in bar_starts]
        nothing = np.zeros(len(bar_starts), dtype=bool)
        return Bars(bar_starts * 60, (bar_starts + step) * 60, opens, highs, lows, closes, volume, nothing, first, last)

    def _group_days(self, daily: Bars, interval: Interval) -> Bars:
        if interval.unit == "day" and interval.size == 1:
            return daily
        days = daily.first_day
        if interval.unit == "week":
            keys = np.array([d.toordinal() - d.weekday() for d in days])
        elif interval.unit == "month":
            keys = np.array([d.year * 12 + (d.month - 1) // interval.size for d in days])
        else:  # a number of sessions, counted from the first
            keys = np.arange(len(days)) // interval.size
        return _aggregate(daily, keys)

    # -- rounding ----------------------------------------------------------------------------------
    @staticmethod
    def _round(asset: Asset, values: np.ndarray | float):
        return np.round(values, asset.decimals) if isinstance(values, np.ndarray) else round(values, asset.decimals)

    @staticmethod
    def _round_volume(asset: Asset, volume: np.ndarray) -> np.ndarray:
        return np.round(volume, 5 if asset.is_crypto else 0)


def _session_clock(session: Session) -> float:
    return float(session.day.toordinal() * CLOCK_MINUTES_PER_DAY)


def _aggregate(bars: Bars, keys: np.ndarray, slots: np.ndarray | None = None, size: int = 0) -> Bars:
    """Merge consecutive bars with equal `keys` (sorted). Minute bars pass each one's slot start
    (a bar starts at its slot even when its first minute had no trade) and the slot's `size`."""
    if not len(bars):
        return Bars.empty()
    firsts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    lasts = np.concatenate([firsts[1:] - 1, [len(keys) - 1]])
    start = bars.start[firsts] if slots is None else slots[firsts]
    return Bars(
        start,
        bars.end[lasts] if slots is None else start + size * 60,
        bars.open[firsts],
        np.maximum.reduceat(bars.high, firsts),
        np.minimum.reduceat(bars.low, firsts),
        bars.close[lasts],
        np.add.reduceat(bars.volume, firsts),
        np.zeros(len(firsts), dtype=bool),
        [bars.first_day[i] for i in firsts],
        [bars.last_day[i] for i in lasts],
    )
