"""market data and portfolios

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa



revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('instruments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('symbol', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('asset_class', sa.String(length=16), nullable=False),
    sa.Column('exchange', sa.String(length=32), nullable=True),
    sa.Column('currency', sa.String(length=8), nullable=False),
    sa.Column('providers', sa.JSON(), nullable=False),
    sa.Column('provider_symbols', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('unknown_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_price', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('last_price_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_price_source', sa.String(length=16), nullable=True),
    sa.Column('price_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('price_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('symbol')
    )
    with op.batch_alter_table('instruments', schema=None) as batch_op:
        batch_op.create_index('ix_instruments_active_class', ['active', 'asset_class'], unique=False)

    op.create_table('portfolios',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('account', sa.String(length=100), nullable=False),
    sa.Column('base_currency', sa.String(length=8), nullable=False),
    sa.Column('benchmark', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cash', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('market_value', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('total_value', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('cost_basis', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('unrealized_pnl', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('stale_positions', sa.Integer(), nullable=False),
    sa.Column('unpriced_positions', sa.Integer(), nullable=False),
    sa.Column('valued_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    postgresql_with={'fillfactor': 70},
    )
    op.create_table('provider_state',
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('window_start', sa.Float(), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.Column('blocked_until', sa.Float(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('circuit_open_until', sa.Float(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('provider')
    )
    op.create_table('asset_info',
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('asset_type', sa.String(length=32), nullable=True),
    sa.Column('exchange', sa.String(length=64), nullable=True),
    sa.Column('sector', sa.String(length=100), nullable=True),
    sa.Column('industry', sa.String(length=100), nullable=True),
    sa.Column('currency', sa.String(length=8), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], ),
    sa.PrimaryKeyConstraint('instrument_id')
    )
    op.create_table('cash_flows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('amount', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cash_flows', schema=None) as batch_op:
        batch_op.create_index('ix_cash_flows_portfolio_at', ['portfolio_id', 'at'], unique=False)

    op.create_table('corporate_actions',
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('ex_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Numeric(precision=24, scale=10), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], ),
    sa.PrimaryKeyConstraint('instrument_id', 'ex_date', 'kind')
    )
    op.create_table('daily_bars',
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('interval', sa.String(length=8), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('open', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('high', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('low', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('close', sa.Numeric(precision=24, scale=10), nullable=False),
    sa.Column('adj_close', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('volume', sa.Numeric(precision=28, scale=10), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], ),
    sa.PrimaryKeyConstraint('instrument_id', 'interval', 'ts')
    )
    op.create_table('intraday_bars',
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('interval', sa.String(length=8), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('open', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('high', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('low', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('close', sa.Numeric(precision=24, scale=10), nullable=False),
    sa.Column('adj_close', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('volume', sa.Numeric(precision=28, scale=10), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], ),
    sa.PrimaryKeyConstraint('instrument_id', 'interval', 'ts')
    )
    op.create_table('portfolio_metrics',
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('observations', sa.Integer(), nullable=False),
    sa.Column('benchmark', sa.String(length=32), nullable=False),
    sa.Column('time_weighted_return', sa.Float(), nullable=True),
    sa.Column('money_weighted_return', sa.Float(), nullable=True),
    sa.Column('annual_return', sa.Float(), nullable=True),
    sa.Column('annual_volatility', sa.Float(), nullable=True),
    sa.Column('sharpe', sa.Float(), nullable=True),
    sa.Column('sortino', sa.Float(), nullable=True),
    sa.Column('max_drawdown', sa.Float(), nullable=True),
    sa.Column('calmar', sa.Float(), nullable=True),
    sa.Column('beta', sa.Float(), nullable=True),
    sa.Column('alpha', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], ),
    sa.PrimaryKeyConstraint('portfolio_id', 'as_of', 'window_days')
    )
    op.create_table('portfolio_snapshots',
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cash', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('market_value', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('total_value', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('cost_basis', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('unrealized_pnl', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('net_flow', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('positions', sa.Integer(), nullable=False),
    sa.Column('stale_positions', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], ),
    sa.PrimaryKeyConstraint('portfolio_id', 'day')
    )
    with op.batch_alter_table('portfolio_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_portfolio_snapshots_taken', ['taken_at'], unique=False)

    op.create_table('positions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('average_cost', sa.Numeric(precision=24, scale=10), nullable=False),
    sa.Column('price', sa.Numeric(precision=24, scale=10), nullable=True),
    sa.Column('price_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('price_stale', sa.Boolean(), nullable=False),
    sa.Column('market_value', sa.Numeric(precision=24, scale=4), nullable=True),
    sa.Column('unrealized_pnl', sa.Numeric(precision=24, scale=4), nullable=True),
    sa.Column('weight', sa.Float(), nullable=True),
    sa.Column('valued_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], ),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('portfolio_id', 'instrument_id'),
    postgresql_with={'fillfactor': 70},
    )
    op.create_table('trades',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('portfolio_id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=4), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=28, scale=10), nullable=False),
    sa.Column('price', sa.Numeric(precision=24, scale=10), nullable=False),
    sa.Column('fee', sa.Numeric(precision=24, scale=4), nullable=False),
    sa.Column('executed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], ),
    sa.ForeignKeyConstraint(['portfolio_id'], ['portfolios.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('external_id')
    )
    with op.batch_alter_table('trades', schema=None) as batch_op:
        batch_op.create_index('ix_trades_portfolio_executed', ['portfolio_id', 'executed_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('trades', schema=None) as batch_op:
        batch_op.drop_index('ix_trades_portfolio_executed')

    op.drop_table('trades')
    op.drop_table('positions')
    with op.batch_alter_table('portfolio_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_portfolio_snapshots_taken')

    op.drop_table('portfolio_snapshots')
    op.drop_table('portfolio_metrics')
    op.drop_table('intraday_bars')
    op.drop_table('daily_bars')
    op.drop_table('corporate_actions')
    with op.batch_alter_table('cash_flows', schema=None) as batch_op:
        batch_op.drop_index('ix_cash_flows_portfolio_at')

    op.drop_table('cash_flows')
    op.drop_table('asset_info')
    op.drop_table('provider_state')
    op.drop_table('portfolios')
    with op.batch_alter_table('instruments', schema=None) as batch_op:
        batch_op.drop_index('ix_instruments_active_class')

    op.drop_table('instruments')
