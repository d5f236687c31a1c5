"""baselines, features, alert timeline, channels, notes, audit, invitations, user tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import dashboard.core.models
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_channel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('rate_limit_per_hour', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_notification_channel_org_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_channel')),
    sa.UniqueConstraint('org_id', 'kind', name=op.f('uq_notification_channel_org_id_kind'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('ts', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_audit_log_org_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_audit_log_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_org_ts', ['org_id', 'ts'], unique=False)

    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('token_hash', sa.String(length=128), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invited_by_id'], ['user_account.id'], name=op.f('fk_invitation_invited_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_invitation_org_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitation_token_hash'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_org_id'), ['org_id'], unique=False)

    op.create_table('user_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('token_hash', sa.String(length=128), nullable=False),
    sa.Column('created_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_token_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_token_token_hash'))
    )
    with op.batch_alter_table('user_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_token_user_id'), ['user_id'], unique=False)

    op.create_table('compressor_baseline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('compressor_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('clips_seen', sa.Integer(), nullable=False),
    sa.Column('clips_needed', sa.Integer(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('feature_set', sa.String(length=64), nullable=True),
    sa.Column('artifact', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['compressor_id'], ['compressor.id'], name=op.f('fk_compressor_baseline_compressor_id_compressor'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compressor_baseline')),
    sa.UniqueConstraint('compressor_id', name=op.f('uq_compressor_baseline_compressor_id'))
    )
    op.create_table('maintenance_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('compressor_id', sa.Integer(), nullable=False),
    sa.Column('ts', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_maintenance_note_author_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['compressor_id'], ['compressor.id'], name=op.f('fk_maintenance_note_compressor_id_compressor'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_maintenance_note_org_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_note'))
    )
    with op.batch_alter_table('maintenance_note', schema=None) as batch_op:
        batch_op.create_index('ix_maintenance_note_compressor_ts', ['compressor_id', 'ts'], unique=False)

    op.create_table('recording_features',
    sa.Column('recording_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('compressor_id', sa.Integer(), nullable=False),
    sa.Column('feature_set', sa.String(length=64), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['compressor_id'], ['compressor.id'], name=op.f('fk_recording_features_compressor_id_compressor'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recording_id'], ['recording.id'], name=op.f('fk_recording_features_recording_id_recording'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('recording_id', name=op.f('pk_recording_features'))
    )
    with op.batch_alter_table('recording_features', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recording_features_compressor_id'), ['compressor_id'], unique=False)

    op.create_table('alert_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('ts', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], name=op.f('fk_alert_event_alert_id_alert'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_alert_event_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_event'))
    )
    with op.batch_alter_table('alert_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_event_alert_id'), ['alert_id'], unique=False)

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalation_level', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_notified_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('clear_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index('uq_alert_open_per_rule', ['compressor_id', 'rule_id'], unique=True, postgresql_where=sa.text("state <> 'resolved'"), sqlite_where=sa.text("state <> 'resolved'"))

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=False, server_default='Asia/Seoul'))
        batch_op.add_column(sa.Column('quiet_hours_start', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('quiet_hours_end', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('kakao_access_token', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('kakao_refresh_token', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('kakao_token_expires_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('kakao_token_expires_at')
        batch_op.drop_column('kakao_refresh_token')
        batch_op.drop_column('kakao_access_token')
        batch_op.drop_column('quiet_hours_end')
        batch_op.drop_column('quiet_hours_start')
        batch_op.drop_column('timezone')

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index('uq_alert_open_per_rule', postgresql_where=sa.text("state <> 'resolved'"), sqlite_where=sa.text("state <> 'resolved'"))
        batch_op.drop_column('clear_count')
        batch_op.drop_column('last_notified_at')
        batch_op.drop_column('escalation_level')

    with op.batch_alter_table('alert_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_event_alert_id'))

    op.drop_table('alert_event')
    with op.batch_alter_table('recording_features', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recording_features_compressor_id'))

    op.drop_table('recording_features')
    with op.batch_alter_table('maintenance_note', schema=None) as batch_op:
        batch_op.drop_index('ix_maintenance_note_compressor_ts')

    op.drop_table('maintenance_note')
    op.drop_table('compressor_baseline')
    with op.batch_alter_table('user_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_token_user_id'))

    op.drop_table('user_token')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_org_id'))

    op.drop_table('invitation')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_org_ts')

    op.drop_table('audit_log')
    op.drop_table('notification_channel')
