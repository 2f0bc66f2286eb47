"""The summary and metric rows a report shows, in order, shared by the HTML and the CSV so the two
always hold the same figures: (key, label, value, kind), kind being money, ratio, count, day or text."""

from __future__ import annotations

from typing import Any, NamedTuple

from services.reports.figures import ReportFigures

METRICS = (
    ("time_weighted_return", "Time-weighted return"),
    ("money_weighted_return", "Money-weighted return (annualized)"),
    ("annual_return", "Annual return"),
    ("annual_volatility", "Annual volatility"),
    ("sharpe", "Sharpe ratio"),
    ("sortino", "Sortino ratio"),
    ("max_drawdown", "Max drawdown"),
    ("calmar", "Calmar ratio"),
    ("beta", "Beta"),
    ("alpha", "Alpha"),
)


class Row(NamedTuple):
    key: str
    label: str
    value: Any
    kind: str  # money | ratio | count | day | text | number


def figure_rows(f: ReportFigures) -> list[Row]:
    return [
        Row("portfolio", "Portfolio", f.portfolio, "text"),
        Row("portfolio_id", "Portfolio id", f.portfolio_id, "count"),
        Row("account", "Account", f.account, "text"),
        Row("currency", "Currency", f.currency, "text"),
        Row("period", "Period", f.period.kind, "text"),
        Row("period_start", "Period start", f.period.start, "day"),
        Row("period_end", "Period end", f.period.end, "day"),
        Row("opening_day", "Opening value as of", f.opening_day, "day"),
        Row("opening_value", "Opening value", f.opening_value, "money"),
        Row("closing_day", "Closing value as of", f.closing_day, "day"),
        Row("closing_value", "Closing value", f.closing_value, "money"),
        Row("change", "Change", f.change, "money"),
        Row("change_pct", "Change %", f.change_pct, "ratio"),
        Row("deposits", "Deposits", f.deposits, "money"),
        Row("withdrawals", "Withdrawals", f.withdrawals, "money"),
        Row("net_deposits", "Net deposits", f.net_deposits, "money"),
        Row("gain", "Gain (change less net deposits)", f.gain, "money"),
        Row("trades", "Trades", f.trades, "count"),
        Row("buys", "Buys", f.buys, "count"),
        Row("sells", "Sells", f.sells, "count"),
        Row("volume", "Volume", f.volume, "money"),
        Row("fees", "Fees", f.fees, "money"),
        Row("realized_pnl", "Realized P&L", f.realized_pnl, "money"),
        Row("cash", "Cash at the end", f.cash, "money"),
        Row("open_positions", "Open positions", len(f.positions), "count"),
    ]


def metric_rows(f: ReportFigures) -> list[Row]:
    """The portfolio_metrics row of the period (none when there is no such row)."""
    if f.metrics is None:
        return []
    m = f.metrics
    rows = [
        Row("metrics.as_of", "Metrics as of", m.get("as_of"), "day"),
        Row("metrics.window_days", "Window (days)", m.get("window_days"), "count"),
        Row("metrics.observations", "Observations", m.get("observations"), "count"),
        Row("metrics.benchmark", "Benchmark", m.get("benchmark"), "text"),
    ]
    ratios = {
        "time_weighted_return",
        "money_weighted_return",
        "annual_return",
        "annual_volatility",
        "max_drawdown",
        "alpha",
    }
    rows += [Row(f"metrics.{key}", label, m.get(key), "ratio" if key in ratios else "number") for key, label in METRICS]
    return rows
