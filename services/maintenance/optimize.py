"""optimize_database: give space back and refresh the planner's statistics, without blocking writers.

PostgreSQL: plain VACUUM (ANALYZE) per table (never VACUUM FULL, which locks the table out), and the
indexes of tables whose dead rows exceeded a fifth of their live rows are rebuilt with
REINDEX INDEX CONCURRENTLY (writers go on during the rebuild). SQLite: VACUUM, ANALYZE and
PRAGMA optimize; VACUUM takes the write lock for its duration, so writers wait (busy_timeout), not fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from services.maintenance.databases import engine_of, sqlite_path

BLOATED = 0.2  # dead rows / live rows above which a table's indexes are rebuilt


@dataclass
class OptimizeReport:
    engine: str
    size_before: int
    size_after: int
    actions: list[str] = field(default_factory=list)

    @property
    def reclaimed(self) -> int:
        return max(0, self.size_before - self.size_after)

    def summary(self) -> str:
        return f"{self.engine}: {len(self.actions)} actions, {self.reclaimed} bytes reclaimed"


def optimize_database(*, engine: Engine, reindex: bool = True) -> OptimizeReport:
    # VACUUM and REINDEX CONCURRENTLY cannot run inside a transaction block.
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    if engine_of(engine) == "sqlite":
        return _optimize_sqlite(autocommit)
    return _optimize_postgresql(autocommit, reindex=reindex)


def _optimize_postgresql(autocommit: Engine, *, reindex: bool) -> OptimizeReport:
    with autocommit.connect() as connection:
        size = "SELECT pg_database_size(current_database())"
        report = OptimizeReport("postgresql", connection.execute(text(size)).scalar_one(), 0)
        bloated = [
            table
            for table, dead, live in connection.execute(
                text("SELECT relname, n_dead_tup, n_live_tup FROM pg_stat_user_tables WHERE schemaname = 'public'")
            )
            if dead > BLOATED * max(live, 1)
        ]
        quote = connection.dialect.identifier_preparer.quote
        for table in sorted(inspect(connection).get_table_names()):
            connection.execute(text(f"VACUUM (ANALYZE) {quote(table)}"))
            report.actions.append(f"VACUUM (ANALYZE) {table}")
        if reindex:
            for table in bloated:
                names = [i["name"] for i in inspect(connection).get_indexes(table) if i["name"]]
                for index in names + _primary_key(connection, table):
                    connection.execute(text(f"REINDEX INDEX CONCURRENTLY {quote(index)}"))
                    report.actions.append(f"REINDEX INDEX CONCURRENTLY {index} (table {table} was bloated)")
        report.size_after = connection.execute(text(size)).scalar_one()
        return report


def _primary_key(connection: object, table: str) -> list[str]:
    name = inspect(connection).get_pk_constraint(table).get("name")
    return [name] if name else []


def _optimize_sqlite(autocommit: Engine) -> OptimizeReport:
    path = sqlite_path(autocommit.url)
    report = OptimizeReport("sqlite", path.stat().st_size, 0)
    with autocommit.connect() as connection:
        for statement in ("VACUUM", "ANALYZE", "PRAGMA optimize", "PRAGMA wal_checkpoint(TRUNCATE)"):
            connection.execute(text(statement))
            report.actions.append(statement)
    report.size_after = path.stat().st_size
    return report
