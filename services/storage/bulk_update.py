"""Many rows updated by key in a few statements, on SQLite (>= 3.33) and PostgreSQL.

SQLite: a CTE of VALUES, up to `MAX_PARAMETERS` bound values per statement (its limit is 32,766):

    WITH v(id, a, b) AS (VALUES (?, ?, ?), (?, ?, ?), ...)
    UPDATE t SET a = v.a, b = v.b FROM v WHERE t.id = v.id

PostgreSQL: the same UPDATE ... FROM over `unnest` of one array per column, so one statement of a
handful of parameters carries every row (measured: the driver spends longer parsing a statement of
thousands of placeholders than the server spends updating the rows). A column of numbers, booleans
or timestamps travels as one comma-separated text that the server splits (`string_to_array`, an
empty item being NULL): the driver would otherwise pack each element in Python, which cost more than
the rest of a revaluation's client time. Other columns go as binary arrays. Every array is cast to
its column's type, so a column holding only NULLs is still typed.

Values go through each column type's own bind processing, so what is stored reads back exactly as
an ORM write would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Boolean, DateTime, Integer, Numeric, Table
from sqlalchemy.engine import Connection

MAX_PARAMETERS = 30_000
# Column types whose values' str() never holds a comma and reads back as the same value in
# PostgreSQL: numbers (Decimal, int, float), booleans (True/False) and aware datetimes (ISO 8601).
_JOINABLE = (Numeric, Integer, Boolean, DateTime)  # Float is a Numeric


def bulk_update(
    connection: Connection,
    table: Table,
    key: str,
    columns: Sequence[str],
    rows: Sequence[tuple],
    *,
    within: tuple[str, Sequence[int]] | None = None,
) -> int:
    """Set `columns` of the rows of `table` whose `key` is each row's first value; each row is
    (key, *values in `columns` order). Returns the number of rows sent.

    `within` = (column, ids) also requires the target rows' `column` to be one of `ids`: with an
    indexed column it narrows the join to those rows, where PostgreSQL would otherwise hash the
    whole table for every statement."""
    if not rows:
        return 0
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    names = [key, *columns]
    target, key_name = quote(table.name), quote(key)
    assignments = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns)
    update = f"UPDATE {target} SET {assignments} FROM v WHERE {target}.{key_name} = v.{key_name}"
    if within:  # ids inlined as integer literals: no bound parameter counts against the limit
        update += f" AND {target}.{quote(within[0])} IN ({', '.join(str(int(i)) for i in within[1])})"
    if dialect.name == "postgresql":
        arrays: list[str] = []
        parameters: list[Any] = []
        for name, column in zip(names, zip(*rows, strict=True), strict=True):
            column_type = table.c[name].type
            sql_type = column_type.compile(dialect=dialect)
            if isinstance(column_type, _JOINABLE):
                arrays.append(f"CAST(string_to_array(%s, ',', '') AS {sql_type}[])")
                parameters.append(_joined(column))
            else:  # %b: binary (the text format quotes every element through a regular expression)
                arrays.append(f"CAST(%b AS {sql_type}[])")
                parameters.append(list(column))
        columns_sql = ", ".join(quote(n) for n in names)
        statement = f"WITH v({columns_sql}) AS (SELECT * FROM unnest({', '.join(arrays)})) {update}"
        with connection.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(statement, tuple(parameters))
        return len(rows)
    processors: list[Callable[[Any], Any] | None] = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    row_sql = "(" + ", ".join(["?"] * len(names)) + ")"
    head = f"WITH v({', '.join(quote(n) for n in names)}) AS (VALUES "
    per_statement = max(1, MAX_PARAMETERS // len(names))
    for start in range(0, len(rows), per_statement):
        batch = rows[start : start + per_statement]
        bound: list[Any] = []
        for row in batch:
            for process, value in zip(processors, row, strict=True):
                bound.append(process(value) if process is not None and value is not None else value)
        connection.exec_driver_sql(head + ", ".join([row_sql] * len(batch)) + ") " + update, tuple(bound))
    return len(rows)


def _joined(column: Sequence[Any]) -> str:
    """The values as one comma-separated text, NULL as an empty item; each distinct value is
    printed once (a revaluation repeats the same few timestamps 200,000 times)."""
    texts = {value: str(value) for value in set(column) if value is not None}
    texts[None] = ""
    return ",".join([texts[value] for value in column])
