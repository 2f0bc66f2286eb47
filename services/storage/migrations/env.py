"""Alembic environment: migrations run against the URL the caller configured."""

from __future__ import annotations

from alembic import context

from services.storage import models
from services.storage.db import make_engine

url = context.config.get_main_option("sqlalchemy.url")
assert url, "sqlalchemy.url must be set (use services.storage.migrate)"

with make_engine(url).connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=models.metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
