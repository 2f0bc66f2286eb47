"""fills: an index on executed_at, for the console's newest fills of every portfolio (one index walk,
not a sort of the whole table on each page)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_fills_executed', 'fills', ['executed_at'])


def downgrade() -> None:
    op.drop_index('ix_fills_executed', table_name='fills')
