"""What a run reads about its instrument: the newest stored bars, and the trading rules."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from services.bots.sizing import DEFAULT_RULES, InstrumentRules
from services.bots.strategies import StrategyBar
from services.market_data.bars import DAILY_INTERVALS
from services.storage.db import as_utc
from services.storage.models import AssetInfo, DailyBar, Instrument, IntradayBar


def stored_bars(*, session: Session, instrument_id: int, interval: str, limit: int) -> list[StrategyBar]:
    """The newest `limit` bars of `interval` (fetch_market_data stores them), oldest first."""
    model: Any = DailyBar if interval in DAILY_INTERVALS else IntradayBar
    rows = session.exec(
        select(model.ts, model.close, model.high, model.low)
        .where(model.instrument_id == instrument_id, model.interval == interval)
        .order_by(col(model.ts).desc())
        .limit(limit)
    ).all()
    return [StrategyBar(as_utc(ts), close, high, low) for ts, close, high, low in reversed(rows)]


def rules_for(*, session: Session, instrument: Instrument) -> InstrumentRules:
    """The venue's rules from the instrument's reference data, else the asset class's defaults."""
    default = DEFAULT_RULES.get(instrument.asset_class, InstrumentRules())
    info = session.get(AssetInfo, instrument.id) if instrument.id is not None else None
    if info is None or (info.lot_step is None and info.min_notional is None and info.tick_size is None):
        return default
    return InstrumentRules(
        lot_step=info.lot_step or default.lot_step,
        min_quantity=info.min_quantity or default.min_quantity,
        min_notional=info.min_notional,
        tick_size=info.tick_size,
    )
