"""The portfolio use cases of the refresh actors: each is the whole sequence one actor runs.

`refresh_portfolio`: fresh prices for what the portfolio holds, then its valuation. `update_positions`:
positions and cash rebuilt from the trade history, then revalued at the stored prices. Both take a
session factory (a transaction per step, none held open while providers answer); their steps are
keyword collaborators, so that a unit test can pass fakes and watch the order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session

from services.engine.progress import NullReporter, ProgressReporter
from services.market_data.providers.base import Provider
from services.market_data.refresh import RefreshReport, refresh_prices
from services.portfolio.positions import RebuildResult, held_instrument_ids, rebuild_all_positions, require_portfolio
from services.portfolio.revaluation import RevaluationReport, revalue_portfolios
from services.storage.db import SessionFactory


class HeldInstruments(Protocol):
    def __call__(self, *, session: Session, portfolio_id: int) -> list[int]: ...


class PortfolioCheck(Protocol):
    def __call__(self, *, session: Session, portfolio_id: int) -> None: ...


class RefreshesPrices(Protocol):
    def __call__(
        self, *, session_factory: SessionFactory, providers: Mapping[str, Provider], instrument_ids: Sequence[int]
    ) -> RefreshReport: ...


class Revalues(Protocol):
    def __call__(
        self,
        *,
        session_factory: SessionFactory,
        max_age_seconds: float,
        portfolio_ids: Sequence[int] | None,
        reporter: ProgressReporter | None,
    ) -> RevaluationReport: ...


class RebuildsPositions(Protocol):
    def __call__(
        self, *, session_factory: SessionFactory, portfolio_ids: Sequence[int] | None, reporter: ProgressReporter | None
    ) -> list[RebuildResult]: ...


@dataclass(frozen=True)
class PortfolioRefresh:
    """What refresh_portfolio did: the prices, then the valuation."""

    prices: RefreshReport
    valuation: RevaluationReport

    def summary(self) -> str:
        return f"{self.prices.summary()}; {self.valuation.summary()}"


@dataclass(frozen=True)
class PositionsUpdate:
    """What update_positions did: the rebuilt portfolios, then the valuation."""

    rebuilt: list[RebuildResult]
    valuation: RevaluationReport

    def summary(self) -> str:
        return f"rebuilt {len(self.rebuilt)} portfolios; {self.valuation.summary()}"


def refresh_portfolio(
    portfolio_id: int,
    *,
    session_factory: SessionFactory,
    providers: Mapping[str, Provider],
    max_age_seconds: float,
    reporter: ProgressReporter | None = None,
    held: HeldInstruments = held_instrument_ids,
    refresh: RefreshesPrices = refresh_prices,
    revalue: Revalues = revalue_portfolios,
) -> PortfolioRefresh:
    """Fresh prices for the portfolio's instruments, then its valuation: market value, unrealized P&L,
    weights and account summary. A price no provider could refresh is used with its stale flag set.
    Raises PortfolioNotFound, before asking any provider, for an unknown portfolio."""
    reporter = reporter or NullReporter()
    with session_factory() as session:
        instrument_ids = held(session=session, portfolio_id=portfolio_id)
    prices = refresh(session_factory=session_factory, providers=providers, instrument_ids=instrument_ids)
    reporter.progress(0.7, "revaluing")
    valuation = revalue(
        session_factory=session_factory, max_age_seconds=max_age_seconds, portfolio_ids=[portfolio_id], reporter=None
    )
    return PortfolioRefresh(prices, valuation)


def update_positions(
    portfolio_id: int | None,
    *,
    session_factory: SessionFactory,
    max_age_seconds: float,
    reporter: ProgressReporter | None = None,
    check: PortfolioCheck = require_portfolio,
    rebuild: RebuildsPositions = rebuild_all_positions,
    revalue: Revalues = revalue_portfolios,
) -> PositionsUpdate:
    """Positions and cash of `portfolio_id` (every portfolio when None) recomputed from the trade
    history, then revalued at the stored prices. Raises PortfolioNotFound for an unknown portfolio."""
    reporter = reporter or NullReporter()
    ids = None if portfolio_id is None else [portfolio_id]
    if portfolio_id is not None:
        with session_factory() as session:
            check(session=session, portfolio_id=portfolio_id)
    rebuilt = rebuild(session_factory=session_factory, portfolio_ids=ids, reporter=reporter)
    valuation = revalue(
        session_factory=session_factory, max_age_seconds=max_age_seconds, portfolio_ids=ids, reporter=reporter
    )
    return PositionsUpdate(rebuilt, valuation)
