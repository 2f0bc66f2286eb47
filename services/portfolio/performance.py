"""Performance figures from daily series: pure math, conventions as in docs/market-data.md
("Portfolio figures and their conventions") and, figure for figure, as empyrical computes them.

Returns are plain floats (statistics, not money). A figure that is undefined on its input (too few
observations, zero dispersion, no drawdown, no root) is None, never NaN or infinity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import numpy as np

PERIODS_PER_YEAR = 252  # trading days: snapshots are taken on NYSE sessions
DAYS_PER_YEAR = 365.0  # XIRR's day count: Actual/365


def daily_returns(values: Sequence[float], flows: Sequence[float]) -> list[float | None]:
    """r_t = (V_t - F_t) / V_{t-1} - 1 for t >= 1: external flows F_t happen at the end of day t, so
    they are taken out of that day's end value before comparing it with the day before. A day whose
    previous value is not positive (the portfolio was empty) has no return (None)."""
    returns: list[float | None] = []
    for t in range(1, len(values)):
        previous = values[t - 1]
        returns.append((values[t] - flows[t]) / previous - 1.0 if previous > 0 else None)
    return returns


def time_weighted_return(returns: Sequence[float]) -> float | None:
    """The chained daily returns over the whole window (not annualized)."""
    if not returns:
        return None
    return float(np.prod(1.0 + np.asarray(returns, dtype=float)) - 1.0)


def annual_return(returns: Sequence[float], periods_per_year: int = PERIODS_PER_YEAR) -> float | None:
    """Geometric: (prod(1 + r))^(periods_per_year / n) - 1."""
    if not returns:
        return None
    growth = float(np.prod(1.0 + np.asarray(returns, dtype=float)))
    if growth <= 0:  # lost everything: no real root
        return -1.0
    return _finite(growth ** (periods_per_year / len(returns)) - 1.0)


def annual_volatility(returns: Sequence[float], periods_per_year: int = PERIODS_PER_YEAR) -> float | None:
    """Sample standard deviation (ddof=1) of daily returns times sqrt(periods_per_year)."""
    if len(returns) < 2:
        return None
    return float(np.std(np.asarray(returns, dtype=float), ddof=1) * math.sqrt(periods_per_year))


def daily_risk_free(annual_rate: float, periods_per_year: int = PERIODS_PER_YEAR) -> float:
    """The constant daily rate that compounds to `annual_rate` over a year of trading days."""
    return (1.0 + annual_rate) ** (1.0 / periods_per_year) - 1.0


def sharpe_ratio(
    returns: Sequence[float], daily_risk_free_rate: float = 0.0, periods_per_year: int = PERIODS_PER_YEAR
) -> float | None:
    """mean(r - rf) / std(r - rf, ddof=1) * sqrt(periods_per_year); None when every return is equal."""
    if len(returns) < 2:
        return None
    excess = np.asarray(returns, dtype=float) - daily_risk_free_rate
    if excess.max() == excess.min():
        return None
    return _finite(float(excess.mean() / np.std(excess, ddof=1) * math.sqrt(periods_per_year)))


def downside_risk(returns: Sequence[float], periods_per_year: int = PERIODS_PER_YEAR) -> float | None:
    """sqrt(mean(min(r, 0)^2)) * sqrt(periods_per_year): every day counts, days above the target
    count as zero (empyrical's definition, after Sortino; not the deviation of the losing days)."""
    if not returns:
        return None
    below = np.minimum(np.asarray(returns, dtype=float), 0.0)
    return float(math.sqrt(float(np.mean(below * below))) * math.sqrt(periods_per_year))


def sortino_ratio(returns: Sequence[float], periods_per_year: int = PERIODS_PER_YEAR) -> float | None:
    """mean(r) * periods_per_year / downside_risk(r), target 0; None without a losing day."""
    if len(returns) < 2:
        return None
    risk = downside_risk(returns, periods_per_year)
    if not risk:
        return None
    return _finite(float(np.mean(np.asarray(returns, dtype=float))) * periods_per_year / risk)


def max_drawdown(returns: Sequence[float]) -> float | None:
    """The worst fall from a running peak of the growth of 1 (the start counts as a peak): <= 0."""
    if not returns:
        return None
    wealth = np.concatenate(([1.0], np.cumprod(1.0 + np.asarray(returns, dtype=float))))
    peaks = np.maximum.accumulate(wealth)
    return float(np.min((wealth - peaks) / peaks))


def calmar_ratio(returns: Sequence[float], periods_per_year: int = PERIODS_PER_YEAR) -> float | None:
    """annual_return / |max_drawdown|; None without a drawdown."""
    drawdown = max_drawdown(returns)
    growth = annual_return(returns, periods_per_year)
    if drawdown is None or growth is None or drawdown >= 0:
        return None
    return _finite(growth / abs(drawdown))


def beta(returns: Sequence[float], benchmark: Sequence[float]) -> float | None:
    """cov(r, b) / var(b), both population moments over the same days; None when b does not move."""
    if len(returns) < 2 or len(returns) != len(benchmark):
        return None
    r, b = np.asarray(returns, dtype=float), np.asarray(benchmark, dtype=float)
    residual = b - b.mean()
    variance = float(np.mean(residual * residual))
    if variance < 1.0e-30:
        return None
    return float(np.mean(residual * r) / variance)


def alpha(
    returns: Sequence[float],
    benchmark: Sequence[float],
    daily_risk_free_rate: float = 0.0,
    periods_per_year: int = PERIODS_PER_YEAR,
) -> float | None:
    """(1 + mean((r - rf) - beta * (b - rf)))^periods_per_year - 1 (annualized by compounding the
    mean daily excess, as empyrical does)."""
    slope = beta(returns, benchmark)
    if slope is None:
        return None
    r, b = np.asarray(returns, dtype=float), np.asarray(benchmark, dtype=float)
    daily = float(np.mean((r - daily_risk_free_rate) - slope * (b - daily_risk_free_rate)))
    return _finite((1.0 + daily) ** periods_per_year - 1.0)


# -- money-weighted return ----------------------------------------------------------------------


def xirr(flows: Sequence[tuple[date, float]], *, tolerance: float = 1e-12, max_steps: int = 100) -> float | None:
    """The annual rate r at which sum(a_i / (1 + r)^((d_i - d_0) / 365)) = 0, Actual/365.

    Signs are the investor's: money put in is negative, money taken out (and the end value) positive.
    Newton's method from 10%, then bisection when Newton leaves (-100%, inf) or does not settle;
    None when there is no root (all flows of one sign, or no rate in (-0.999999999, 1e9) solves it)."""
    if len(flows) < 2:
        return None
    start = min(day for day, _ in flows)
    years = np.array([(day - start).days / DAYS_PER_YEAR for day, _ in flows])
    amounts = np.array([amount for _, amount in flows], dtype=float)
    if not (amounts > 0).any() or not (amounts < 0).any():
        return None

    def npv(rate: float) -> float:
        return float(np.sum(amounts * np.power(1.0 + rate, -years)))

    def npv_slope(rate: float) -> float:
        return float(np.sum(-years * amounts * np.power(1.0 + rate, -years - 1.0)))

    rate = 0.1
    for _ in range(max_steps):
        slope = npv_slope(rate)
        if slope == 0 or not math.isfinite(slope):
            break
        step = npv(rate) / slope
        rate -= step
        if not math.isfinite(rate) or rate <= -1.0:
            break
        if abs(step) <= tolerance * max(1.0, abs(rate)):
            return rate
    return _bisect(npv, tolerance)


def _bisect(npv: object, tolerance: float) -> float | None:
    assert callable(npv)
    low, high = -0.999999999, 1.0
    while npv(low) * npv(high) > 0 and high < 1e9:  # widen upwards until the sign changes
        high *= 10.0
    if npv(low) * npv(high) > 0:
        return None
    for _ in range(400):
        middle = (low + high) / 2.0
        if npv(low) * npv(middle) <= 0:
            high = middle
        else:
            low = middle
        if high - low <= tolerance * max(1.0, abs(middle)):
            break
    return (low + high) / 2.0


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
