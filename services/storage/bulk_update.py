"""Many rows updated by key in a few statements, on SQLite (>= 3.33) and PostgreSQL.

SQLite: a CTE of VALUES, up to `MAX_PARAMETERS` bound values per statement (its limit is 32,766):

    WITH v(id, a, b) AS (VALUES (?, ?, ?), (?, ?, ?), ...)
    UPDATE t SET a = v.a, b = v.b FROM v WHERE t.id = v.id

PostgreSQL: the same UPDATE ... FROM over `unnest` of one array per column, so one statement of
a handful of parameters carries every row (measured: the driver spends longer parsing a statement of
thousands of placeholders than the server spends updating the rows). Each array is cast to its
column's type, so a column holding only NULLs is still typed.

Values go through each column type's own bind processing, so what is stored reads back exactly as
an ORM write would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection

MAX_PARAMETERS = 30_000


def bulk_update(connection: Connection, table: Table, key: str, columns: Sequence[str], rows: Sequence[tuple]) -> int:
    """Set `columns` of the rows of `table` whose `key` is each row's first value; each row is
    (key, *values in `columns` order). Returns the number of rows sent."""
    if not rows:
        return 0
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    names = [key, *columns]
    target, key_name = quote(table.name), quote(key)
    assignments = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns)
    update = f"UPDATE {target} SET {assignments} FROM v WHERE {target}.{key_name} = v.{key_name}"
    if dialect.name == "postgresql":
        arrays = ", ".join(f"CAST(%b AS {table.c[n].type.compile(dialect=dialect)}[])" for n in names)
        statement = f"WITH v({', '.join(quote(n) for n in names)}) AS (SELECT * FROM unnest({arrays})) {update}"
        # %b: binary arrays (the text format quotes every element through a regular expression);
        # Decimals go as their text, which the driver sends several times faster than as numerics.
        columns_of_values = [
            [str(v) if v is not None else None for v in column] if isinstance(_first(column), Decimal) else list(column)
            for column in zip(*rows, strict=True)
        ]
        with connection.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(statement, tuple(columns_of_values))
        return len(rows)
    processors: list[Callable[[Any], Any] | None] = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    row_sql = "(" + ", ".join(["?"] * len(names)) + ")"
    head = f"WITH v({', '.join(quote(n) for n in names)}) AS (VALUES "
    per_statement = max(1, MAX_PARAMETERS // len(names))
    for start in range(0, len(rows), per_statement):
        batch = rows[start : start + per_statement]
        parameters: list[Any] = []
        for row in batch:
            for process, value in zip(processors, row, strict=True):
                parameters.append(process(value) if process is not None and value is not None else value)
        connection.exec_driver_sql(head + ", ".join([row_sql] * len(batch)) + ") " + update, tuple(parameters))
    return len(rows)


def _first(column: Sequence[Any]) -> Any:
    return next((value for value in column if value is not None), None)
