"""Field types shared by several payloads."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

# Tickers as the platform writes them: AAPL, BRK.B, BTC-USD, EURUSD=X, ^GSPC.
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9^][A-Za-z0-9.\-=^/]{0,31}$")]
Symbols = Annotated[list[Symbol], Field(min_length=1, max_length=500)]
Id = Annotated[int, Field(ge=1)]
EmailAddress = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
