"""Field types shared by several payloads."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AnyHttpUrl, Field, PlainSerializer, StringConstraints, WrapValidator

# Tickers as the platform writes them: AAPL, BRK.B, BTC-USD, EURUSD=X, ^GSPC.
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9^][A-Za-z0-9.\-=^/]{0,31}$")]
Symbols = Annotated[list[Symbol], Field(min_length=1, max_length=500)]
Id = Annotated[int, Field(ge=1)]
EmailAddress = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]


def _as_sent(value: Any, handler: Any) -> Any:
    handler(value)  # checked as an http(s) URL, errors and all ...
    return value  # ... but kept as the text the sender wrote, which is what the actor stores and calls


# An http(s) URL, as text: the actor receives the sender's string, not a normalised pydantic Url.
UrlAsSent = Annotated[AnyHttpUrl, WrapValidator(_as_sent), PlainSerializer(str, return_type=str)]
