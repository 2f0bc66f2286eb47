"""provider_state: recent HTTP attempts per provider (count, failed, summed and slowest latency in the
current and the previous window, the newest attempt), so the console shows latency from the database

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

COUNTS = ('attempts', 'errors', 'previous_attempts', 'previous_errors')
SECONDS = ('latency_window_start', 'attempt_seconds', 'slowest_s', 'previous_attempt_seconds', 'previous_slowest_s')


def upgrade() -> None:
    with op.batch_alter_table('provider_state') as batch:
        for name in SECONDS:
            batch.add_column(sa.Column(name, sa.Float(), server_default='0', nullable=False))
        for name in COUNTS:
            batch.add_column(sa.Column(name, sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('last_latency_s', sa.Float(), nullable=True))
        batch.add_column(sa.Column('last_attempt_at', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('provider_state') as batch:
        for name in ('last_attempt_at', 'last_latency_s', *COUNTS, *SECONDS):
            batch.drop_column(name)
