"""Builders for the trading engine's unit tests: quotes, bars and orders from short strings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from services.trading.model import Bar, OrderTerms, OrderType, Quote, Side

T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def quote(last, bid=None, ask=None, volume=None) -> Quote:
    return Quote(D(last), D(bid) if bid else None, D(ask) if ask else None, D(volume) if volume else None, T0)


def bar(o, h, lo, c, volume=None) -> Bar:
    return Bar(D(o), D(h), D(lo), D(c), D(volume) if volume is not None else None, T0, T0 + timedelta(minutes=1))


def order(side, kind, quantity="10", limit=None, stop=None, amount=None, percent=None, **kw) -> OrderTerms:
    def dec(value):
        return D(value) if value is not None else None

    return OrderTerms(Side(side), OrderType(kind), D(quantity), dec(limit), dec(stop), dec(amount), dec(percent), **kw)
