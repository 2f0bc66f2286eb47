"""calculate_metrics: a portfolio's performance figures over a trailing window of daily snapshots,
against its benchmark's daily closes, upserted into portfolio_metrics (keyed by portfolio, day and
window, so a re-run overwrites the same row).

The window is the `days` calendar days ending on `as_of` (included). Its first snapshot is the
starting value; each later snapshot gives one daily return (see performance.daily_returns). The
benchmark's returns come from consecutive daily closes of the instrument whose symbol is the
portfolio's benchmark; beta and alpha use only the days on which both returns cover the same
interval (the same previous day), so a missing snapshot or bar never pairs mismatched periods.

Fewer than MIN_OBSERVATIONS returns is not an error: the row is written with its observations
counted and every figure None.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from services.engine.progress import NullReporter, ProgressReporter, stop_if_cancelled
from services.portfolio import performance as perf
from services.portfolio.snapshots import SNAPSHOTS, market_day
from services.storage.db import SessionFactory, as_utc
from services.storage.models import DailyBar, Instrument, PerformanceFigures, Portfolio, PortfolioMetrics
from services.storage.upsert import dialect_insert

MIN_OBSERVATIONS = 2  # daily returns needed for any figure (a sample deviation needs two)
CHUNK = 200  # portfolios per read of snapshots: up to ~70,000 rows for a year's window
BENCHMARK_LOOKBACK_DAYS = 10  # bars read before the window, for the close before its first day

PORTFOLIOS = Portfolio.__table__  # type: ignore[attr-defined]
METRICS = PortfolioMetrics.__table__  # type: ignore[attr-defined]
BARS = DailyBar.__table__  # type: ignore[attr-defined]
INSTRUMENTS = Instrument.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class DailyPoint:
    day: date
    value: float  # total value at the end of the day
    flow: float  # net external flow that day (deposits positive)


def compute_figures(
    points: Sequence[DailyPoint], benchmark_closes: dict[date, float], *, risk_free_rate: float
) -> PerformanceFigures:
    """Every figure for one portfolio's window (pure)."""
    values = [p.value for p in points]
    raw = perf.daily_returns(values, [p.flow for p in points])
    dated = [(points[t + 1].day, points[t].day, r) for t, r in enumerate(raw) if r is not None]
    returns = [r for _, _, r in dated]
    if len(returns) < MIN_OBSERVATIONS:
        return PerformanceFigures(observations=len(returns))
    daily_rf = perf.daily_risk_free(risk_free_rate)
    bench_days = sorted(benchmark_closes)
    bench_returns = {
        day: (previous, benchmark_closes[day] / benchmark_closes[previous] - 1.0)
        for previous, day in pairwise(bench_days)
        if benchmark_closes[previous] > 0
    }
    pairs = [(r, bench_returns[day][1]) for day, previous, r in dated if bench_returns.get(day, (None,))[0] == previous]
    mine, theirs = [p for p, _ in pairs], [b for _, b in pairs]
    enough_pairs = len(pairs) >= MIN_OBSERVATIONS
    return PerformanceFigures(
        observations=len(returns),
        time_weighted_return=perf.time_weighted_return(returns),
        money_weighted_return=perf.xirr(_investor_flows(points)),
        annual_return=perf.annual_return(returns),
        annual_volatility=perf.annual_volatility(returns),
        sharpe=perf.sharpe_ratio(returns, daily_rf),
        sortino=perf.sortino_ratio(returns),
        max_drawdown=perf.max_drawdown(returns),
        calmar=perf.calmar_ratio(returns),
        beta=perf.beta(mine, theirs) if enough_pairs else None,
        alpha=perf.alpha(mine, theirs, daily_rf) if enough_pairs else None,
    )


def _investor_flows(points: Sequence[DailyPoint]) -> list[tuple[date, float]]:
    """The window as the investor sees it: the starting value put in, each later flow put in (or
    taken out), the end value taken out."""
    flows = [(points[0].day, -points[0].value)]
    flows += [(p.day, -p.flow) for p in points[1:] if p.flow]
    flows.append((points[-1].day, points[-1].value))
    return flows


@dataclass
class MetricsReport:
    as_of: date
    window_days: int
    computed: int = 0
    too_few_observations: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"metrics of {self.computed} portfolios over {self.window_days} days to {self.as_of.isoformat()} "
            f"({len(self.too_few_observations)} with too few observations)"
        )


def calculate_metrics(
    *,
    session_factory: SessionFactory,
    days: int,
    portfolio_id: int | None = None,
    as_of: date | None = None,
    now: datetime | None = None,
    risk_free_rate: float = 0.0,
    reporter: ProgressReporter | None = None,
) -> MetricsReport:
    """Compute and upsert the figures of `portfolio_id` (every portfolio when None)."""
    now, reporter = now or datetime.now(UTC), reporter or NullReporter()
    as_of = as_of or market_day(now)
    first_day = as_of - timedelta(days=days - 1)
    report = MetricsReport(as_of, days)
    with session_factory() as session:
        connection = session.connection()
        query = select(PORTFOLIOS.c.id, PORTFOLIOS.c.benchmark).order_by(PORTFOLIOS.c.id)
        if portfolio_id is not None:
            query = query.where(PORTFOLIOS.c.id == portfolio_id)
        portfolios: list[tuple[int, str]] = [(pid, benchmark) for pid, benchmark in connection.execute(query)]
        closes = {
            symbol: _benchmark_closes(connection, symbol, first_day, as_of) for symbol in {b for _, b in portfolios}
        }
    for start in range(0, len(portfolios), CHUNK):
        stop_if_cancelled(reporter)
        reporter.progress(start / max(len(portfolios), 1), f"metrics {start}/{len(portfolios)}")
        chunk = portfolios[start : start + CHUNK]
        with session_factory() as session:
            connection = session.connection()
            series = _snapshots(connection, [i for i, _ in chunk], first_day, as_of)
            rows = []
            for pid, benchmark in chunk:
                figures = compute_figures(series.get(pid, []), closes[benchmark], risk_free_rate=risk_free_rate)
                if figures.time_weighted_return is None:
                    report.too_few_observations.append(pid)
                rows.append(_row(pid, as_of, days, now, benchmark, figures))
            _upsert(connection, rows)
            report.computed += len(rows)
    reporter.progress(1.0, report.summary())
    return report


def _snapshots(connection: Connection, ids: list[int], first_day: date, as_of: date) -> dict[int, list[DailyPoint]]:
    query = (
        select(SNAPSHOTS.c.portfolio_id, SNAPSHOTS.c.day, SNAPSHOTS.c.total_value, SNAPSHOTS.c.net_flow)
        .where(SNAPSHOTS.c.portfolio_id.in_(ids), SNAPSHOTS.c.day >= first_day, SNAPSHOTS.c.day <= as_of)
        .order_by(SNAPSHOTS.c.portfolio_id, SNAPSHOTS.c.day)
    )
    series: dict[int, list[DailyPoint]] = defaultdict(list)
    for pid, day, value, flow in connection.execute(query):
        series[pid].append(DailyPoint(day, float(value), float(flow)))
    return series


def _benchmark_closes(connection: Connection, symbol: str, first_day: date, as_of: date) -> dict[date, float]:
    """Daily closes of `symbol` by trading day, from a little before the window to its end."""
    since = datetime.combine(first_day - timedelta(days=BENCHMARK_LOOKBACK_DAYS), datetime.min.time(), UTC)
    until = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), UTC)
    query = (
        select(BARS.c.ts, BARS.c.close)
        .join(INSTRUMENTS, INSTRUMENTS.c.id == BARS.c.instrument_id)
        .where(INSTRUMENTS.c.symbol == symbol, BARS.c.interval == "1d", BARS.c.ts >= since, BARS.c.ts < until)
        .order_by(BARS.c.ts)
    )
    closes = {as_utc(ts).date(): float(close) for ts, close in connection.execute(query)}
    # Keep one bar before the window (the base of its first return) and the bars inside it.
    before = [day for day in closes if day < first_day]
    keep_from = max(before) if before else first_day
    return {day: close for day, close in closes.items() if day >= keep_from}


def _row(
    pid: int, as_of: date, days: int, now: datetime, benchmark: str, figures: PerformanceFigures
) -> dict[str, Any]:
    return {
        "portfolio_id": pid,
        "as_of": as_of,
        "window_days": days,
        "computed_at": now,
        "benchmark": benchmark,
        **figures.model_dump(),
    }


def _upsert(connection: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    insert = dialect_insert(connection.dialect.name, METRICS)
    keys = ("portfolio_id", "as_of", "window_days")
    replace = {c: insert.excluded[c] for c in rows[0] if c not in keys}
    connection.execute(insert.on_conflict_do_update(index_elements=list(keys), set_=replace), rows)
