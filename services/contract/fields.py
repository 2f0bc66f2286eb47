"""Field types shared by several payloads."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

# The largest value of the id columns: SQLModel's `int` primary and foreign keys are SQL INTEGER (32-bit
# signed) on PostgreSQL. An id past it cannot name a row, and PostgreSQL would refuse to compare it.
INTEGER_MAX = 2**31 - 1
BIGINTEGER_MAX = 2**63 - 1

# Tickers as the platform writes them: AAPL, BRK.B, BTC-USD, EURUSD=X, ^GSPC.
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9^][A-Za-z0-9.\-=^/]{0,31}$")]
Symbols = Annotated[list[Symbol], Field(min_length=1, max_length=500)]
Id = Annotated[int, Field(ge=1, le=INTEGER_MAX, strict=True)]
EmailAddress = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]


def fits_id_column(value: int) -> bool:
    """Whether `value` could be the id of a row (1 ..= INTEGER_MAX)."""
    return 1 <= value <= INTEGER_MAX
