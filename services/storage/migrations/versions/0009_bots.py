"""bots: bots, bot states, trading signals; asset info trading rules

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa



revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('strategy', sa.String(length=64), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('bar_interval', sa.String(length=8), nullable=False),
    sa.Column('bars_needed', sa.Integer(), nullable=False),
    sa.Column('cadence', sa.String(length=16), nullable=False),
    sa.Column('market_hours_only', sa.Boolean(), nullable=False),
    sa.Column('sizing_mode', sa.String(length=16), nullable=False),
    sa.Column('sizing_value', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('capital', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('stop_loss_pct', sa.Numeric(precision=24, scale=4), nullable=True),
    sa.Column('take_profit_pct', sa.Numeric(precision=24, scale=4), nullable=True),
    sa.Column('trailing_stop_pct', sa.Numeric(precision=24, scale=4), nullable=True),
    sa.Column('max_trades_per_day', sa.Integer(), nullable=True),
    sa.Column('max_daily_loss_pct', sa.Numeric(precision=24, scale=4), nullable=True),
    sa.Column('daily_profit_target_pct', sa.Numeric(precision=24, scale=4), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    with op.batch_alter_table('bots', schema=None) as batch_op:
        batch_op.create_index('ix_bots_active', ['active'], unique=False)

    op.create_table('bot_states',
    sa.Column('bot_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.Column('running_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_token', sa.String(length=64), nullable=True),
    sa.Column('last_tick', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.Column('in_position', sa.Boolean(), nullable=False),
    sa.Column('entry_order_id', sa.Integer(), nullable=True),
    sa.Column('exit_order_id', sa.Integer(), nullable=True),
    sa.Column('entry_price', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('position_size', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('counters_day', sa.Date(), nullable=True),
    sa.Column('daily_trades', sa.Integer(), nullable=False),
    sa.Column('daily_pnl', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('total_pnl', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], ),
    sa.ForeignKeyConstraint(['entry_order_id'], ['orders.id'], ),
    sa.ForeignKeyConstraint(['exit_order_id'], ['orders.id'], ),
    sa.PrimaryKeyConstraint('bot_id'),
    postgresql_with={'fillfactor': 70}
    )
    with op.batch_alter_table('bot_states', schema=None) as batch_op:
        batch_op.create_index('ix_bot_states_state', ['state'], unique=False)

    op.create_table('trading_signals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bot_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tick', sa.DateTime(timezone=True), nullable=True),
    sa.Column('task_id', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('bar_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('indicators', sa.JSON(), nullable=False),
    sa.Column('price', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('quantity', sa.Numeric(precision=28, scale=10), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['bot_id'], ['bots.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('trading_signals', schema=None) as batch_op:
        batch_op.create_index('ix_trading_signals_bot_at', ['bot_id', 'at'], unique=False)

    with op.batch_alter_table('asset_info', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lot_step', sa.Numeric(precision=28, scale=10), nullable=True))
        batch_op.add_column(sa.Column('min_quantity', sa.Numeric(precision=28, scale=10), nullable=True))
        batch_op.add_column(sa.Column('min_notional', sa.Numeric(precision=24, scale=10), nullable=True))
        batch_op.add_column(sa.Column('tick_size', sa.Numeric(precision=24, scale=10), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('asset_info', schema=None) as batch_op:
        batch_op.drop_column('tick_size')
        batch_op.drop_column('min_notional')
        batch_op.drop_column('min_quantity')
        batch_op.drop_column('lot_step')

    with op.batch_alter_table('trading_signals', schema=None) as batch_op:
        batch_op.drop_index('ix_trading_signals_bot_at')

    op.drop_table('trading_signals')
    with op.batch_alter_table('bot_states', schema=None) as batch_op:
        batch_op.drop_index('ix_bot_states_state')

    op.drop_table('bot_states')
    with op.batch_alter_table('bots', schema=None) as batch_op:
        batch_op.drop_index('ix_bots_active')

    op.drop_table('bots')
