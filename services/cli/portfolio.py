"""Portfolios from a shell: `tickwork seed-demo` (the sandbox's instruments and demo portfolios)."""

from __future__ import annotations

import click

from services.cli.database import sessions
from services.cli.settings import Failure, settings_or_exit
from services.errors import TickworkError


@click.command("seed-demo")
def seed_demo() -> None:
    """Create the demo instruments and portfolios in DATABASE_URL (migrated first); a second run
    changes nothing. Prices come from the next price refresh."""
    from services.portfolio.seed import seed_demo_portfolios
    from services.storage.migrate import upgrade

    settings = settings_or_exit()
    try:
        upgrade(settings.database_url)
        report, _ = seed_demo_portfolios(session_factory=sessions())
    except TickworkError as error:
        raise Failure(str(error)) from None
    click.echo(report.summary())
