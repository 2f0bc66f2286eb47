"""What the main job does on the sandbox market so that it shows real work at once: the demo
instruments and portfolios (idempotent), a first price refresh, and each demo portfolio refreshed
(its prices, then its valuation)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, select

from services.bots.seed import seed_demo_bots
from services.engine.client import TickworkClient
from services.errors import TickworkError
from services.portfolio.seed import seed_demo
from services.settings import Settings
from services.storage.db import session_scope
from services.storage.models import Bot, Portfolio


def start_demo(settings: Settings) -> str:
    """Seed what is missing and send the first refreshes; returns what it did."""
    with session_scope(settings.database_url) as session:
        seeded = seed_demo(session=session).summary()
        seeded += f", {seed_demo_bots(session=session, now=datetime.now(UTC))} bots"
        bot_symbols = sorted({symbol for symbol in session.exec(select(Bot.symbol))})
        portfolio_ids = [i for i in session.exec(select(Portfolio.id).order_by(col(Portfolio.id))) if i is not None]
    try:
        with TickworkClient(settings=settings, ledger_url=settings.database_url) as client:
            client.send("refresh_all_prices", {})
            client.send("refresh_benchmark", {"benchmark": "SPY"})
            for portfolio_id in portfolio_ids:
                client.send("refresh_portfolio", {"portfolio_id": portfolio_id})
            if bot_symbols:  # the daily bars the demo bots' strategies read
                client.send("fetch_market_data", {"symbols": bot_symbols, "interval": "1d"})
    except TickworkError as error:  # the workers still run; the timetable sends these soon anyway
        return f"{seeded}; first refresh not sent ({error})"
    return f"{seeded}; first price refresh and {len(portfolio_ids)} portfolio refreshes sent"
