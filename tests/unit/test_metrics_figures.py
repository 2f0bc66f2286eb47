"""One window's figures from snapshots and benchmark closes (pure): alignment and too little data."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.portfolio import performance as perf
from services.portfolio.metrics import DailyPoint, compute_figures

DAYS = [date(2026, 11, 2) + timedelta(days=n) for n in range(8)]
VALUES = [100.0, 101.0, 99.5, 102.0, 103.5, 101.0, 104.0, 105.0]
CLOSES = [500.0, 502.0, 498.0, 505.0, 507.0, 503.0, 509.0, 511.0]


def points(values=VALUES, flows=None):
    flows = flows or [0.0] * len(values)
    return [DailyPoint(day, value, flow) for day, value, flow in zip(DAYS, values, flows, strict=True)]


def test_beta_uses_only_days_whose_returns_cover_the_same_interval():
    # Given no benchmark bar on day 3, the benchmark's day-4 return spans days 2-4, the portfolio's 3-4:
    closes = {day: close for n, (day, close) in enumerate(zip(DAYS, CLOSES, strict=True)) if n != 3}
    figures = compute_figures(points(), closes, risk_free_rate=0.0)
    returns = [VALUES[n] / VALUES[n - 1] - 1 for n in range(1, 8)]
    bench = {n: CLOSES[n] / CLOSES[n - 1] - 1 for n in range(1, 8)}
    # Then days 3 and 4 are left out of beta; every other figure uses all seven returns.
    paired = [n for n in range(1, 8) if n not in (3, 4)]
    assert figures.beta == pytest.approx(perf.beta([returns[n - 1] for n in paired], [bench[n] for n in paired]))
    assert figures.observations == 7
    assert figures.annual_volatility == pytest.approx(perf.annual_volatility(returns))


def test_flows_are_taken_out_of_returns_and_put_into_xirr():
    # Given a deposit of 50 on day 4,
    values = VALUES[:4] + [v + 50 for v in VALUES[4:]]
    flows = [0.0] * 4 + [50.0] + [0.0] * 3
    with_flow = compute_figures(points(values, flows), {}, risk_free_rate=0.0)
    without = compute_figures(points(), {}, risk_free_rate=0.0)
    # the time-weighted return barely notices it (the deposit earns from day 5 on),
    assert with_flow.time_weighted_return == pytest.approx(without.time_weighted_return, abs=0.005)
    # and XIRR counts it as money put in.
    expected = perf.xirr([(DAYS[0], -100.0), (DAYS[4], -50.0), (DAYS[-1], values[-1])])
    assert with_flow.money_weighted_return == pytest.approx(expected)
    # Without benchmark bars there is no beta or alpha, and that is not an error.
    assert with_flow.beta is None and with_flow.alpha is None


@pytest.mark.parametrize("count", [0, 1, 2])
def test_too_few_observations_give_a_row_of_nones(count):
    figures = compute_figures(points()[:count], dict(zip(DAYS, CLOSES, strict=True)), risk_free_rate=0.0)
    assert figures.observations == max(count - 1, 0)
    assert figures.time_weighted_return is None and figures.sharpe is None and figures.beta is None
