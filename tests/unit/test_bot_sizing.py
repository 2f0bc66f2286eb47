"""Bots' position sizing and the instrument's lot, notional and tick rules."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from services.bots.sizing import (
    InstrumentRules,
    SizingInvalid,
    bracket_prices,
    normalise_quantity,
    round_price,
    size_position,
)

BTC = InstrumentRules(lot_step=D("0.00001"), min_quantity=D("0.00001"), min_notional=D("5"), tick_size=D("0.01"))


def test_the_three_sizing_rules() -> None:
    assert size_position(mode="fixed_notional", value=D(1000), equity=D(5000), price=D(50)) == D(20)
    assert size_position(mode="equity_share", value=D("0.1"), equity=D(5000), price=D(50)) == D(10)
    # Risking 2 % of 5,000 (100) with a stop 5 % under 50 (2.5 a unit): 40 units
    assert size_position(mode="risk_per_trade", value=D("0.02"), equity=D(5000), price=D(50), stop_loss_pct=D(5)) == D(
        40
    )


def test_sizing_errors_are_configuration_errors() -> None:
    with pytest.raises(SizingInvalid):
        size_position(mode="all_in", value=D(1), equity=D(1), price=D(1))
    with pytest.raises(SizingInvalid):
        size_position(mode="risk_per_trade", value=D("0.02"), equity=D(1), price=D(1))
    with pytest.raises(SizingInvalid):
        size_position(mode="fixed_notional", value=D(0), equity=D(1), price=D(1))


def test_quantities_round_down_to_the_lot_step_and_minimums_refuse() -> None:
    assert normalise_quantity(D("0.123456789"), D(60000), BTC).quantity == D("0.12345")
    assert normalise_quantity(D("0.000009"), D(60000), BTC).refused == "zero_quantity"
    assert normalise_quantity(D("0.00005"), D(60000), BTC).refused == "below_min_notional"  # 3 USDT < 5
    whole_shares = InstrumentRules(lot_step=D(1), min_quantity=D(1))
    assert normalise_quantity(D("12.9"), D(10), whole_shares).quantity == D(12)
    assert normalise_quantity(D("0.9"), D(10), whole_shares).refused == "zero_quantity"
    assert normalise_quantity(D("2"), D(10), InstrumentRules(min_quantity=D(3))).refused == "below_min_quantity"


def test_prices_go_to_the_tick_grid() -> None:
    assert round_price(D("60123.456"), BTC) == D("60123.46")
    assert bracket_prices(D(100), BTC, D(2), D("4.5")) == (D("98.00"), D("104.50"))
    assert bracket_prices(D(100), BTC, None, None) == (None, None)
