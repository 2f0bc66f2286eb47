"""Bots for tests: created through services/bots/admin.py, run with a fixed bar series and the real
orders service (free fees) on a Desk (tests/support/trading_books.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from services.bots.admin import create_bot
from services.bots.runs import RunResult, run_bot
from services.bots.strategies import StrategyBar
from services.bots.wiring import orders_service
from services.storage.models import BotState, Order, TradingSignal
from tests.support.trading_books import Desk

# A slow decline then one up bar: with fast 3 / slow 6 / RSI 5 the fast EMA crosses up, RSI 64 < 70.
CROSS_UP = [100 - 0.5 * i for i in range(20)] + [94.0]
FLAT = [100.0] * 21
PARAMS = {"fast": 3, "slow": 6, "rsi_window": 5, "rsi_overbought": 70}


@dataclass
class FixedBars:
    """A bars reader answering the same closes for every instrument (the strategy's input)."""

    closes: list[float] = field(default_factory=lambda: list(CROSS_UP))

    def __call__(self, *, session: Session, instrument_id: int, interval: str, limit: int) -> list[StrategyBar]:
        start = datetime(2026, 10, 1, tzinfo=UTC)
        return [StrategyBar(start + timedelta(days=i), Decimal(str(c))) for i, c in enumerate(self.closes)][-limit:]


@dataclass
class BotDesk:
    desk: Desk
    bars: FixedBars = field(default_factory=FixedBars)

    def create(self, symbol: str = "BTC-USD", **fields: Any) -> int:
        values = {
            "name": fields.pop("name", f"bot-{symbol}-{len(self.states())}"),
            "portfolio_id": self.desk.portfolio_id,
            "symbol": symbol,
            "strategy": "ema_crossover_rsi",
            "params": PARAMS,
            "sizing_mode": "fixed_notional",
            "sizing_value": Decimal(1000),
            **fields,
        }
        with self.desk.session() as session:
            return create_bot(session=session, fields=values, by="test", now=self.desk.clock()).bot.id or 0

    def run(self, bot_id: int, tick: datetime | None = None, **kwargs: Any) -> RunResult:
        return run_bot(
            session_factory=self.desk.session,
            bot_id=bot_id,
            tick=tick,
            place_order=kwargs.pop("place_order", orders_service(fees=self.desk.fees)),
            clock=self.desk.clock,
            read_bars=self.bars,
            **kwargs,
        )

    def state(self, bot_id: int) -> BotState:
        with self.desk.session() as session:
            state = session.get(BotState, bot_id)
            assert state is not None
            return state

    def states(self) -> list[BotState]:
        with self.desk.session() as session:
            return list(session.exec(select(BotState)))

    def signals(self, bot_id: int) -> list[TradingSignal]:
        with self.desk.session() as session:
            return list(
                session.exec(
                    select(TradingSignal).where(TradingSignal.bot_id == bot_id).order_by(col(TradingSignal.id))
                )
            )

    def orders(self) -> list[Order]:
        with self.desk.session() as session:
            return list(session.exec(select(Order).order_by(col(Order.id))))

    def set_state(self, bot_id: int, **values: Any) -> None:
        with self.desk.session() as session:
            state = session.get(BotState, bot_id)
            assert state is not None
            for name, value in values.items():
                setattr(state, name, value)
            session.add(state)
