"""Portfolios on SQLite and PostgreSQL: positions from trades, revaluation with stale and missing
prices, daily snapshots, stored metrics and the demo seed. Prices are written straight into the
instruments table, as the price refresh would."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlmodel import Session, func, select

from bench.generated import create_generated_portfolios
from services.errors import TradeHistoryInvalid
from services.portfolio import performance as perf
from services.portfolio.metrics import calculate_metrics
from services.portfolio.positions import rebuild_all_positions, rebuild_positions
from services.portfolio.revaluation import revalue_portfolios
from services.portfolio.seed import seed_demo
from services.portfolio.snapshots import create_snapshots
from services.storage.db import as_utc, make_engine, session_factory, session_scope
from services.storage.models import (
    CashFlow,
    DailyBar,
    Instrument,
    Portfolio,
    PortfolioMetrics,
    PortfolioSnapshot,
    Position,
    Trade,
)

pytestmark = pytest.mark.both_databases

SATURDAY_NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # NYSE closed since Friday 21:00 UTC
FRIDAY_1559 = datetime(2026, 11, 20, 20, 59, tzinfo=UTC)
LIMIT = 900.0


class RecordingReporter:
    def __init__(self) -> None:
        self.steps: list[tuple[float, str | None]] = []

    def progress(self, fraction: float, step: str | None = None) -> None:
        self.steps.append((fraction, step))

    def log(self, line: str) -> None:
        self.steps.append((-1.0, line))

    def cancelled(self) -> bool:
        return False


def add_instrument(session: Session, symbol: str, asset_class: str, price: str | None, at: datetime | None) -> int:
    instrument = Instrument(
        symbol=symbol, asset_class=asset_class, last_price=D(price) if price else None, last_price_at=at
    )
    session.add(instrument)
    session.flush()
    return instrument.id or 0


def add_portfolio(session: Session, name: str = "p") -> int:
    portfolio = Portfolio(name=name, account="test", created_at=SATURDAY_NOON - timedelta(days=30))
    session.add(portfolio)
    session.flush()
    return portfolio.id or 0


def buy(session: Session, pid: int, iid: int, quantity: str, price: str, minutes: int, side: str = "buy") -> None:
    session.add(
        Trade(
            portfolio_id=pid,
            instrument_id=iid,
            side=side,
            quantity=D(quantity),
            price=D(price),
            fee=D("1"),
            executed_at=SATURDAY_NOON - timedelta(days=5, minutes=-minutes),
        )
    )


def positions_of(database_url: str, pid: int) -> dict[int, Position]:
    with session_scope(database_url) as session:
        return {p.instrument_id: p for p in session.exec(select(Position).where(Position.portfolio_id == pid))}


def test_positions_and_cash_are_rebuilt_from_trades_idempotently(database_url):
    # Given a deposit of 10,000 and trades in two instruments,
    with session_scope(database_url) as session:
        aapl = add_instrument(session, "AAPL", "equity", None, None)
        btc = add_instrument(session, "BTC-USD", "crypto", None, None)
        pid = add_portfolio(session)
        session.add(CashFlow(portfolio_id=pid, at=SATURDAY_NOON - timedelta(days=6), amount=D("10000")))
        buy(session, pid, aapl, "10", "100", 1)
        buy(session, pid, aapl, "10", "110", 2)
        buy(session, pid, aapl, "5", "120", 3, side="sell")
        buy(session, pid, btc, "0.1", "50000", 4)
    # When positions are rebuilt twice,
    with session_scope(database_url) as session:
        first = rebuild_positions(session=session, portfolio_id=pid)
    ids_before = {i: p.id for i, p in positions_of(database_url, pid).items()}
    with session_scope(database_url) as session:
        second = rebuild_positions(session=session, portfolio_id=pid)
    # Then the average cost is weighted, sells leave it alone, cash is what the history adds up to,
    held = positions_of(database_url, pid)
    assert (held[aapl].quantity, held[aapl].average_cost) == (D(15), D(105))
    assert (held[btc].quantity, held[btc].average_cost) == (D("0.1"), D(50000))
    assert first.cash == D("10000") - D("1001") - D("1101") + D("599") - D("5001") == D("3496.0000")
    assert first.realized_pnl == D("74.0000")
    # and the second run changed nothing.
    assert (second.added, second.changed, second.removed) == (0, 0, 0)
    assert {i: p.id for i, p in held.items()} == ids_before
    with session_scope(database_url) as session:
        assert (session.get(Portfolio, pid) or Portfolio()).cash == D("3496.0000")

    # When the rest of AAPL is sold, its position goes.
    with session_scope(database_url) as session:
        buy(session, pid, aapl, "15", "130", 5, side="sell")
    with session_scope(database_url) as session:
        result = rebuild_positions(session=session, portfolio_id=pid)
    assert result.removed == 1 and set(positions_of(database_url, pid)) == {btc}


def test_an_oversold_history_is_refused_and_positions_are_kept(database_url):
    with session_scope(database_url) as session:
        iid = add_instrument(session, "MSFT", "equity", None, None)
        good, bad = add_portfolio(session, "good"), add_portfolio(session, "bad")
        buy(session, good, iid, "2", "400", 1)
        buy(session, bad, iid, "2", "400", 1)
    rebuild_all_positions(session_factory=session_factory(database_url))
    with session_scope(database_url) as session:
        buy(session, bad, iid, "3", "410", 2, side="sell")
        buy(session, good, iid, "1", "405", 2)
    # When every portfolio is rebuilt, the good one is, and the bad one's error names it.
    with pytest.raises(TradeHistoryInvalid, match=r"sells 3 of instrument \d+ while holding 2"):
        rebuild_all_positions(session_factory=session_factory(database_url))
    assert positions_of(database_url, good)[iid].quantity == D(3)
    assert positions_of(database_url, bad)[iid].quantity == D(2)


def test_revaluation_uses_stale_prices_flagged_and_counts_unpriced(database_url):
    # Given a fresh crypto price, Friday's close on a Saturday, a stale crypto price and no price,
    with session_scope(database_url) as session:
        fresh = add_instrument(session, "BTC-USD", "crypto", "110.5", SATURDAY_NOON - timedelta(minutes=1))
        friday = add_instrument(session, "AAPL", "equity", "40.123456", FRIDAY_1559)
        stale = add_instrument(session, "ETH-USD", "crypto", "12", SATURDAY_NOON - timedelta(hours=1))
        never = add_instrument(session, "NVDA", "equity", None, None)
        pid = add_portfolio(session)
        session.add(CashFlow(portfolio_id=pid, at=SATURDAY_NOON - timedelta(days=6), amount=D("2275")))
        for iid, quantity, cost in ((fresh, "10", "100"), (friday, "3", "50"), (stale, "2", "10"), (never, "5", "20")):
            buy(session, pid, iid, quantity, cost, iid)
    rebuild_all_positions(session_factory=session_factory(database_url))
    # When the portfolio is revalued on Saturday,
    reporter = RecordingReporter()
    report = revalue_portfolios(
        session_factory=session_factory(database_url), max_age_seconds=LIMIT, now=SATURDAY_NOON, reporter=reporter
    )
    # Then each position holds its figures, the stale one flagged, the unpriced one empty,
    held = positions_of(database_url, pid)
    assert (held[fresh].market_value, held[fresh].unrealized_pnl, held[fresh].price_stale) == (
        D("1105.0000"),
        D("105.0000"),
        False,
    )
    assert (held[friday].market_value, held[friday].price_stale) == (D("120.3704"), False)
    assert as_utc(held[friday].price_at or SATURDAY_NOON) == FRIDAY_1559
    assert (held[stale].market_value, held[stale].price_stale) == (D("24.0000"), True)
    assert (held[never].market_value, held[never].price, held[never].weight) == (None, None, None)
    # and the account summary adds them up (cash: 2,275 deposited - 1,270 of trades - 4 of fees).
    with session_scope(database_url) as session:
        summary = session.get(Portfolio, pid) or Portfolio()
    assert summary.cash == D("1001.0000")
    assert (summary.market_value, summary.total_value) == (D("1249.3704"), D("2250.3704"))
    assert (summary.cost_basis, summary.unrealized_pnl) == (D("1270.0000"), D("79.3704"))
    assert (summary.stale_positions, summary.unpriced_positions) == (1, 1)
    assert as_utc(summary.valued_at or FRIDAY_1559) == SATURDAY_NOON
    assert held[fresh].weight == pytest.approx(1105 / 2250.3704)
    assert (report.portfolios, report.positions, report.stale_positions, report.unpriced_positions) == (1, 4, 1, 1)
    assert reporter.steps[-1][0] == 1.0


def test_revaluation_in_chunks_values_every_portfolio_and_reports_each_chunk(database_url):
    book = create_generated_portfolios(database_url, portfolios=23, positions_each=4, instruments=40, now=SATURDAY_NOON)
    reporter = RecordingReporter()
    report = revalue_portfolios(
        session_factory=session_factory(database_url),
        max_age_seconds=LIMIT,
        now=SATURDAY_NOON,
        reporter=reporter,
        chunk=5,
    )
    assert (report.portfolios, report.positions) == (23, 92)
    assert [f for f, _ in reporter.steps] == [0.0, 5 / 23, 10 / 23, 15 / 23, 20 / 23, 1.0]
    with session_scope(database_url) as session:
        for pid in book.portfolio_ids:
            portfolio = session.get(Portfolio, pid) or Portfolio()
            held = session.exec(select(Position).where(Position.portfolio_id == pid)).all()
            assert portfolio.market_value == sum((p.market_value or D(0) for p in held), D(0))
            assert portfolio.total_value == portfolio.cash + portfolio.market_value
            assert all(as_utc(p.valued_at or FRIDAY_1559) == SATURDAY_NOON for p in held)


def test_a_snapshot_is_taken_once_per_day_with_the_days_flows(database_url):
    with session_scope(database_url) as session:
        iid = add_instrument(session, "SOL-USD", "crypto", "100", SATURDAY_NOON)
        pid = add_portfolio(session)
        session.add(CashFlow(portfolio_id=pid, at=SATURDAY_NOON - timedelta(days=3), amount=D("1000")))
        session.add(CashFlow(portfolio_id=pid, at=SATURDAY_NOON - timedelta(hours=2), amount=D("250.5")))
        buy(session, pid, iid, "5", "90", 1)
    rebuild_all_positions(session_factory=session_factory(database_url))
    # When a snapshot is taken, then the price moves and it is taken again the same day,
    first = create_snapshots(session_factory=session_factory(database_url), max_age_seconds=LIMIT, now=SATURDAY_NOON)
    with session_scope(database_url) as session:
        instrument = session.get(Instrument, iid) or Instrument()
        instrument.last_price, instrument.last_price_at = D("120"), SATURDAY_NOON + timedelta(hours=1)
    create_snapshots(
        session_factory=session_factory(database_url), max_age_seconds=LIMIT, now=SATURDAY_NOON + timedelta(hours=1)
    )
    # Then there is one row for the day, with the latest values and that day's flows only.
    with session_scope(database_url) as session:
        rows = session.exec(select(PortfolioSnapshot).where(PortfolioSnapshot.portfolio_id == pid)).all()
    assert first.day == date(2026, 11, 21) and len(rows) == 1
    [row] = rows
    assert (row.day, row.market_value, row.cash, row.net_flow, row.positions) == (
        date(2026, 11, 21),
        D("600.0000"),
        D("799.5000"),
        D("250.5000"),
        1,
    )
    assert row.total_value == D("1399.5000")


def test_metrics_are_computed_from_snapshots_and_the_benchmark_and_stored(database_url):
    # Given 30 days of snapshots with a deposit on day 12, and SPY's closes on the same days,
    days = [date(2026, 10, 1) + timedelta(days=n) for n in range(30)]
    values, flows, closes, value, spy = [], [], [], 10_000.0, 500.0
    for n, _ in enumerate(days):
        move = 0.004 * ((n * 7) % 5 - 2)
        spy *= 1 + move / 2 + 0.001
        value = value * (1 + move) + (2000.0 if n == 12 else 0.0)
        values.append(round(value, 4))
        flows.append(2000.0 if n == 12 else 0.0)
        closes.append(round(spy, 4))
    with session_scope(database_url) as session:
        spy_id = add_instrument(session, "SPY", "etf", None, None)
        pid, short = add_portfolio(session, "long history"), add_portfolio(session, "new")
        for day, total, flow, close in zip(days, values, flows, closes, strict=True):
            session.add(snapshot(pid, day, total, flow))
            session.add(
                DailyBar(
                    instrument_id=spy_id,
                    interval="1d",
                    ts=datetime.combine(day, datetime.min.time(), UTC),
                    close=D(str(close)),
                    source="test",
                )
            )
        session.add(snapshot(short, days[-1], 500.0, 0.0))
    # When metrics are calculated twice (a re-run overwrites its row),
    for _ in range(2):
        report = calculate_metrics(
            session_factory=session_factory(database_url), days=30, as_of=days[-1], now=SATURDAY_NOON
        )
    # Then the stored figures are the performance module's on the same series,
    returns = [r for r in perf.daily_returns(values, flows) if r is not None]
    bench = [closes[n] / closes[n - 1] - 1 for n in range(1, 30)]
    with session_scope(database_url) as session:
        rows = {m.portfolio_id: m for m in session.exec(select(PortfolioMetrics))}
    stored = rows[pid]
    assert (stored.observations, stored.window_days, stored.as_of, stored.benchmark) == (29, 30, days[-1], "SPY")
    assert stored.time_weighted_return == pytest.approx(perf.time_weighted_return(returns), rel=1e-9)
    assert stored.sharpe == pytest.approx(perf.sharpe_ratio(returns), rel=1e-9)
    assert stored.max_drawdown == pytest.approx(perf.max_drawdown(returns), rel=1e-9)
    assert stored.beta == pytest.approx(perf.beta(returns, bench), rel=1e-9)
    assert stored.alpha == pytest.approx(perf.alpha(returns, bench), rel=1e-9)
    investor = [(days[0], -values[0]), (days[12], -2000.0), (days[-1], values[-1])]
    assert stored.money_weighted_return == pytest.approx(perf.xirr(investor), rel=1e-9)
    # and a portfolio with one snapshot has a row that says so, not an error.
    new = rows[short]
    assert new.observations == 0 and new.time_weighted_return is None and new.beta is None
    assert report.too_few_observations == [short] and len(rows) == 2


def snapshot(pid: int, day: date, total: float, flow: float) -> PortfolioSnapshot:
    return PortfolioSnapshot(
        portfolio_id=pid,
        day=day,
        taken_at=datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=21),
        cash=D(0),
        market_value=D(str(total)),
        total_value=D(str(total)),
        cost_basis=D(0),
        unrealized_pnl=D(0),
        net_flow=D(str(flow)),
    )


def test_the_demo_seed_is_idempotent(database_url):
    with session_scope(database_url) as session:
        first = seed_demo(session=session, now=SATURDAY_NOON)
    counts = table_counts(database_url)
    with session_scope(database_url) as session:
        second = seed_demo(session=session, now=SATURDAY_NOON + timedelta(days=3))
    assert first.instruments_added == 14 and first.portfolios_added == 3 and first.trades_added == 18
    assert second.summary() == "added 0 instruments, 0 portfolios, 0 trades, 0 cash flows"
    assert table_counts(database_url) == counts
    with session_scope(database_url) as session:
        spy = session.exec(select(Instrument).where(Instrument.symbol == "SPY")).one()
        btc = session.exec(select(Instrument).where(Instrument.symbol == "BTC-USD")).one()
        growth = session.exec(select(Portfolio).where(Portfolio.name == "Growth")).one()
    assert (spy.providers, spy.provider_symbols) == (["yahoo", "stooq"], {"stooq": "spy.us"})
    assert (btc.providers, btc.provider_symbols) == (
        ["binance", "coingecko"],
        {"binance": "BTCUSDT", "coingecko": "bitcoin"},
    )
    assert growth.benchmark == "SPY" and growth.cash > 0
    with session_scope(database_url) as session:
        stock_trades = session.exec(
            select(Trade).join(Instrument).where(Instrument.asset_class != "crypto")  # type: ignore[arg-type]
        ).all()
    assert stock_trades and all(as_utc(t.executed_at).weekday() < 5 for t in stock_trades)
    # Before any price refresh every position is unpriced: the summary is the cash alone.
    report = revalue_portfolios(session_factory=session_factory(database_url), max_age_seconds=LIMIT, now=SATURDAY_NOON)
    assert report.unpriced_positions == report.positions > 0
    with session_scope(database_url) as session:
        growth = session.exec(select(Portfolio).where(Portfolio.name == "Growth")).one()
    assert growth.total_value == growth.cash and growth.market_value == 0 and growth.unpriced_positions == 6


def test_seed_demo_command_runs_twice(database_url, monkeypatch):
    from click.testing import CliRunner

    from services.cli.main import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    first = CliRunner().invoke(main, ["seed-demo"])
    second = CliRunner().invoke(main, ["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "added 14 instruments, 3 portfolios, 18 trades, 5 cash flows" in first.output
    assert "added 0 instruments, 0 portfolios, 0 trades, 0 cash flows" in second.output


def table_counts(database_url: str) -> dict[str, int]:
    with Session(make_engine(database_url)) as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Instrument, Portfolio, Trade, CashFlow, Position)
        }


def test_a_revaluation_waits_for_a_rebuild_of_the_same_portfolio(database_url):
    import threading

    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: a revaluation that read before the rebuild committed fails")
    with session_scope(database_url) as session:
        iid = add_instrument(session, "BTC-USD", "crypto", "100", SATURDAY_NOON)
        pid = add_portfolio(session)
        buy(session, pid, iid, "1", "90", 1)
    rebuild_all_positions(session_factory=session_factory(database_url))
    with session_scope(database_url) as session:
        buy(session, pid, iid, "2", "95", 2)
    # Given a rebuild that has changed the quantity but not committed yet,
    with session_scope(database_url) as session:
        rebuild_positions(session=session, portfolio_id=pid)
        revaluation = threading.Thread(
            target=revalue_portfolios,
            kwargs={"session_factory": session_factory(database_url), "max_age_seconds": LIMIT, "now": SATURDAY_NOON},
        )
        revaluation.start()
        revaluation.join(timeout=1.0)
        # When a revaluation starts, it waits for the rebuild's transaction,
        assert revaluation.is_alive()
    revaluation.join(timeout=30)
    # Then it values the new quantity.
    [held] = positions_of(database_url, pid).values()
    assert (held.quantity, held.market_value) == (D(3), D("300.0000"))


def test_a_snapshot_for_a_past_day_is_refused_rather_than_overwriting_it(database_url):
    from services.portfolio.snapshots import SnapshotDayInvalid

    with pytest.raises(SnapshotDayInvalid, match="not today"):
        create_snapshots(
            session_factory=session_factory(database_url),
            max_age_seconds=LIMIT,
            as_of=date(2020, 1, 2),
            now=SATURDAY_NOON,
        )
    # today's day, given explicitly, is fine
    create_snapshots(
        session_factory=session_factory(database_url),
        max_age_seconds=LIMIT,
        as_of=SATURDAY_NOON.date(),
        now=SATURDAY_NOON,
    )


def test_a_portfolio_read_later_flags_prices_that_have_aged_since_its_valuation(database_url):
    from services.portfolio.views import get_portfolio

    # Given a crypto position valued at a fresh price
    with session_scope(database_url) as session:
        iid = add_instrument(session, "BTC-USD", "crypto", "43000", SATURDAY_NOON)
        pid = add_portfolio(session)
        buy(session, pid, iid, "1", "40000", minutes=60)
    rebuild_positions_for(database_url, pid)
    revalue_portfolios(session_factory=session_factory(database_url), max_age_seconds=LIMIT, now=SATURDAY_NOON)

    # When it is read at once, and again an hour later with no revaluation in between
    with session_scope(database_url) as session:
        fresh = get_portfolio(session=session, portfolio_id=pid, now=SATURDAY_NOON, max_age_s=LIMIT)
        later = get_portfolio(
            session=session, portfolio_id=pid, now=SATURDAY_NOON + timedelta(hours=1), max_age_s=LIMIT
        )

    # Then the price is fresh at first and stale later, though the stored valuation still says fresh
    assert [p.price_stale for p in fresh.positions] == [False] and fresh.stale_positions == 0
    assert [p.price_stale for p in later.positions] == [True] and later.stale_positions == 1


def rebuild_positions_for(database_url: str, pid: int) -> None:
    with session_scope(database_url) as session:
        rebuild_positions(session=session, portfolio_id=pid)
