"""tasks: keyset-page indexes (created_at, message_id) per filter, and rerun_of linking a task run again

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

The (state, created_at) and (actor, created_at) indexes gain message_id, the tie-breaker of the
console's keyset pages, so a page is one ordered index walk; they replace the shorter ones.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('tasks', sa.Column('rerun_of', sa.String(length=128), nullable=True))
    op.create_index('ix_tasks_rerun_of', 'tasks', ['rerun_of'])
    op.create_index('ix_tasks_created_id', 'tasks', ['created_at', 'message_id'])
    op.create_index('ix_tasks_state_created_id', 'tasks', ['state', 'created_at', 'message_id'])
    op.create_index('ix_tasks_queue_created_id', 'tasks', ['queue', 'created_at', 'message_id'])
    op.create_index('ix_tasks_actor_created_id', 'tasks', ['actor', 'created_at', 'message_id'])
    op.drop_index('ix_tasks_state_created', table_name='tasks')
    op.drop_index('ix_tasks_actor_created', table_name='tasks')


def downgrade() -> None:
    op.create_index('ix_tasks_actor_created', 'tasks', ['actor', 'created_at'])
    op.create_index('ix_tasks_state_created', 'tasks', ['state', 'created_at'])
    op.drop_index('ix_tasks_actor_created_id', table_name='tasks')
    op.drop_index('ix_tasks_queue_created_id', table_name='tasks')
    op.drop_index('ix_tasks_state_created_id', table_name='tasks')
    op.drop_index('ix_tasks_created_id', table_name='tasks')
    op.drop_index('ix_tasks_rerun_of', table_name='tasks')
    with op.batch_alter_table('tasks') as batch:
        batch.drop_column('rerun_of')
