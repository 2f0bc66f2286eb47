"""Field types shared by several payloads."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AnyHttpUrl, BeforeValidator, Field, PlainSerializer, StringConstraints, WrapValidator

# The largest value of the id columns: SQLModel's `int` primary and foreign keys are SQL INTEGER (32-bit
# signed) on PostgreSQL. An id past it cannot name a row, and PostgreSQL would refuse to compare it.
INTEGER_MAX = 2**31 - 1
BIGINTEGER_MAX = 2**63 - 1

# Tickers as the platform writes them: AAPL, BRK.B, BTC-USD, EURUSD=X, ^GSPC.
SYMBOL_PATTERN = r"^[A-Za-z0-9^][A-Za-z0-9.\-=^/]{0,31}$"
Symbol = Annotated[str, StringConstraints(pattern=SYMBOL_PATTERN)]
Symbols = Annotated[list[Symbol], Field(min_length=1, max_length=500)]


def json_number(value: Any) -> Any:
    """A number as JSON gives it; a string or a bool is refused (lax mode would read "7" and true as 7
    and 1). Constraints go before this validator in `Annotated`, or the JSON Schema loses them."""
    if isinstance(value, bool | str):
        raise ValueError("give a JSON number, not a string or a boolean")
    return value


# An integer from a JSON number only (7 or 7.0, an integer to JSON Schema): not "7", true or 7.5.
Id = Annotated[int, Field(ge=1, le=INTEGER_MAX), BeforeValidator(json_number)]
EmailAddress = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]


def fits_id_column(value: int) -> bool:
    """Whether `value` could be the id of a row (1 ..= INTEGER_MAX)."""
    return 1 <= value <= INTEGER_MAX


def _as_sent(value: Any, handler: Any) -> Any:
    handler(value)  # checked as an http(s) URL, errors and all ...
    return value  # ... but kept as the text the sender wrote, which is what the actor stores and calls


# An http(s) URL, as text: the actor receives the sender's string, not a normalised pydantic Url.
UrlAsSent = Annotated[AnyHttpUrl, WrapValidator(_as_sent), PlainSerializer(str, return_type=str)]
