"""`among`: the same rows as `in_()`, as one array parameter on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from services.storage.among import among
from services.storage.db import session_scope
from services.storage.models import Instrument

pytestmark = pytest.mark.both_databases


@pytest.mark.parametrize("count", [0, 1, 700])
def test_among_selects_exactly_the_listed_rows(database_url, count):
    with session_scope(database_url) as session:
        session.add_all(Instrument(symbol=f"S{i}", asset_class="crypto", provider="binance") for i in range(1000))
    with session_scope(database_url) as session:
        ids = sorted(session.exec(select(Instrument.id)).all())[::-1][:count]  # type: ignore[type-var]
        query = select(Instrument.id).where(among(session, col(Instrument.id), iter(ids)))
        statement = str(query.compile(session.get_bind()))
        assert sorted(session.exec(query).all()) == sorted(ids)  # type: ignore[type-var]
    if "postgresql" in database_url:
        assert "ANY" in statement and statement.count("%(") == 1  # one parameter however many ids
