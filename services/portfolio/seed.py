"""Demo data: the sandbox market's instruments and a few portfolios with months of history
(`tickwork seed-demo`). (Generated portfolios in bulk for the benchmarks are bench/generated.py.)

The demo seed is idempotent: instruments are found by symbol, portfolios by account and name,
trades by external id and cash flows by portfolio and note; what exists is left alone, so a second
run changes nothing (and never overwrites prices a refresh has written).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, select

from services.portfolio.positions import list_portfolio_ids, rebuild_positions
from services.storage.db import SessionFactory
from services.storage.models import CashFlow, Instrument, Portfolio, Trade

EQUITY_PROVIDERS = ["yahoo", "stooq"]
CRYPTO_PROVIDERS = ["binance", "coingecko"]


@dataclass(frozen=True)
class DemoInstrument:
    symbol: str
    name: str
    asset_class: str
    exchange: str | None
    binance: str | None = None
    coingecko: str | None = None

    def row(self) -> Instrument:
        if self.asset_class == "crypto":
            providers = CRYPTO_PROVIDERS
            symbols = {"binance": self.binance or "", "coingecko": self.coingecko or ""}
        else:  # Yahoo knows it by our symbol; Stooq by "aapl.us"
            providers = EQUITY_PROVIDERS
            symbols = {"stooq": f"{self.symbol.lower()}.us"}
        return Instrument(
            symbol=self.symbol,
            name=self.name,
            asset_class=self.asset_class,
            exchange=self.exchange,
            providers=list(providers),
            provider_symbols=symbols,
        )


DEMO_INSTRUMENTS = [
    DemoInstrument("AAPL", "Apple Inc.", "equity", "NASDAQ"),
    DemoInstrument("MSFT", "Microsoft Corporation", "equity", "NASDAQ"),
    DemoInstrument("NVDA", "NVIDIA Corporation", "equity", "NASDAQ"),
    DemoInstrument("AMZN", "Amazon.com, Inc.", "equity", "NASDAQ"),
    DemoInstrument("GOOGL", "Alphabet Inc.", "equity", "NASDAQ"),
    DemoInstrument("JPM", "JPMorgan Chase & Co.", "equity", "NYSE"),
    DemoInstrument("XOM", "Exxon Mobil Corporation", "equity", "NYSE"),
    DemoInstrument("SPY", "SPDR S&P 500 ETF Trust", "etf", "NYSEARCA"),
    DemoInstrument("QQQ", "Invesco QQQ Trust, Series 1", "etf", "NASDAQ"),
    DemoInstrument("TLT", "iShares 20+ Year Treasury Bond ETF", "etf", "NASDAQ"),
    DemoInstrument("GLD", "SPDR Gold Shares", "etf", "NYSEARCA"),
    DemoInstrument("BTC-USD", "Bitcoin", "crypto", None, "BTCUSDT", "bitcoin"),
    DemoInstrument("ETH-USD", "Ethereum", "crypto", None, "ETHUSDT", "ethereum"),
    DemoInstrument("SOL-USD", "Solana", "crypto", None, "SOLUSDT", "solana"),
]


@dataclass(frozen=True)
class DemoTrade:
    days_ago: int
    symbol: str
    side: str
    quantity: str
    price: str
    fee: str = "1.00"


@dataclass(frozen=True)
class DemoPortfolio:
    account: str
    name: str
    deposits: tuple[tuple[int, str], ...]  # (days ago, amount)
    trades: tuple[DemoTrade, ...]


DEMO_PORTFOLIOS = [
    DemoPortfolio(
        "alice",
        "Growth",
        ((180, "100000"), (60, "20000")),
        (
            DemoTrade(178, "AAPL", "buy", "120", "221.40"),
            DemoTrade(178, "MSFT", "buy", "60", "408.10"),
            DemoTrade(177, "NVDA", "buy", "150", "131.75"),
            DemoTrade(150, "GOOGL", "buy", "80", "166.20"),
            DemoTrade(120, "NVDA", "sell", "50", "146.60"),
            DemoTrade(90, "AMZN", "buy", "70", "196.30"),
            DemoTrade(59, "QQQ", "buy", "30", "502.90"),
            DemoTrade(30, "AAPL", "sell", "20", "234.10"),
        ),
    ),
    DemoPortfolio(
        "bob",
        "Balanced",
        ((170, "60000"), (40, "-5000")),
        (
            DemoTrade(168, "SPY", "buy", "40", "575.20"),
            DemoTrade(168, "TLT", "buy", "150", "88.80"),
            DemoTrade(160, "GLD", "buy", "40", "238.60"),
            DemoTrade(140, "JPM", "buy", "30", "236.40"),
            DemoTrade(100, "XOM", "buy", "50", "113.30"),
            DemoTrade(70, "TLT", "sell", "50", "91.10"),
        ),
    ),
    DemoPortfolio(
        "carol",
        "Crypto",
        ((150, "50000"),),
        (
            DemoTrade(149, "BTC-USD", "buy", "0.3", "91250.00", "13.70"),
            DemoTrade(149, "ETH-USD", "buy", "4.2", "3150.00", "6.60"),
            DemoTrade(120, "SOL-USD", "buy", "40", "221.30", "4.40"),
            DemoTrade(45, "ETH-USD", "sell", "1.2", "3420.00", "2.05"),
        ),
    ),
]


@dataclass
class SeedReport:
    instruments_added: int = 0
    portfolios_added: int = 0
    trades_added: int = 0
    cash_flows_added: int = 0

    def summary(self) -> str:
        return (
            f"added {self.instruments_added} instruments, {self.portfolios_added} portfolios, "
            f"{self.trades_added} trades, {self.cash_flows_added} cash flows"
        )


def seed_demo(*, session: Session, now: datetime | None = None) -> SeedReport:
    """Create what is missing of the demo instruments and portfolios (the caller commits)."""
    now = now or datetime.now(UTC)
    report = SeedReport()
    existing = {i.symbol: i for i in session.exec(select(Instrument))}
    for demo in DEMO_INSTRUMENTS:
        if demo.symbol not in existing:
            existing[demo.symbol] = demo.row()
            session.add(existing[demo.symbol])
            report.instruments_added += 1
    session.flush()
    for demo_portfolio in DEMO_PORTFOLIOS:
        portfolio = session.exec(
            select(Portfolio).where(Portfolio.account == demo_portfolio.account, Portfolio.name == demo_portfolio.name)
        ).first()
        if portfolio is None:
            portfolio = Portfolio(
                name=demo_portfolio.name,
                account=demo_portfolio.account,
                benchmark="SPY",
                created_at=_day(now, max(days for days, _ in demo_portfolio.deposits)),
            )
            session.add(portfolio)
            session.flush()
            report.portfolios_added += 1
        if _add_history(session, portfolio, demo_portfolio, existing, now, report):
            rebuild_positions(session=session, portfolio_id=portfolio.id or 0)
    return report


def _add_history(
    session: Session,
    portfolio: Portfolio,
    demo: DemoPortfolio,
    instruments: dict[str, Instrument],
    now: datetime,
    report: SeedReport,
) -> bool:
    portfolio_id = portfolio.id or 0
    notes = set(session.exec(select(CashFlow.note).where(CashFlow.portfolio_id == portfolio_id)))
    added = False
    for number, (days_ago, amount) in enumerate(demo.deposits):
        note = f"demo deposit {number + 1}"
        if note not in notes:
            session.add(CashFlow(portfolio_id=portfolio_id, at=_day(now, days_ago), amount=Decimal(amount), note=note))
            report.cash_flows_added += 1
            added = True
    known = set(session.exec(select(Trade.external_id).where(Trade.portfolio_id == portfolio_id)))
    for number, trade in enumerate(demo.trades):
        external_id = f"demo-{demo.account}-{demo.name.lower()}-{number + 1}"
        if external_id in known:
            continue
        session.add(
            Trade(
                portfolio_id=portfolio_id,
                instrument_id=instruments[trade.symbol].id or 0,
                side=trade.side,
                quantity=Decimal(trade.quantity),
                price=Decimal(trade.price),
                fee=Decimal(trade.fee),
                executed_at=_trade_time(now, trade.days_ago, number, instruments[trade.symbol].asset_class),
                external_id=external_id,
            )
        )
        report.trades_added += 1
        added = True
    session.flush()
    return added


def _trade_time(now: datetime, days_ago: int, number: int, asset_class: str) -> datetime:
    """15:00 UTC (inside NYSE hours) plus a minute per trade, to keep the demo's order; a stock
    trade that would fall on a weekend moves back to the Friday (crypto trades every day)."""
    day = _day(now, days_ago)
    if asset_class != "crypto" and day.weekday() >= 5:
        day -= timedelta(days=day.weekday() - 4)
    return day + timedelta(hours=15, minutes=number)


def _day(now: datetime, days_ago: int) -> datetime:
    return (now - timedelta(days=days_ago)).replace(hour=0, minute=0, second=0, microsecond=0)


def seed_demo_portfolios(
    *, session_factory: SessionFactory, now: datetime | None = None
) -> tuple[SeedReport, list[int]]:
    """Seed what is missing of the demo (one transaction); returns what it did and every portfolio's id,
    the ones a first refresh should revalue."""
    with session_factory() as session:
        report = seed_demo(session=session, now=now)
        return report, list_portfolio_ids(session=session)
