"""Bots' errors, in the one hierarchy of services/errors.py."""

from __future__ import annotations

from services.errors import NonRetryableError, NotFound


class BotNotFound(NotFound, NonRetryableError):
    """Raised when a bot id or name names no bot."""


class BotConfigInvalid(NonRetryableError):
    """Raised when a bot's configuration cannot run (unknown strategy or instrument, bad sizing): never retried."""
