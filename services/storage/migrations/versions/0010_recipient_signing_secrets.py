"""notification_recipients.signing_secret: each webhook recipient's own signing secret

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa



revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notification_recipients') as batch:
        batch.add_column(sa.Column('signing_secret', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notification_recipients') as batch:
        batch.drop_column('signing_secret')
