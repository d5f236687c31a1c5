"""incidents (one per fault episode) and the compressor's health trend

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
import dashboard.core.models


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# Default rules were stored with both languages in their name; now the name is the
# catalogue key and the page translates it.
OLD_NAMES = {
    'Device silent · 장치 무응답': 'Device silent',
    'Health warning · 설비 상태 주의': 'Health warning',
    'Likely fault · 고장 가능성': 'Likely fault',
    'Unusual sound · 이상 소음': 'Unusual sound',
    'High vibration · 진동 과다': 'High vibration',
}
JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    UTC = dashboard.core.models.UTCDateTime(timezone=True)
    op.create_table(
        'incident',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('org_id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=20), nullable=False),
        sa.Column('compressor_id', sa.Integer(), nullable=True),
        sa.Column('site_id', sa.Integer(), nullable=True),
        sa.Column('severity', sa.String(length=12), nullable=False),
        sa.Column('state', sa.String(length=14), nullable=False),
        sa.Column('opened_at', UTC, nullable=False),
        sa.Column('last_seen_at', UTC, nullable=False),
        sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
        sa.Column('acknowledged_at', UTC, nullable=True),
        sa.Column('ack_comment', sa.Text(), nullable=True),
        sa.Column('resolved_by_id', sa.Integer(), nullable=True),
        sa.Column('resolved_at', UTC, nullable=True),
        sa.Column('resolve_comment', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['org_id'], ['organization.id'],
                                name=op.f('fk_incident_org_id_organization'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['compressor_id'], ['compressor.id'],
                                name=op.f('fk_incident_compressor_id_compressor'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'],
                                name=op.f('fk_incident_site_id_site'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['acknowledged_by_id'], ['user_account.id'],
                                name=op.f('fk_incident_acknowledged_by_id_user_account'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['resolved_by_id'], ['user_account.id'],
                                name=op.f('fk_incident_resolved_by_id_user_account'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_incident')),
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index('ix_incident_org_state', ['org_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_compressor_id'), ['compressor_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_incident_site_id'), ['site_id'], unique=False)
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incident_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_alert_incident_id'), ['incident_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_alert_incident_id_incident'), 'incident',
                                    ['incident_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('compressor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('health_trend', JSON, nullable=True))
    rule = sa.table('alert_rule', sa.column('name', sa.String))
    for old, new in OLD_NAMES.items():
        op.execute(rule.update().where(rule.c.name == old).values(name=new))


def downgrade() -> None:
    rule = sa.table('alert_rule', sa.column('name', sa.String))
    for old, new in OLD_NAMES.items():
        op.execute(rule.update().where(rule.c.name == new).values(name=old))
    with op.batch_alter_table('compressor', schema=None) as batch_op:
        batch_op.drop_column('health_trend')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_alert_incident_id_incident'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_alert_incident_id'))
        batch_op.drop_column('incident_id')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_site_id'))
        batch_op.drop_index(batch_op.f('ix_incident_compressor_id'))
        batch_op.drop_index('ix_incident_org_state')
    op.drop_table('incident')
