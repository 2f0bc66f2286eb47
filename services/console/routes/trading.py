"""Trading: the kill switch, every portfolio, working orders, recent fills and bots; one portfolio's
positions, orders, fills, bots and risk events. The buttons post to routes/trading_actions.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel import Session

from services.api.lookups import row_id
from services.bots.admin import BotView, list_bots, list_signals
from services.console import operations
from services.console.pages import render
from services.console.routes.common import Seen, settings_of
from services.portfolio.views import get_portfolio, list_portfolios
from services.storage.models import TradingSignal
from services.trading.kill_switch import halted_portfolios, kill_switch
from services.trading.limits import limits_of
from services.trading.queries import list_orders, open_orders, recent_fills, risk_events
from services.trading.records import OPEN_STATES

router = APIRouter()
SHOWN = 100  # orders and fills per table, newest first
SIGNALS = 3  # each bot's newest signals


@router.get("/trading")
def trading_page(request: Request, who: Seen) -> Response:
    with operations.reading(settings_of(request)) as db:
        portfolios = list_portfolios(session=db)
        context: dict[str, Any] = {
            "switch": kill_switch(session=db),
            "portfolios": portfolios,
            "halted": halted_portfolios(session=db),
            "orders": open_orders(session=db, limit=SHOWN),
            "fills": recent_fills(session=db, limit=SHOWN),
            "bots": bots_with_signals(db, portfolio_id=None),
        }
    names = {portfolio.id: portfolio.name for portfolio in portfolios}
    return render(request, "trading.html", who, names=names, shown=SHOWN, cancellable=OPEN_STATES, **context)


@router.get("/trading/portfolios/{portfolio_id}")
def portfolio_page(request: Request, portfolio_id: int, who: Seen) -> Response:
    settings = settings_of(request)
    wanted = row_id("portfolio", portfolio_id)
    with operations.reading(settings) as db:
        portfolio = get_portfolio(
            session=db, portfolio_id=wanted, now=datetime.now(UTC), max_age_s=settings.tickwork_price_max_age_seconds
        )
        context: dict[str, Any] = {
            "switch": kill_switch(session=db),
            "limits": limits_of(session=db, portfolio_id=wanted),
            "orders": list_orders(session=db, portfolio_id=wanted, limit=SHOWN),
            "fills": recent_fills(session=db, portfolio_id=wanted, limit=SHOWN),
            "bots": bots_with_signals(db, portfolio_id=wanted),
            "events": risk_events(session=db, portfolio_id=wanted, limit=10),
        }
    names = {wanted: portfolio.name}
    return render(
        request,
        "portfolio.html",
        who,
        portfolio=portfolio,
        names=names,
        shown=SHOWN,
        cancellable=OPEN_STATES,
        **context,
    )


def bots_with_signals(db: Session, *, portfolio_id: int | None) -> list[tuple[BotView, list[TradingSignal]]]:
    return [
        (view, list_signals(session=db, bot_id=view.bot.id or 0, limit=SIGNALS))
        for view in list_bots(session=db, portfolio_id=portfolio_id)
    ]
