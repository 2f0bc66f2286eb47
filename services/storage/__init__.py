"""SQL storage through SQLModel: engines, sessions, tables and their Alembic migrations."""
