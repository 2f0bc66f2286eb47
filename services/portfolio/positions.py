"""Positions and cash recomputed from a portfolio's trades and cash flows (update_positions).

Weighted-average cost: a buy moves the average cost to the quantity-weighted average of what was
held and what was bought; a sell realizes (price - average cost) x quantity and leaves the average
alone; a position sold down to zero is removed (a later buy starts a fresh average). Fees are not
capitalised into the average cost: they come out of cash and out of realized P&L.

Cash = sum of cash flows - sum of (buy quantity x price + fee) + sum of (sell quantity x price - fee).

A sell of more than is held is refused with TradeHistoryInvalid (we never go short): the history is
wrong, and positions keep their last good state until someone corrects it. Replaying is
deterministic (trades in execution order, ties by id), so running it again writes the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from sqlmodel import Session, col, select

from services.engine.progress import NullReporter, ProgressReporter, stop_if_cancelled
from services.errors import PortfolioNotFound, TradeHistoryInvalid
from services.portfolio.money import WIDE, ZERO, money, price
from services.storage.db import SessionFactory
from services.storage.models import CashFlow, Portfolio, Position, Trade


@dataclass
class Lot:
    quantity: Decimal
    average_cost: Decimal


@dataclass
class Book:
    """What the history adds up to: open lots by instrument, cash, and the P&L realized by sells."""

    lots: dict[int, Lot] = field(default_factory=dict)
    cash: Decimal = ZERO
    realized_pnl: Decimal = ZERO


def replay(trades: Iterable[Trade], cash_flows: Iterable[Decimal]) -> Book:
    """The book after every cash flow and every trade, trades taken in the order given."""
    book = Book()
    with localcontext(WIDE):
        book.cash = sum(cash_flows, ZERO)
        for trade in trades:
            if trade.quantity <= 0:
                raise TradeHistoryInvalid(
                    f"trade {trade.id} has quantity {_plain(trade.quantity)}; it must be positive"
                )
            amount = trade.quantity * trade.price
            lot = book.lots.get(trade.instrument_id)
            if trade.side == "buy":
                book.cash -= amount + trade.fee
                if lot is None:
                    book.lots[trade.instrument_id] = Lot(trade.quantity, price(trade.price))
                else:
                    held = lot.quantity + trade.quantity
                    lot.average_cost = price((lot.quantity * lot.average_cost + amount) / held)
                    lot.quantity = held
            elif trade.side == "sell":
                held_quantity = lot.quantity if lot else ZERO
                if lot is None or trade.quantity > held_quantity:
                    raise TradeHistoryInvalid(
                        f"trade {trade.id} of portfolio {trade.portfolio_id} sells {_plain(trade.quantity)} of "
                        f"instrument {trade.instrument_id} while holding {_plain(held_quantity)}: "
                        "short positions are not supported"
                    )
                book.cash += amount - trade.fee
                book.realized_pnl += trade.quantity * (trade.price - lot.average_cost) - trade.fee
                lot.quantity -= trade.quantity
                if lot.quantity == 0:
                    del book.lots[trade.instrument_id]
            else:
                raise TradeHistoryInvalid(f"trade {trade.id} has side {trade.side!r}; expected buy or sell")
        book.cash, book.realized_pnl = money(book.cash), money(book.realized_pnl)
    return book


@dataclass(frozen=True)
class RebuildResult:
    portfolio_id: int
    positions: int
    added: int
    changed: int
    removed: int
    cash: Decimal
    realized_pnl: Decimal


def rebuild_positions(*, session: Session, portfolio_id: int) -> RebuildResult:
    """Rewrite `portfolio_id`'s positions and cash from its history (the caller commits).

    Rows whose quantity or average cost is unchanged are left alone, valuation included; a changed
    row loses its valuation (valued_at None) until the next revaluation, so an old market value is
    never shown against a new quantity."""
    # The portfolio row is the lock on its positions: a revaluation holds it while it values them.
    portfolio = session.get(Portfolio, portfolio_id, with_for_update=True)
    if portfolio is None:
        raise PortfolioNotFound(f"no portfolio {portfolio_id}")
    trades = session.exec(
        select(Trade).where(Trade.portfolio_id == portfolio_id).order_by(col(Trade.executed_at), col(Trade.id))
    ).all()
    flows = session.exec(select(CashFlow).where(CashFlow.portfolio_id == portfolio_id)).all()
    book = replay(trades, (flow.amount for flow in flows))
    existing = {p.instrument_id: p for p in session.exec(select(Position).where(Position.portfolio_id == portfolio_id))}
    added = changed = removed = 0
    for instrument_id, held in existing.items():
        if instrument_id not in book.lots:
            session.delete(held)
            removed += 1
    for instrument_id, lot in book.lots.items():
        position = existing.get(instrument_id)
        if position is None:
            session.add(
                Position(
                    portfolio_id=portfolio_id,
                    instrument_id=instrument_id,
                    quantity=lot.quantity,
                    average_cost=lot.average_cost,
                )
            )
            added += 1
        elif position.quantity != lot.quantity or position.average_cost != lot.average_cost:
            position.quantity, position.average_cost = lot.quantity, lot.average_cost
            _clear_valuation(position)
            changed += 1
    if portfolio.cash != book.cash:
        portfolio.cash = book.cash
        portfolio.valued_at = None  # the summary's totals no longer hold until revalued
    session.flush()
    return RebuildResult(portfolio_id, len(book.lots), added, changed, removed, book.cash, book.realized_pnl)


def rebuild_all_positions(
    *,
    session_factory: SessionFactory,
    portfolio_ids: Sequence[int] | None = None,
    reporter: ProgressReporter | None = None,
) -> list[RebuildResult]:
    """rebuild_positions for each portfolio (every one when `portfolio_ids` is None), one
    transaction each. A portfolio whose history is invalid is skipped and the others carry on;
    then TradeHistoryInvalid names every one that failed."""
    reporter = reporter or NullReporter()
    with session_factory() as session:
        ids = list_portfolio_ids(session=session, wanted=portfolio_ids)
    results: list[RebuildResult] = []
    failures: list[str] = []
    for number, portfolio_id in enumerate(ids):
        if number % 100 == 0:
            stop_if_cancelled(reporter)
            reporter.progress(number / max(len(ids), 1), f"rebuilding positions {number}/{len(ids)}")
        try:
            with session_factory() as session:
                results.append(rebuild_positions(session=session, portfolio_id=portfolio_id))
        except TradeHistoryInvalid as error:
            failures.append(str(error))
            reporter.log(f"portfolio={portfolio_id} skipped: {error}")
    reporter.progress(1.0, f"rebuilt {len(results)} portfolios")
    if failures:
        raise TradeHistoryInvalid(f"{len(failures)} portfolio(s) not rebuilt: " + "; ".join(failures[:5]))
    return results


def list_portfolio_ids(*, session: Session, wanted: Sequence[int] | None = None) -> list[int]:
    """Every portfolio's id (or those of `wanted` that exist), in order."""
    query = select(Portfolio.id).order_by(col(Portfolio.id))
    if wanted is not None:
        query = query.where(col(Portfolio.id).in_(list(wanted)))
    return [i for i in session.exec(query).all() if i is not None]


def _clear_valuation(position: Position) -> None:
    position.price = position.price_at = position.market_value = position.unrealized_pnl = None
    position.weight = position.valued_at = None
    position.price_stale = False


def _plain(quantity: Decimal) -> str:
    return format(quantity.normalize(), "f")


def held_instrument_ids(*, session: Session, portfolio_id: int) -> list[int]:
    """The instruments `portfolio_id` holds; raises PortfolioNotFound (never retried) for an unknown
    portfolio rather than letting a caller refresh and value nothing."""
    require_portfolio(session=session, portfolio_id=portfolio_id)
    return list(session.exec(select(Position.instrument_id).where(Position.portfolio_id == portfolio_id)).all())


def require_portfolio(*, session: Session, portfolio_id: int) -> None:
    """Raises PortfolioNotFound unless `portfolio_id` exists."""
    if session.get(Portfolio, portfolio_id) is None:
        raise PortfolioNotFound(f"no portfolio {portfolio_id}")
