"""The trading rules are pure: importing them loads no broker, database or network library."""

from __future__ import annotations

from tests.unit.test_imports import imported_after

INFRASTRUCTURE = {"dramatiq", "periodiq", "sqlmodel", "sqlalchemy", "requests", "pika", "actors"}


def test_the_trading_rules_import_no_infrastructure():
    modules = imported_after(
        "import services.trading.model, services.trading.fills, services.trading.fees, "
        "services.trading.time_in_force, services.trading.brackets"
    )
    assert not INFRASTRUCTURE & {name.split(".")[0] for name in modules}
