"""A report as one self-contained HTML file: inline CSS and an inline SVG chart of the daily total
value, no script and no external asset, so it reads the same in a browser, offline, or as an email
attachment. Every text that comes from data is escaped."""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from services.reports.figures import DayValue, ReportFigures
from services.reports.rows import Row, figure_rows, metric_rows

CHART_WIDTH, CHART_HEIGHT, MARGIN = 640, 240, 48

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2933; margin: 2em; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; }
p.sub { color: #616e7c; margin-top: 0; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 0.25em 0.8em; border-bottom: 1px solid #e4e7eb; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.chart polyline { fill: none; stroke: #2680c2; stroke-width: 2; }
.chart circle { fill: #2680c2; }
.chart text { font-size: 11px; fill: #616e7c; }
"""


def render_html(figures: ReportFigures) -> str:
    """The report page: summary figures, the value chart, open positions, metrics and notes."""
    period = figures.period
    title = f"{figures.portfolio} — {period.kind} report {period.label}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">Account {escape(figures.account)} · {period.start.isoformat()} to '
        f"{period.end.isoformat()} (New York dates) · amounts in {escape(figures.currency)}</p>",
        _table(["Figure", "Value"], [[row.label, shown(row)] for row in figure_rows(figures)], "summary"),
        "<h2>Total value by day</h2>",
        value_chart(figures.points),
        "<h2>Open positions at the end</h2>",
        _table(
            ["Symbol", "Quantity", "Average cost", "Price", "Market value", "Weight"],
            [
                [
                    p.symbol,
                    number(p.quantity),
                    number(p.average_cost, places=2),
                    number(p.price, places=2),
                    display(p.market_value),
                    percent(p.weight),
                ]
                for p in figures.positions
            ],
            "positions",
        ),
    ]
    if figures.metrics is not None:
        rows = [[row.label, shown(row)] for row in metric_rows(figures)]
        parts += ["<h2>Metrics</h2>", _table(["Metric", "Value"], rows, "metrics")]
    if figures.notes:
        parts += ["<h2>Notes</h2><ul>", *(f"<li>{escape(note)}</li>" for note in figures.notes), "</ul>"]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def value_chart(points: list[DayValue]) -> str:
    """An SVG line chart with one marker per day that has a value (`data-day`, `data-value`)."""
    width, height = CHART_WIDTH, CHART_HEIGHT
    if not points:
        return (
            f'<svg class="chart" width="{width}" height="40" role="img"><text x="0" y="20">no daily values</text></svg>'
        )
    values = [p.total_value for p in points]
    low, high = min(values), max(values)
    span = high - low or max(abs(high), Decimal(1))  # a flat line sits in the middle
    if high == low:
        low = low - span / 2
    plot_w, plot_h = width - 2 * MARGIN, height - 2 * MARGIN
    step = plot_w / (len(points) - 1) if len(points) > 1 else 0

    def xy(index: int, value: Decimal) -> tuple[float, float]:
        x = MARGIN + (index * step if len(points) > 1 else plot_w / 2)
        return round(x, 1), round(MARGIN + plot_h - float((value - low) / span) * plot_h, 1)

    coords = [xy(i, p.total_value) for i, p in enumerate(points)]
    markers = [
        f'<circle cx="{x}" cy="{y}" r="3" data-day="{p.day.isoformat()}" data-value="{p.total_value}">'
        f"<title>{p.day.isoformat()}: {display(p.total_value)}</title></circle>"
        for (x, y), p in zip(coords, points, strict=True)
    ]
    return "\n".join(
        [
            f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="Total value by day">',
            f'<polyline points="{" ".join(f"{x},{y}" for x, y in coords)}"/>',
            *markers,
            f'<text x="{MARGIN}" y="{MARGIN - 12}">high {display(max(values))}</text>',
            f'<text x="{MARGIN}" y="{height - MARGIN + 20}">low {display(min(values))} · '
            f"{points[0].day.isoformat()} to {points[-1].day.isoformat()}</text>",
            "</svg>",
        ]
    )


def shown(row: Row) -> str:
    """A summary or metric row's value as the page shows it."""
    if row.kind == "ratio":
        return percent(row.value)
    return display(row.value)


def display(value: Any) -> str:
    """Money to 2 places with thousands separators; other values as they are, `-` for none."""
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def number(value: Decimal | None, *, places: int = 0) -> str:
    """A quantity or a price in full (a crypto lot of 0.00012345 is not 0.00), with at least
    `places` decimals and thousands separators."""
    if value is None:
        return "-"
    plain = value.normalize()
    if -int(plain.as_tuple().exponent) < places:  # finite: the exponent is an int
        plain = plain.quantize(Decimal(1).scaleb(-places))
    return f"{plain:,f}"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


def _table(header: list[str], rows: list[list[str]], name: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = (
        "".join("<tr>" + "".join(_cell(i, cell) for i, cell in enumerate(row)) + "</tr>" for row in rows)
        or f'<tr><td colspan="{len(header)}">none</td></tr>'
    )
    return f'<table class="{name}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(index: int, text: str) -> str:
    return f'<td class="num">{escape(text)}</td>' if index > 0 else f"<td>{escape(text)}</td>"
