"""Column helpers every table module uses: aware UTC timestamps, and money, prices and quantities as exact decimals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import DateTime
from sqlmodel import Field


def utc_field(**kwargs: Any) -> Any:
    return Field(sa_type=DateTime(timezone=True), **kwargs)


def price_field(**kwargs: Any) -> Any:
    return Field(max_digits=24, decimal_places=10, **kwargs)


def money_field(**kwargs: Any) -> Any:
    return Field(max_digits=24, decimal_places=4, **kwargs)


def quantity_field(**kwargs: Any) -> Any:
    return Field(max_digits=28, decimal_places=10, **kwargs)
