"""Demo bots on the sandbox market (`tickwork seed-demo`): a few bots on the demo portfolios, so the
main job shows them running every minute. Idempotent: bots are found by name; what exists stays."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from services.bots.admin import create_bot
from services.storage.models import Bot, Instrument, Portfolio

# (account, portfolio, fields): crypto bots around the clock, an equity bot in market hours only.
DEMO_BOTS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "carol",
        "Crypto",
        {
            "name": "demo-btc-ema-rsi",
            "symbol": "BTC-USD",
            "params": {"fast": 9, "slow": 21, "rsi_window": 14, "rsi_overbought": 70},
            "sizing_mode": "fixed_notional",
            "sizing_value": Decimal(2000),
            "stop_loss_pct": Decimal(2),
            "take_profit_pct": Decimal(4),
            "max_trades_per_day": 10,
            "max_daily_loss_pct": Decimal(3),
        },
    ),
    (
        "carol",
        "Crypto",
        {
            "name": "demo-eth-trailing",
            "symbol": "ETH-USD",
            "params": {"fast": 5, "slow": 13, "rsi_window": 7},
            "sizing_mode": "equity_share",
            "sizing_value": Decimal("0.1"),
            "trailing_stop_pct": Decimal(3),
            "max_trades_per_day": 6,
        },
    ),
    (
        "alice",
        "Growth",
        {
            "name": "demo-aapl-hourly",
            "symbol": "AAPL",
            "cadence": "hourly",
            "market_hours_only": True,
            "sizing_mode": "risk_per_trade",
            "sizing_value": Decimal("0.01"),
            "stop_loss_pct": Decimal(3),
            "take_profit_pct": Decimal(6),
            "capital": Decimal(20000),
        },
    ),
]


def seed_demo_bots(*, session: Session, now: datetime) -> int:
    """Create the demo bots that are missing (their portfolios and instruments must exist: run the
    demo seed first); returns how many were added. The caller commits."""
    added = 0
    for account, portfolio_name, fields in DEMO_BOTS:
        if session.exec(select(Bot.id).where(Bot.name == fields["name"])).first() is not None:
            continue
        portfolio_id = session.exec(
            select(Portfolio.id).where(Portfolio.account == account, Portfolio.name == portfolio_name)
        ).first()
        instrument = session.exec(select(Instrument.id).where(Instrument.symbol == fields["symbol"])).first()
        if portfolio_id is None or instrument is None:
            continue
        values = {"strategy": "ema_crossover_rsi", **fields, "portfolio_id": portfolio_id}
        create_bot(session=session, fields=values, by="seed-demo", now=now)
        added += 1
    return added


def bot_symbols(*, session: Session) -> list[str]:
    """Every symbol a bot trades: the daily bars their strategies read must be fetched first."""
    return sorted({symbol for symbol in session.exec(select(Bot.symbol))})
