"""Trading's errors, in the one hierarchy of services/errors.py."""

from __future__ import annotations

from services.errors import NonRetryableError, NotFound


class OrderNotFound(NotFound, NonRetryableError):
    """Raised when an order id names no order."""


class OrderNotCancellable(NonRetryableError):
    """Raised when an order asked to be cancelled is already filled, cancelled, expired or rejected."""


class OrderRequestInvalid(NonRetryableError):
    """Raised when an order request cannot be read at all (an unknown portfolio, a bracket without legs)."""


class RiskLimitsInvalid(NonRetryableError):
    """Raised when risk limits asked for are out of range or unsupported (short selling)."""
