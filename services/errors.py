"""One shallow hierarchy of Tickwork's errors."""


class TickworkError(Exception):
    """Raised when Tickwork itself detects a problem (base class)."""


class NotFound(TickworkError):
    """Raised when an id or a name asked for names nothing; the API answers 404 for every subclass."""


class SettingsError(TickworkError):
    """Raised when a setting read from the environment is missing or invalid."""


class NonRetryableError(TickworkError):
    """Raised when retrying the same message cannot succeed; the message is dead-lettered at once."""


class MessageRejected(NonRetryableError):
    """Raised when a message breaks the contract: undecodable, oversized, unknown actor or bad payload."""

    index: int | None = None  # which message of a `send_many` it was (none of them was sent)

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class UnknownActor(MessageRejected):
    """Raised when a message names an actor that the contract does not define."""

    def __init__(self, actor_name: str) -> None:
        super().__init__("unknown_actor", f"no actor named {actor_name!r} in the contract")


class PayloadInvalid(MessageRejected):
    """Raised when a message's arguments do not match its actor's payload schema."""

    def __init__(self, detail: str) -> None:
        super().__init__("invalid_payload", detail)


class PublishFailed(TickworkError):
    """Raised when the client could not get a publisher confirm for a message after all its attempts."""


class TaskCancelled(TickworkError):
    """Raised when an operator cancelled a running task, inside it; the task ends `cancelled`."""


class ProviderError(TickworkError):
    """Raised when a market-data provider could not answer now (timeout, 5xx, error body); retryable."""

    def __init__(self, provider: str, detail: str) -> None:
        super().__init__(f"{provider}: {detail}")
        self.provider = provider
        self.detail = detail


class RateLimited(ProviderError):
    """Raised when a provider's shared rate budget or its Retry-After forbids a call for too long."""

    def __init__(self, provider: str, detail: str, *, retry_after_s: float) -> None:
        super().__init__(provider, detail)
        self.retry_after_s = retry_after_s


class CircuitOpen(ProviderError):
    """Raised when a provider's circuit is open after repeated failures: it is not called until it closes."""


class UnknownSymbol(NonRetryableError):
    """Raised when a provider answers that it does not know a symbol; asking again cannot help."""

    def __init__(self, provider: str, symbol: str, detail: str) -> None:
        super().__init__(f"{provider}: unknown symbol {symbol!r}: {detail}")
        self.provider = provider
        self.symbol = symbol


class NotSupported(TickworkError):
    """Raised when a provider does not offer what was asked (an interval, asset info): try the next one."""


class DeliveryFailed(TickworkError):
    """Raised when a notification could not be delivered now (a 5xx, a timeout, a busy SMTP server); retried."""


class DeliveryRefused(NonRetryableError):
    """Raised when a recipient refused a notification for good (an HTTP 4xx, an SMTP 5xx); never retried."""


class UnsafeDestination(NonRetryableError):
    """Raised when a webhook URL (or a redirect) leads to an address the SSRF guard refuses; never retried."""


class NotificationInvalid(NonRetryableError):
    """Raised when a notification cannot be built: an unknown template, a missing value, a refused attachment."""


class TradeHistoryInvalid(NonRetryableError):
    """Raised when a portfolio's trades cannot be replayed (a sell of more than is held, an unknown side)."""

    # Positions are left as they were until the history is corrected.


class PortfolioNotFound(NotFound, NonRetryableError):
    """Raised when a portfolio id names no portfolio."""
