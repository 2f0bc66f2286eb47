"""What the main job does on the sandbox market so that it shows real work at once: the demo
instruments and portfolios (idempotent), a first price refresh, and a revaluation once it is in."""

from __future__ import annotations

from services.client import TickworkClient
from services.errors import TickworkError
from services.portfolio.seed import seed_demo
from services.settings import Settings
from services.storage.db import session_scope

# The first refresh of the demo's instruments takes a few seconds; the revaluation waits for it.
REVALUE_AFTER_S = 20.0


def start_demo(settings: Settings) -> str:
    """Seed what is missing and send the first refresh and revaluation; returns what it did."""
    with session_scope(settings.database_url) as session:
        seeded = seed_demo(session=session).summary()
    try:
        with TickworkClient(settings=settings, ledger_url=settings.database_url) as client:
            client.send("refresh_all_prices", {})
            client.send("refresh_benchmark", {"benchmark": "SPY"})
            client.send("update_positions", {}, delay_s=REVALUE_AFTER_S)
    except TickworkError as error:  # the workers still run; the timetable sends these soon anyway
        return f"{seeded}; first refresh not sent ({error})"
    return f"{seeded}; first price refresh sent, revaluation in {REVALUE_AFTER_S:.0f} s"
