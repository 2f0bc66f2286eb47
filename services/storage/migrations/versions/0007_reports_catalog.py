"""reports: the catalog of generated performance reports (HTML and CSV per portfolio and period)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa



revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('html_path', sa.String(length=500), nullable=False),
    sa.Column('csv_path', sa.String(length=500), nullable=False),
    sa.Column('html_bytes', sa.Integer(), nullable=False),
    sa.Column('csv_bytes', sa.Integer(), nullable=False),
    sa.Column('html_sha256', sa.String(length=64), nullable=False),
    sa.Column('csv_sha256', sa.String(length=64), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('portfolio_id', 'kind', 'period_start')
    )


def downgrade() -> None:
    op.drop_table('reports')
