"""What every CLI command shares: reading the settings, and failing with one line."""

from __future__ import annotations

from typing import Any

import click

from services.errors import TickworkError
from services.settings import Settings, import_contract_modules, load_settings


class Failure(click.ClickException, TickworkError):
    """Raised when a command cannot do what was asked; printed as one line, exit status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"tickwork: {self.format_message()}", err=True)


def settings_or_exit() -> Settings:
    try:
        settings = load_settings()
        import_contract_modules(settings)
    except TickworkError as error:
        raise Failure(str(error)) from None
    return settings
