"""Portfolios, instruments and prices for trading tests, written straight into the tables as the
price refresh and the portfolio seed would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, select

from services.portfolio.positions import rebuild_positions
from services.scheduling.market_hours import NYSE
from services.storage.db import session_scope
from services.storage.models import CashFlow, Fill, Instrument, Order, Portfolio, Position, Trade
from services.trading.fees import FeeSchedule
from services.trading.model import OrderTerms, OrderType, Side, TimeInForce
from services.trading.placing import OrderRequest, Placed, place_order
from services.trading.processing import ProcessingRules, ProcessReport, process_orders

# Tuesday 24 November 2026, 10:00 in New York: regular hours.
TUESDAY_10AM = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
FREE = FeeSchedule(
    equity_per_share=Decimal(0),
    equity_minimum=Decimal(0),
    equity_max_share_of_notional=Decimal(0),
    crypto_maker_rate=Decimal(0),
    crypto_taker_rate=Decimal(0),
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = TUESDAY_10AM) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class Desk:
    """One database with a funded portfolio, and the calls a test makes on it."""

    url: str
    clock: Clock
    fees: FeeSchedule = FREE
    portfolio_id: int = 0
    direct_claim: int = 50  # 0: every run reads without locks first, then claims what would change

    def session(self) -> AbstractContextManager[Session]:
        return session_scope(self.url)

    def fund(self, cash: str, *, account: str = "alice") -> int:
        with self.session() as session:
            portfolio = Portfolio(name=f"paper-{account}", account=account, created_at=self.clock())
            session.add(portfolio)
            session.flush()
            session.add(CashFlow(portfolio_id=portfolio.id or 0, at=self.clock(), amount=Decimal(cash)))
            session.flush()
            rebuild_positions(session=session, portfolio_id=portfolio.id or 0)
            self.portfolio_id = portfolio.id or 0
        return self.portfolio_id

    def instrument(self, symbol: str, asset_class: str = "equity", price: str | None = "100") -> int:
        with self.session() as session:
            instrument = Instrument(symbol=symbol, asset_class=asset_class)
            session.add(instrument)
            session.flush()
            instrument_id = instrument.id or 0
        if price is not None:
            self.price(instrument_id, price)
        return instrument_id

    def price(self, instrument_id: int, price: str, *, seconds_later: float = 1) -> None:
        """A new price arrives (as refresh_all_prices stores it), a little after the last one."""
        at = self.clock.tick(seconds_later)
        with self.session() as session:
            instrument = session.get(Instrument, instrument_id)
            assert instrument is not None
            instrument.last_price, instrument.last_price_at, instrument.price_checked_at = Decimal(price), at, at
            instrument.price_error = None
            session.add(instrument)

    def place(
        self,
        symbol: str,
        side: str,
        quantity: str,
        type: str = "market",
        *,
        client_order_id: str | None = None,
        time_in_force: str = "gtc",
        portfolio_id: int | None = None,
        **prices: str,
    ) -> Placed:
        given = {name: Decimal(value) for name, value in prices.items()}
        bracket = {name: given.pop(name) for name in ("take_profit", "stop_loss") if name in given}
        terms = OrderTerms(
            Side(side), OrderType(type), Decimal(quantity), time_in_force=TimeInForce(time_in_force), **given
        )
        request = OrderRequest(
            portfolio_id or self.portfolio_id, symbol, terms, client_order_id=client_order_id, **bracket
        )
        with self.session() as session:
            return place_order(
                session=session, request=request, placed_by="test", now=self.clock(), fees=self.fees, calendar=NYSE
            )

    def process(self, **kwargs: object) -> ProcessReport:
        return process_orders(
            session_factory=self.session,
            rules=ProcessingRules(fees=self.fees, participation=Decimal("0.1"), direct_claim=self.direct_claim),
            calendar=NYSE,
            clock=self.clock,
            **kwargs,  # type: ignore[arg-type]
        )

    def order(self, order_id: int | None) -> Order:
        with self.session() as session:
            order = session.get(Order, order_id)
            assert order is not None
            return order

    def fills(self) -> list[Fill]:
        with self.session() as session:
            return list(session.exec(select(Fill).order_by(Fill.id)))

    def trades(self) -> list[Trade]:
        with self.session() as session:
            return list(session.exec(select(Trade).order_by(Trade.id)))

    def books(self, portfolio_id: int | None = None) -> tuple[Decimal, dict[int, tuple[Decimal, Decimal]]]:
        """Cash and {instrument: (quantity, average cost)} as stored."""
        wanted = portfolio_id or self.portfolio_id
        with self.session() as session:
            portfolio = session.get(Portfolio, wanted)
            assert portfolio is not None
            positions = session.exec(select(Position).where(Position.portfolio_id == wanted)).all()
            return portfolio.cash, {p.instrument_id: (p.quantity, p.average_cost) for p in positions}

    def rebuilt_books(self, portfolio_id: int | None = None) -> tuple[Decimal, dict[int, tuple[Decimal, Decimal]]]:
        """What a rebuild from the trade history gives (then stored: equal to books() when consistent)."""
        with self.session() as session:
            rebuild_positions(session=session, portfolio_id=portfolio_id or self.portfolio_id)
        return self.books(portfolio_id)


@contextmanager
def desk(url: str) -> Iterator[Desk]:
    yield Desk(url, Clock())
