"""A report's figures from hand-built rows, with the expected numbers worked out by hand."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.portfolio.snapshots import day_bounds
from services.reports.csv import render_csv
from services.reports.figures import (
    CashMove,
    DayValue,
    Period,
    PortfolioFacts,
    TradeRow,
    compute_figures,
    default_day,
    period_containing,
)
from services.reports.html import render_html

D = Decimal
WEEK = Period("weekly", date(2026, 11, 16), date(2026, 11, 22))
BOUNDS = (day_bounds(WEEK.start)[0], day_bounds(WEEK.end)[1])
AAPL, MSFT = 1, 2
FACTS = PortfolioFacts(7, "Growth <fund>", "alice", "USD")


def at(day: int, hour: int = 15) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def trade(number: int, when: datetime, instrument: int, side: str, quantity: str, price: str, fee: str) -> TradeRow:
    return TradeRow(number, 7, instrument, side, D(quantity), D(price), D(fee), when)


HISTORY = [
    trade(1, at(12), AAPL, "buy", "10", "100", "1"),  # before the week
    trade(2, at(17), AAPL, "buy", "5", "110", "1"),
    trade(3, at(18), AAPL, "sell", "4", "120", "2"),
    trade(4, at(20), MSFT, "buy", "2", "300.5", "0.5"),
]
MOVES = [CashMove(at(10), D("10000")), CashMove(at(17), D("500")), CashMove(at(19), D("-200"))]
POINTS = [DayValue(date(2026, 11, 17), D("10400")), DayValue(date(2026, 11, 18), D("10500")),
          DayValue(date(2026, 11, 20), D("10619.5"))]  # fmt: skip


def week_figures(**overrides):
    arguments = dict(
        portfolio=FACTS,
        period=WEEK,
        bounds=BOUNDS,
        opening=DayValue(date(2026, 11, 13), D("10050")),
        points=POINTS,
        history=HISTORY,
        cash_moves=MOVES,
        symbols={AAPL: "AAPL", MSFT: "MSFT"},
        prices={AAPL: D("125"), MSFT: D("310")},
    )
    return compute_figures(**(arguments | overrides))


def test_periods_are_the_day_the_iso_week_and_the_month_holding_the_day():
    assert period_containing("daily", date(2026, 11, 19)) == Period("daily", date(2026, 11, 19), date(2026, 11, 19))
    assert period_containing("weekly", date(2026, 11, 19)) == WEEK
    assert period_containing("weekly", date(2026, 11, 22)) == WEEK  # Sunday ends the ISO week
    assert period_containing("monthly", date(2028, 2, 10)) == Period("monthly", date(2028, 2, 1), date(2028, 2, 29))
    assert period_containing("monthly", date(2026, 12, 31)).end == date(2026, 12, 31)
    assert WEEK.label == "2026-W47" and period_containing("monthly", date(2026, 11, 3)).label == "2026-11"


def test_by_default_daily_covers_today_and_weekly_or_monthly_the_period_that_ended():
    monday = date(2026, 11, 23)
    assert default_day("daily", monday) == monday
    assert period_containing("weekly", default_day("weekly", monday)) == WEEK
    assert period_containing("monthly", default_day("monthly", date(2026, 12, 1))).start == date(2026, 11, 1)


def test_a_week_of_trades_and_flows_adds_up():
    f = week_figures()
    assert (f.opening_day, f.opening_value) == (date(2026, 11, 13), D("10050.0000"))
    assert (f.closing_day, f.closing_value) == (date(2026, 11, 20), D("10619.5000"))
    assert f.change == D("569.5000") and f.change_pct == pytest.approx(569.5 / 10050)
    assert (f.deposits, f.withdrawals, f.net_deposits) == (D("500.0000"), D("200.0000"), D("300.0000"))
    assert f.gain == D("269.5000")
    assert (f.trades, f.buys, f.sells) == (3, 2, 1)
    assert f.volume == D("1631.0000")  # 5 x 110 + 4 x 120 + 2 x 300.5
    assert f.fees == D("3.5000")
    # average cost after the second buy: 1550 / 15 = 103.3333333333; the sell realizes
    # 4 x (120 - 103.3333333333) - 2 fee = 64.6666666668
    assert f.realized_pnl == D("64.6667")
    assert f.cash == D("8624.5000")  # 10000 - 1001 + 500 - 200 - 551 + 478 - 601.5
    assert [(p.symbol, p.quantity, p.market_value) for p in f.positions] == [
        ("AAPL", D("11"), D("1375.0000")),
        ("MSFT", D("2"), D("620.0000")),
    ]
    assert f.positions[0].average_cost == D("103.3333333333")
    assert f.positions[0].weight == pytest.approx(1375 / 10619.5)
    assert [p.day for p in f.points] == [date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 20)]
    assert f.notes == []


def test_a_trade_at_the_first_instant_counts_and_one_at_the_next_period_does_not():
    first, after = BOUNDS
    history = [trade(1, first, AAPL, "buy", "1", "10", "0"), trade(2, after, AAPL, "buy", "1", "20", "0")]
    f = week_figures(history=history, cash_moves=[])
    assert (f.trades, f.volume) == (1, D("10.0000"))


def test_a_portfolio_started_within_the_period_opens_at_zero():
    f = week_figures(opening=None)
    assert f.opening_value == D("0.0000") and f.change == D("10619.5000") and f.change_pct is None
    assert f.notes == ["no value before the period: it opens at zero"]


def test_a_period_without_values_closes_at_its_opening_and_unpriced_positions_have_no_weight():
    f = week_figures(points=[], prices={AAPL: D("125")})
    assert f.closing_value == f.opening_value and f.change == D("0.0000")
    msft = next(p for p in f.positions if p.symbol == "MSFT")
    assert msft.price is None and msft.market_value is None and msft.weight is None


def test_a_history_that_does_not_replay_leaves_realized_pnl_unknown_but_counts_the_trades():
    history = [*HISTORY, trade(5, at(21), MSFT, "sell", "9", "300", "0")]
    f = week_figures(history=history)
    assert f.realized_pnl is None and f.cash is None and f.positions == []
    assert f.trades == 4 and "does not replay" in f.notes[0]


def test_csv_holds_the_exact_figures_in_three_blocks():
    f = week_figures(metrics={"as_of": date(2026, 11, 20), "window_days": 365, "observations": 3,
                              "benchmark": "SPY", "sharpe": 1.25})  # fmt: skip
    summary, positions, values = render_csv(f).split("\n\n")
    figures = dict(csv.reader(io.StringIO(summary)))
    assert figures["figure"] == "value"
    assert figures["closing_value"] == "10619.5000" and figures["volume"] == "1631.0000"
    assert figures["realized_pnl"] == "64.6667" and figures["portfolio"] == "Growth <fund>"
    assert figures["metrics.sharpe"] == "1.25" and figures["metrics.beta"] == ""
    assert list(csv.reader(io.StringIO(positions)))[1][:2] == ["AAPL", "11"]
    assert list(csv.reader(io.StringIO(values.strip()))) == [
        ["day", "total_value", "source"],
        ["2026-11-17", "10400", "snapshot"],
        ["2026-11-18", "10500", "snapshot"],
        ["2026-11-20", "10619.5", "snapshot"],
    ]


def test_csv_quotes_a_name_a_spreadsheet_would_run_as_a_formula():
    f = week_figures(portfolio=PortfolioFacts(7, "=HYPERLINK(1)", "alice", "USD"))
    assert dict(csv.reader(io.StringIO(render_csv(f).split("\n\n")[0])))["portfolio"] == "'=HYPERLINK(1)"


def test_html_escapes_names_and_draws_one_marker_per_day():
    page = render_html(week_figures())
    assert "Growth &lt;fund&gt;" in page and "<fund>" not in page
    assert page.count("<circle ") == 3 and 'data-day="2026-11-20" data-value="10619.5"' in page
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "10,619.50" in page and "5.67%" in page  # closing value, change %
