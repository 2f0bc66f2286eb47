"""Every table, in one module (Alembic's autogenerate reads `SQLModel.metadata` from here).

Conventions: money and prices are `Decimal` with explicit digits; timestamps are timezone-aware UTC
(`sa_type=DateTime(timezone=True)`).
"""

from __future__ import annotations

from sqlmodel import SQLModel

metadata = SQLModel.metadata
