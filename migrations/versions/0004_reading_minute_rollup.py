"""reading minute rollup

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import dashboard.core.models


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reading_minute',
    sa.Column('compressor_id', sa.Integer(), nullable=False),
    sa.Column('minute', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('temperature_c_min', sa.Float(), nullable=True),
    sa.Column('temperature_c_sum', sa.Float(), nullable=True),
    sa.Column('temperature_c_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('temperature_c_max', sa.Float(), nullable=True),
    sa.Column('current_a_min', sa.Float(), nullable=True),
    sa.Column('current_a_sum', sa.Float(), nullable=True),
    sa.Column('current_a_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('current_a_max', sa.Float(), nullable=True),
    sa.Column('pressure_bar_min', sa.Float(), nullable=True),
    sa.Column('pressure_bar_sum', sa.Float(), nullable=True),
    sa.Column('pressure_bar_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('pressure_bar_max', sa.Float(), nullable=True),
    sa.Column('vibration_rms_g_min', sa.Float(), nullable=True),
    sa.Column('vibration_rms_g_sum', sa.Float(), nullable=True),
    sa.Column('vibration_rms_g_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('vibration_rms_g_max', sa.Float(), nullable=True),
    sa.Column('humidity_pct_min', sa.Float(), nullable=True),
    sa.Column('humidity_pct_sum', sa.Float(), nullable=True),
    sa.Column('humidity_pct_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('humidity_pct_max', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['compressor_id'], ['compressor.id'], name=op.f('fk_reading_minute_compressor_id_compressor'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('compressor_id', 'minute', name=op.f('pk_reading_minute'))
    )
    # Existing readings: roll them up once (new ones are added as they arrive).
    from dashboard.fleet.rollups import rebuild_sql

    op.execute(rebuild_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    op.drop_table('reading_minute')
