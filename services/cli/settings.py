"""What every CLI command shares: reading the settings, and failing with one line."""

from __future__ import annotations

import importlib
from typing import Any

import click

from services.errors import TickworkError
from services.settings import Settings, load_settings


class Failure(click.ClickException):
    """Raised when a command cannot do what was asked; printed as one line, exit status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"tickwork: {self.format_message()}", err=True)


def settings_or_exit() -> Settings:
    try:
        settings = load_settings()
    except TickworkError as error:
        raise Failure(str(error)) from None
    for module in filter(None, (m.strip() for m in settings.tickwork_contract_modules.split(","))):
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise Failure(f"invalid setting TICKWORK_CONTRACT_MODULES: cannot import {module!r}: {error}") from None
    return settings
