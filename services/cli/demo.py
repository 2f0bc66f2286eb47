"""What the main job does on the sandbox market so that it shows real work at once: the demo
instruments and portfolios (idempotent), a first price refresh, and each demo portfolio refreshed
(its prices, then its valuation)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.bots.seed import bot_symbols, seed_demo_bots
from services.engine.client import TickworkClient
from services.errors import TickworkError
from services.portfolio.seed import seed_demo_portfolios
from services.settings import Settings
from services.storage.db import session_factory


def start_demo(settings: Settings) -> str:
    """Seed what is missing and send the first refreshes; returns what it did."""
    sessions = session_factory(settings.database_url)
    report, portfolio_ids = seed_demo_portfolios(session_factory=sessions)
    with sessions() as session:
        bots = seed_demo_bots(session=session, now=datetime.now(UTC))
        symbols = bot_symbols(session=session)
    seeded = f"{report.summary()}, {bots} bots"
    try:
        with TickworkClient(settings=settings, ledger=sessions) as client:
            client.send("refresh_all_prices", {})
            client.send("refresh_benchmark", {"benchmark": "SPY"})
            for portfolio_id in portfolio_ids:
                client.send("refresh_portfolio", {"portfolio_id": portfolio_id})
            if symbols:  # the daily bars the demo bots' strategies read
                client.send("fetch_market_data", {"symbols": symbols, "interval": "1d"})
    except TickworkError as error:  # the workers still run; the timetable sends these soon anyway
        return f"{seeded}; first refresh not sent ({error})"
    return f"{seeded}; first price refresh and {len(portfolio_ids)} portfolio refreshes sent"
