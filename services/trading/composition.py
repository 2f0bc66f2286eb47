"""Trading's collaborators built from the settings, for the composition roots (actors, API, CLI)."""

from __future__ import annotations

from services.settings import Settings
from services.trading.fees import FeeSchedule
from services.trading.processing import ProcessingRules


def fee_schedule(settings: Settings) -> FeeSchedule:
    return FeeSchedule(
        equity_per_share=settings.tickwork_fee_equity_per_share,
        equity_minimum=settings.tickwork_fee_equity_minimum,
        equity_max_share_of_notional=settings.tickwork_fee_equity_max_share,
        crypto_maker_rate=settings.tickwork_fee_crypto_maker,
        crypto_taker_rate=settings.tickwork_fee_crypto_taker,
    )


def processing_rules(settings: Settings) -> ProcessingRules:
    return ProcessingRules(
        fees=fee_schedule(settings),
        participation=settings.tickwork_order_participation,
        batch_size=settings.tickwork_order_batch_size,
    )
