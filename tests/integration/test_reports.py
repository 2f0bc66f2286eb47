"""Reports on SQLite and PostgreSQL: a seeded portfolio (deposits, trades, snapshots, metrics and
daily bars written straight into their tables) gets daily, weekly and monthly reports whose every
figure, in the CSV and in the HTML, matches numbers computed here from the seed itself."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal as D
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlmodel import func, select

from services.notifications.email import attachment_path
from services.reports.generate import generate_reports
from services.storage.db import session_factory, session_scope
from services.storage.models import (
    CashFlow,
    DailyBar,
    Instrument,
    Portfolio,
    PortfolioMetrics,
    PortfolioSnapshot,
    Report,
    Trade,
)

pytestmark = pytest.mark.both_databases


def utc(day: int, hour: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@dataclass(frozen=True)
class SeedTrade:
    at: datetime
    symbol: str
    side: str
    quantity: D
    price: D
    fee: D


# The seed. Every New York date below is the UTC date too (all times are 14:00-16:00 UTC).
FLOWS = [(utc(2, 14), D("100000")), (utc(18, 15), D("5000")), (utc(19, 15), D("-1000"))]
TRADES = [
    SeedTrade(utc(3, 15), "AAPL", "buy", D("100"), D("150"), D("5")),
    SeedTrade(utc(17, 15), "BTC-USD", "buy", D("0.5"), D("40000"), D("10")),
    SeedTrade(utc(18, 16), "AAPL", "sell", D("40"), D("180"), D("4")),
    SeedTrade(utc(20, 15), "AAPL", "buy", D("10"), D("185"), D("1")),
    SeedTrade(utc(24, 15), "AAPL", "buy", D("1"), D("190"), D("0")),
]
SNAPSHOTS = {
    date(2026, 11, d): D(v)
    for d, v in [(13, "101000"), (16, "102000"), (17, "102500"), (18, "108000"), (19, "107200"), (20, "107900"),
                 (23, "108300"), (24, "108100")]
}  # fmt: skip
BARS = [("AAPL", 19, "184"), ("AAPL", 20, "186"), ("BTC-USD", 20, "41000"), ("BTC-USD", 22, "42000")]
LAST_PRICES = {"AAPL": D("190"), "BTC-USD": D("50000")}


def seed(database_url: str) -> int:
    with session_scope(database_url) as session:
        ids = {}
        for symbol, asset_class in (("AAPL", "equity"), ("BTC-USD", "crypto")):
            instrument = Instrument(
                symbol=symbol, asset_class=asset_class, last_price=LAST_PRICES[symbol], last_price_at=utc(25, 20)
            )
            session.add(instrument)
            session.flush()
            ids[symbol] = instrument.id
        portfolio = Portfolio(
            name="Demo & <Co>",
            account="bob",
            created_at=utc(1, 12),
            total_value=D("109999.5"),
            valued_at=utc(25, 21),
        )
        session.add(portfolio)
        session.flush()
        pid = portfolio.id
        session.add_all(CashFlow(portfolio_id=pid, at=when, amount=amount) for when, amount in FLOWS)
        session.add_all(
            Trade(
                portfolio_id=pid,
                instrument_id=ids[t.symbol],
                side=t.side,
                quantity=t.quantity,
                price=t.price,
                fee=t.fee,
                executed_at=t.at,
            )
            for t in TRADES
        )
        session.add_all(
            PortfolioSnapshot(
                portfolio_id=pid,
                day=day,
                taken_at=utc(day.day, 21),
                cash=D(0),
                market_value=value,
                total_value=value,
                cost_basis=D(0),
                unrealized_pnl=D(0),
            )
            for day, value in SNAPSHOTS.items()
        )
        session.add_all(
            DailyBar(instrument_id=ids[s], interval="1d", ts=utc(d, 0), close=D(c), source="test") for s, d, c in BARS
        )
        for window, sharpe in ((30, 0.5), (365, 1.25)):  # the longest window of the day is the one shown
            session.add(
                PortfolioMetrics(
                    portfolio_id=pid,
                    as_of=date(2026, 11, 20),
                    window_days=window,
                    computed_at=utc(20, 22),
                    observations=4,
                    benchmark="SPY",
                    sharpe=sharpe,
                    max_drawdown=-0.0074,
                )
            )
    return pid


def expected(start: date, end: date, opening: D, prices: dict[str, D], realized: D, averages: dict[str, D]) -> dict:
    """The period's figures, computed from the seed lists with plain arithmetic."""
    inside = [t for t in TRADES if start <= t.at.date() <= end]
    flows = [a for when, a in FLOWS if start <= when.date() <= end]
    closing_day = max(d for d in SNAPSHOTS if start <= d <= end)
    closing = SNAPSHOTS[closing_day]
    held: dict[str, D] = {}
    cash = D(0)
    for when, amount in FLOWS:
        cash += amount if when.date() <= end else 0
    for t in TRADES:
        if t.at.date() <= end:
            sign = 1 if t.side == "buy" else -1
            held[t.symbol] = held.get(t.symbol, D(0)) + sign * t.quantity
            cash -= sign * t.quantity * t.price + t.fee
    values = {s: q * prices[s] for s, q in held.items()}
    return {
        "figures": {
            "opening_value": opening,
            "closing_day": closing_day.isoformat(),
            "closing_value": closing,
            "change": closing - opening,
            "change_pct": (closing - opening) / opening if opening else None,
            "deposits": sum(a for a in flows if a > 0),
            "withdrawals": -sum(a for a in flows if a < 0),
            "net_deposits": sum(flows),
            "gain": closing - opening - sum(flows),
            "trades": len(inside),
            "buys": sum(t.side == "buy" for t in inside),
            "sells": sum(t.side == "sell" for t in inside),
            "volume": sum(t.quantity * t.price for t in inside),
            "fees": sum(t.fee for t in inside),
            "realized_pnl": realized,
            "cash": cash,
            "open_positions": len(held),
        },
        "positions": {s: (held[s], averages[s], prices[s], values[s], values[s] / closing) for s in held},
        "days": {d: v for d, v in SNAPSHOTS.items() if start <= d <= end},
    }


class Tables(HTMLParser):
    """The cell texts of each <table class=...> of a page."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.cell: list[str] | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.current = dict(attrs)["class"]
            self.tables[self.current] = []
        elif tag == "tr" and self.current:
            self.tables[self.current].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None and self.current:
            self.tables[self.current][-1].append("".join(self.cell))
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def blocks(text: str) -> tuple[dict[str, str], list[list[str]], list[list[str]]]:
    summary, positions, days = (list(csv.reader(io.StringIO(b.strip()))) for b in text.split("\n\n"))
    return dict(summary[1:]), positions[1:], days[1:]


def money(value: D) -> str:
    return str(D(value).quantize(D("0.0001")))


def shown(value: D) -> str:
    return f"{D(value):,.2f}"


LABELS = {
    "opening_value": "Opening value",
    "closing_value": "Closing value",
    "change": "Change",
    "deposits": "Deposits",
    "withdrawals": "Withdrawals",
    "net_deposits": "Net deposits",
    "gain": "Gain (change less net deposits)",
    "volume": "Volume",
    "fees": "Fees",
    "realized_pnl": "Realized P&L",
    "cash": "Cash at the end",
}
COUNTS = {"trades": "Trades", "buys": "Buys", "sells": "Sells", "open_positions": "Open positions"}


def check_report(reports_dir: Path, record: Report, want: dict) -> None:
    """Every figure of the catalog's CSV and HTML files against `want`."""
    figures, positions, days = blocks((reports_dir / record.csv_path).read_text())
    for key, value in want["figures"].items():
        if key == "change_pct":
            assert (figures[key] == "") if value is None else float(figures[key]) == pytest.approx(float(value)), key
        elif key in COUNTS or key == "closing_day":
            assert figures[key] == str(value), key
        else:
            assert figures[key] == money(value), key
    assert sorted(row[0] for row in positions) == sorted(want["positions"])
    for symbol, quantity, average, price, value, weight in positions:
        q, avg, p, v, w = want["positions"][symbol]
        assert (D(quantity), D(average), D(price), value) == (q, avg, p, money(v)), symbol
        assert float(weight) == pytest.approx(float(w)), symbol
    assert len(positions) == len(want["positions"])
    assert [(date.fromisoformat(d), D(v)) for d, v, _ in days] == list(want["days"].items())

    page = (reports_dir / record.html_path).read_text()
    tables = Tables(page).tables
    summary = dict(tables["summary"][1:])
    for key, label in LABELS.items():
        assert summary[label] == shown(want["figures"][key]), label
    for key, label in COUNTS.items():
        assert summary[label] == str(want["figures"][key]), label
    pct = want["figures"]["change_pct"]
    assert summary["Change %"] == ("-" if pct is None else f"{float(pct) * 100:.2f}%")
    assert summary["Portfolio"] == "Demo & <Co>" and "Demo &amp; &lt;Co&gt;" in page
    for symbol, quantity, average, price, value, weight in tables["positions"][1:]:
        q, avg, p, v, w = want["positions"][symbol]
        assert (D(quantity.replace(",", "")), D(average.replace(",", "")), price, value) == (q, avg, shown(p), shown(v))
        assert weight == f"{float(w) * 100:.2f}%"
    # the chart: one marker per day that has a value, with that day's value
    markers = [
        (c.split('data-day="')[1][:10], c.split('data-value="')[1].split('"')[0]) for c in page.split("<circle")[1:]
    ]
    assert [(date.fromisoformat(d), D(v)) for d, v in markers] == list(want["days"].items())
    assert (reports_dir / record.html_path).resolve().is_relative_to(reports_dir.resolve())


def catalog(database_url: str) -> list[Report]:
    with session_scope(database_url) as session:
        return list(session.exec(select(Report).order_by(Report.id)).all())


def test_weekly_report_of_a_seeded_portfolio_has_the_right_figures(database_url, tmp_path):
    pid = seed(database_url)
    folder = tmp_path / "reports"
    run = generate_reports(
        session_factory=session_factory(database_url),
        kind="weekly",
        as_of=None,  # by default a weekly report covers the week that has ended
        portfolio_ids=None,
        reports_dir=folder,
        now=utc(23, 11),  # Monday 06:00 in New York
    )
    [record] = catalog(database_url)
    assert [w.report_id for w in run.written] == [record.id] and run.summary() == "1 weekly reports for 2026-W47"
    assert (record.portfolio_id, record.kind, record.period_start, record.period_end) == (
        pid,
        "weekly",
        date(2026, 11, 16),
        date(2026, 11, 22),
    )
    assert record.html_path == f"weekly/{pid}/2026-W47.html" and record.csv_path == f"weekly/{pid}/2026-W47.csv"
    # AAPL: 100 @ 150, sell 40 @ 180 realizes 40 x 30 - 4 = 1196, then 10 @ 185: (60 x 150 + 1850) / 70 = 155.
    # Prices of a past week: the last daily close on or before its Sunday (BTC traded on Saturday).
    want = expected(
        date(2026, 11, 16),
        date(2026, 11, 22),
        opening=SNAPSHOTS[date(2026, 11, 13)],
        prices={"AAPL": D("186"), "BTC-USD": D("42000")},
        realized=D("1196"),
        averages={"AAPL": D("155"), "BTC-USD": D("40000")},
    )
    check_report(folder, record, want)
    assert record.figures["metrics"]["sharpe"] == 1.25 and record.figures["volume"] == "29050.0000"
    assert record.html_bytes == (folder / record.html_path).stat().st_size
    # the catalog's path is the name an email attachment gives (read only from the reports folder)
    assert attachment_path(record.csv_path, reports_dir=folder) == (folder / record.csv_path).resolve()
    page = (folder / record.html_path).read_text()
    assert "Sharpe ratio" in page and "1.2500" in page


def test_daily_and_monthly_reports_of_the_same_portfolio(database_url, tmp_path):
    seed(database_url)
    folder = tmp_path / "reports"
    generate_reports(
        session_factory=session_factory(database_url),
        kind="daily",
        as_of=date(2026, 11, 18),
        portfolio_ids=None,
        reports_dir=folder,
        now=utc(30, 12),
    )
    generate_reports(
        session_factory=session_factory(database_url),
        kind="monthly",
        as_of=date(2026, 11, 15),
        portfolio_ids=None,
        reports_dir=folder,
        now=utc(5, 12, 12),
    )
    daily, monthly = catalog(database_url)
    # The daily report of the 18th: AAPL's last close on or before it is none (bars start on the 19th),
    # so AAPL is unpriced there; BTC has no close before the 20th either.
    figures, positions, days = blocks((folder / daily.csv_path).read_text())
    assert figures["opening_value"] == "102500.0000" and figures["closing_value"] == "108000.0000"
    assert (
        figures["change"] == "5500.0000" and figures["deposits"] == "5000.0000" and figures["withdrawals"] == "0.0000"
    )
    assert (figures["trades"], figures["sells"], figures["volume"], figures["fees"]) == (
        "1",
        "1",
        "7200.0000",
        "4.0000",
    )
    assert figures["realized_pnl"] == "1196.0000"
    assert {row[0]: (row[1], row[3], row[4]) for row in positions} == {
        "AAPL": ("60.0000000000", "", ""),
        "BTC-USD": ("0.5000000000", "", ""),
    }
    assert days == [["2026-11-18", "108000.0000", "snapshot"]]
    assert "metrics.sharpe" not in figures  # no metrics row within that day
    # November: nothing before it, so it opens at zero; every trade and flow of the seed is in it.
    # AAPL 71 at (70 x 155 + 190) / 71 = 155.4929577465; the last AAPL close in November is the 20th's.
    check_report(
        folder,
        monthly,
        expected(
            date(2026, 11, 1),
            date(2026, 11, 30),
            opening=D(0),
            prices={"AAPL": D("186"), "BTC-USD": D("42000")},
            realized=D("1196"),
            averages={"AAPL": D("155.4929577465"), "BTC-USD": D("40000")},
        ),
    )
    assert monthly.figures["notes"] == ["no value before the period: it opens at zero"]


def test_todays_report_uses_the_current_valuation_before_the_snapshot(database_url, tmp_path):
    seed(database_url)
    folder = tmp_path / "reports"
    generate_reports(
        session_factory=session_factory(database_url),
        kind="daily",
        as_of=None,
        portfolio_ids=None,
        reports_dir=folder,
        now=utc(25, 22),
    )
    [record] = catalog(database_url)
    figures, positions, days = blocks((folder / record.csv_path).read_text())
    assert record.period_start == date(2026, 11, 25)
    assert days == [["2026-11-25", "109999.5000", "valuation"]]
    assert figures["opening_value"] == "108100.0000" and figures["change"] == "1899.5000"
    # today's positions are priced at the last good price we hold (as the valuation is)
    assert {row[0]: row[4] for row in positions} == {
        "AAPL": "13490.0000",
        "BTC-USD": "25000.0000",
    }  # 71 x 190, 0.5 x 50000


def test_a_rerun_overwrites_the_files_and_the_catalog_row(database_url, tmp_path):
    pid = seed(database_url)
    folder = tmp_path / "reports"
    first = generate_reports(
        session_factory=session_factory(database_url),
        kind="weekly",
        as_of=date(2026, 11, 18),
        portfolio_ids=[pid],
        reports_dir=folder,
        now=utc(23, 12),
    )
    with session_scope(database_url) as session:  # a late trade changes the week
        instrument = session.exec(select(Instrument).where(Instrument.symbol == "AAPL")).one()
        session.add(
            Trade(
                portfolio_id=pid,
                instrument_id=instrument.id,
                side="buy",
                quantity=D("1"),
                price=D("100"),
                fee=D("0"),
                executed_at=utc(19, 15),
            )
        )
    second = generate_reports(
        session_factory=session_factory(database_url),
        kind="weekly",
        as_of=date(2026, 11, 22),
        portfolio_ids=[pid],
        reports_dir=folder,
        now=utc(23, 13),
    )
    [record] = catalog(database_url)
    assert first.written[0].report_id == second.written[0].report_id == record.id
    assert record.figures["trades"] == 4 and blocks((folder / record.csv_path).read_text())[0]["trades"] == "4"
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == [f"weekly/{pid}/2026-W47.csv", f"weekly/{pid}/2026-W47.html"]  # no temporary left behind
    with session_scope(database_url) as session:
        assert session.exec(select(func.count()).select_from(Report)).one() == 1
