"""`column IN (many values)` as one bound parameter on PostgreSQL.

SQLAlchemy renders `in_()` with one placeholder per value, so every list length is a new statement
text, and psycopg parses a statement of hundreds of placeholders in Python and caches none that
long (measured: a tenth of an order sweep's client CPU, docs/benchmarks.md). `= ANY(:values)` is
one placeholder, an array, whatever the count. SQLite has no arrays: there it is `in_()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement


def among(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column` is one of `values`, in the form `session`'s database reads fastest."""
    listed = list(values)
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(listed)
    return column == any_(bindparam(None, listed, type_=ARRAY(column.type)))
