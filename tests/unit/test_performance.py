"""Every performance figure against the reference libraries: empyrical-reloaded and pyxirr."""

from __future__ import annotations

import math
from datetime import date, timedelta

import empyrical
import numpy as np
import pytest
from pyxirr import xirr as reference_xirr

from services.portfolio import performance as perf

TOLERANCE = 1e-9


def random_walk(seed: int, n: int = 300, drift: float = 0.0004, vol: float = 0.012) -> list[float]:
    return list(np.random.default_rng(seed).normal(drift, vol, n))


def with_drawdown() -> list[float]:
    """Up 20 days, a 30% slide over 15 days, a partial recovery."""
    return [0.01] * 20 + [-0.023] * 15 + [0.004, -0.002] * 30


def portfolio_with_flows() -> tuple[list[float], list[float]]:
    """End-of-day values and the day's flows: a deposit on day 10, a withdrawal on day 40."""
    rng = np.random.default_rng(11)
    values, flows, value = [10_000.0], [0.0], 10_000.0
    for day in range(1, 80):
        value *= 1 + rng.normal(0.0005, 0.01)
        flow = 5_000.0 if day == 10 else -3_000.0 if day == 40 else 0.0
        value += flow
        values.append(value)
        flows.append(flow)
    return values, flows


SERIES = {
    "random": random_walk(1),
    "trending": [0.002 + 0.004 * math.sin(i) for i in range(250)],
    "rising": [0.002 + 0.0001 * math.sin(i) for i in range(250)],  # never a losing day
    "drawdown": with_drawdown(),
    "volatile": random_walk(2, n=120, drift=-0.001, vol=0.03),
    "flows": [r for r in perf.daily_returns(*portfolio_with_flows()) if r is not None],
}
BENCHMARK = random_walk(99, n=300, drift=0.0003, vol=0.01)


@pytest.fixture(params=sorted(SERIES))
def returns(request: pytest.FixtureRequest) -> list[float]:
    return SERIES[request.param]


def close(ours: float | None, reference: float) -> bool:
    """Equal to 1e-9, relative; where the reference is NaN or infinite, ours is None."""
    if not math.isfinite(reference):
        return ours is None
    return ours is not None and abs(ours - reference) <= TOLERANCE * max(1.0, abs(reference))


def test_time_weighted_return_chains_the_daily_returns(returns):
    assert close(perf.time_weighted_return(returns), empyrical.cum_returns_final(np.array(returns)))


def test_annual_return_is_geometric_over_252_days(returns):
    assert close(perf.annual_return(returns), empyrical.annual_return(np.array(returns)))


def test_annual_volatility_is_the_sample_deviation_scaled(returns):
    assert close(perf.annual_volatility(returns), empyrical.annual_volatility(np.array(returns)))


@pytest.mark.parametrize("annual_rate", [0.0, 0.04])
def test_sharpe_matches_empyrical_with_a_daily_risk_free_rate(returns, annual_rate):
    daily = perf.daily_risk_free(annual_rate)
    assert close(perf.sharpe_ratio(returns, daily), empyrical.sharpe_ratio(np.array(returns), risk_free=daily))


def test_sortino_and_downside_risk_match_empyrical(returns):
    assert close(perf.downside_risk(returns), empyrical.downside_risk(np.array(returns)))
    assert close(perf.sortino_ratio(returns), empyrical.sortino_ratio(np.array(returns)))


def test_max_drawdown_counts_the_start_as_a_peak(returns):
    assert close(perf.max_drawdown(returns), empyrical.max_drawdown(np.array(returns)))


def test_calmar_matches_empyrical(returns):
    assert close(perf.calmar_ratio(returns), empyrical.calmar_ratio(np.array(returns)))


@pytest.mark.parametrize("annual_rate", [0.0, 0.03])
def test_beta_and_alpha_match_empyrical(returns, annual_rate):
    benchmark = BENCHMARK[: len(returns)]
    daily = perf.daily_risk_free(annual_rate)
    ref_alpha, ref_beta = empyrical.alpha_beta(np.array(returns), np.array(benchmark), risk_free=daily)
    assert close(perf.beta(returns, benchmark), ref_beta)
    assert close(perf.alpha(returns, benchmark, daily), ref_alpha)


def test_a_portfolio_that_is_the_benchmark_has_beta_one_and_no_alpha():
    assert close(perf.beta(BENCHMARK, BENCHMARK), 1.0)
    assert close(perf.alpha(BENCHMARK, BENCHMARK), 0.0)


def test_the_known_drawdown_is_found_exactly():
    # Given 20 days up 1% then 15 days down 2.3%, the worst fall is from day 20's peak to day 35.
    assert close(perf.max_drawdown(with_drawdown()), (1 - 0.023) ** 15 - 1)


def test_a_flow_is_not_a_return():
    # Given a portfolio that doubles only because money was put in, its daily return is zero.
    assert perf.daily_returns([100.0, 200.0], [0.0, 100.0]) == [0.0]
    # and a day after an empty portfolio has no return at all.
    assert perf.daily_returns([0.0, 100.0, 110.0], [0.0, 100.0, 0.0]) == [None, pytest.approx(0.1)]


def test_undefined_figures_are_none_not_nan():
    assert perf.annual_volatility([0.01]) is None
    assert perf.sharpe_ratio([0.01, 0.01, 0.01]) is None  # no dispersion
    assert perf.sortino_ratio([0.01, 0.02, 0.03]) is None  # no losing day
    assert perf.calmar_ratio([0.01, 0.02]) is None  # no drawdown
    assert perf.beta([0.01, 0.02], [0.01, 0.01]) is None  # the benchmark did not move
    assert perf.time_weighted_return([]) is None


# -- XIRR against pyxirr --------------------------------------------------------------------------

START = date(2025, 1, 2)


def flows_from(values: list[float], flows: list[float]) -> list[tuple[date, float]]:
    days = [START + timedelta(days=d + d // 5 * 2) for d in range(len(values))]  # weekdays only
    cash = [(days[0], -values[0])] + [(day, -flow) for day, flow in zip(days[1:], flows[1:], strict=True) if flow]
    return [*cash, (days[-1], values[-1])]


XIRR_CASES = {
    "one deposit, grown": [(START, -1000.0), (date(2026, 1, 2), 1100.0)],
    "one deposit, lost": [(START, -1000.0), (date(2025, 7, 2), 700.0)],
    "deposits and a withdrawal": [
        (START, -10_000.0),
        (date(2025, 3, 1), -2_500.0),
        (date(2025, 8, 15), 1_000.0),
        (date(2025, 12, 31), 12_900.0),
    ],
    "portfolio with flows": flows_from(*portfolio_with_flows()),
    "short and steep": [(START, -100.0), (START + timedelta(days=10), 130.0)],
}


@pytest.mark.parametrize("case", sorted(XIRR_CASES))
def test_xirr_matches_pyxirr(case):
    flows = XIRR_CASES[case]
    expected = reference_xirr([d for d, _ in flows], [a for _, a in flows])
    assert close(perf.xirr(flows), expected)


def test_xirr_has_no_root_when_every_flow_has_one_sign():
    assert perf.xirr([(START, 100.0), (date(2025, 6, 1), 50.0)]) is None
    assert perf.xirr([(START, -100.0)]) is None


def test_xirr_falls_back_to_bisection_where_newton_wanders():
    # Given half lost in a month (-99.98% a year), Newton from 10% overshoots below -100%;
    # bisection still finds the root.
    flows = [(START, -1000.0), (START + timedelta(days=30), 500.0)]
    expected = reference_xirr([d for d, _ in flows], [a for _, a in flows])
    assert close(perf.xirr(flows), expected)
