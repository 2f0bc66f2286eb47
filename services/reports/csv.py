"""A report as one CSV file of three blocks, each with its own header row, separated by one empty line:

    figure,value                                             the summary, then metric.* rows
    symbol,quantity,average_cost,price,market_value,weight   open positions at the period's end
    day,total_value,source                                   one row per day that has a value

Values are exact: money as stored (4 places), ratios as Python floats, none as an empty cell. One
file rather than three keeps the report a single attachment; a reader splits it on empty lines.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from services.reports.figures import ReportFigures
from services.reports.rows import figure_rows, metric_rows

POSITION_HEADER = ["symbol", "quantity", "average_cost", "price", "market_value", "weight"]
VALUE_HEADER = ["day", "total_value", "source"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def render_csv(figures: ReportFigures) -> str:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(["figure", "value"])
    out.writerows([row.key, exact(row.value)] for row in [*figure_rows(figures), *metric_rows(figures)])
    out.writerow([])
    out.writerow(POSITION_HEADER)
    out.writerows(
        [
            exact(p.symbol),
            exact(p.quantity),
            exact(p.average_cost),
            exact(p.price),
            exact(p.market_value),
            exact(p.weight),
        ]
        for p in figures.positions
    )
    out.writerow([])
    out.writerow(VALUE_HEADER)
    out.writerows([p.day.isoformat(), exact(p.total_value), p.source] for p in figures.points)
    return buffer.getvalue()


def exact(value: Any) -> str:
    """A cell: Decimal without exponent, float in full, none empty; a text that a spreadsheet would
    run as a formula (a portfolio named "=HYPERLINK(...)") is quoted with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value[:1] in FORMULA_STARTS else value
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)
