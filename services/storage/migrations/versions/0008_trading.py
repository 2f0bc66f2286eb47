"""trading: orders, fills, risk limits, risk events, kill switch

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa



revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('trading_switch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('halted', sa.Boolean(), nullable=False),
    sa.Column('by', sa.String(length=100), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=True),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('client_order_id', sa.String(length=64), nullable=False),
    sa.Column('side', sa.String(length=4), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('limit_price', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('stop_price', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('trail_amount', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('trail_percent', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('time_in_force', sa.String(length=4), nullable=False),
    sa.Column('extended_hours', sa.Boolean(), nullable=False),
    sa.Column('asset_class', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('filled_quantity', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('remaining_quantity', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('average_fill_price', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('fees_paid', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('triggered', sa.Boolean(), nullable=False),
    sa.Column('rested', sa.Boolean(), nullable=False),
    sa.Column('water_mark', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('reserve_price', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('link_role', sa.String(length=16), nullable=True),
    sa.Column('oco_group', sa.String(length=64), nullable=True),
    sa.Column('evaluated_through', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('placed_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], ),
    sa.ForeignKeyConstraint(['parent_id'], ['orders.id'], ),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('portfolio_id', 'client_order_id', name='uq_orders_portfolio_client_order_id')
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_parent', ['parent_id'], unique=False)
        batch_op.create_index('ix_orders_portfolio_state', ['portfolio_id', 'state'], unique=False)
        batch_op.create_index('ix_orders_state_instrument', ['state', 'instrument_id'], unique=False)

    op.create_table('risk_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('portfolio_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('risk_events', schema=None) as batch_op:
        batch_op.create_index('ix_risk_events_portfolio_at', ['portfolio_id', 'at'], unique=False)

    op.create_table('risk_limits',
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('max_drawdown', sa.Float(), nullable=True),
    sa.Column('drawdown_sell_share', sa.Float(), nullable=False),
    sa.Column('max_position_weight', sa.Float(), nullable=True),
    sa.Column('max_order_value', sa.Numeric(precision=24, scale=4), nullable=True),
    sa.Column('max_daily_loss', sa.Numeric(precision=24, scale=4), nullable=True),
    sa.Column('target_weights', sa.JSON(), nullable=False),
    sa.Column('drift_threshold', sa.Float(), nullable=False),
    sa.Column('allow_short', sa.Boolean(), nullable=False),
    sa.Column('halted', sa.Boolean(), nullable=False),
    sa.Column('halted_by', sa.String(length=100), nullable=True),
    sa.Column('halted_reason', sa.String(length=500), nullable=True),
    sa.Column('halted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], ),
    sa.PrimaryKeyConstraint('portfolio_id')
    )
    op.create_table('fills',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=4), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('price', sa.Numeric(precision=24, scale=10), nullable=False),
    sa.Column('fee', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('liquidity', sa.String(length=8), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('event_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('price_received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('executed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('realized_pnl', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('fills', schema=None) as batch_op:
        batch_op.create_index('ix_fills_order', ['order_id'], unique=False)
        batch_op.create_index('ix_fills_portfolio_executed', ['portfolio_id', 'executed_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('fills', schema=None) as batch_op:
        batch_op.drop_index('ix_fills_portfolio_executed')
        batch_op.drop_index('ix_fills_order')

    op.drop_table('fills')
    op.drop_table('risk_limits')
    with op.batch_alter_table('risk_events', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_events_portfolio_at')

    op.drop_table('risk_events')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_state_instrument')
        batch_op.drop_index('ix_orders_portfolio_state')
        batch_op.drop_index('ix_orders_parent')

    op.drop_table('orders')
    op.drop_table('trading_switch')
