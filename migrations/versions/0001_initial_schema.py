"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import dashboard.core.models
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('model_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('created_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=True),
    sa.Column('training_summary', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('metrics', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('library_versions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('classes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('artifact_path', sa.String(length=500), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_version'))
    )
    op.create_table('organization',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organization')),
    sa.UniqueConstraint('name', name=op.f('uq_organization_name'))
    )
    op.create_table('firmware_release',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('hw_model', sa.String(length=60), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('artifact_key', sa.String(length=300), nullable=False),
    sa.Column('rollout', sa.String(length=10), nullable=False),
    sa.Column('rollout_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=True),
    sa.Column('created_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_firmware_release_org_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_firmware_release')),
    sa.UniqueConstraint('org_id', 'hw_model', 'version', name=op.f('uq_firmware_release_org_id_hw_model_version'))
    )
    with op.batch_alter_table('firmware_release', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_firmware_release_org_id'), ['org_id'], unique=False)

    op.create_table('site',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('location', sa.String(length=300), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('created_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_site_org_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site')),
    sa.UniqueConstraint('org_id', 'name', name=op.f('uq_site_org_id_name'))
    )
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_org_id'), ['org_id'], unique=False)

    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('kakao_id', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('company', sa.String(length=200), nullable=True),
    sa.Column('position', sa.String(length=120), nullable=True),
    sa.Column('industry', sa.String(length=120), nullable=True),
    sa.Column('company_size', sa.String(length=40), nullable=True),
    sa.Column('purpose', sa.String(length=500), nullable=True),
    sa.Column('device_count', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('pending', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('notify_email', sa.Boolean(), nullable=False),
    sa.Column('notify_sms', sa.Boolean(), nullable=False),
    sa.Column('notify_kakao', sa.Boolean(), nullable=False),
    sa.Column('email_verified_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('terms_accepted_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('privacy_accepted_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('marketing_consent_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('created_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_user_account_org_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('email', name=op.f('uq_user_account_email')),
    sa.UniqueConstraint('kakao_id', name=op.f('uq_user_account_kakao_id'))
    )
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_account_org_id'), ['org_id'], unique=False)

    op.create_table('compressor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('hw_model', sa.String(length=60), nullable=False),
    sa.Column('firmware_version', sa.String(length=40), nullable=True),
    sa.Column('firmware_state', sa.String(length=20), nullable=True),
    sa.Column('firmware_detail', sa.String(length=500), nullable=True),
    sa.Column('firmware_updated_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('health_score', sa.Float(), nullable=True),
    sa.Column('suspected_fault', sa.String(length=60), nullable=True),
    sa.Column('last_seen_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_reading_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_metrics', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_compressor_org_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_compressor_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compressor')),
    sa.UniqueConstraint('site_id', 'name', name=op.f('uq_compressor_site_id_name'))
    )
    with op.batch_alter_table('compressor', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compressor_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_compressor_site_id'), ['site_id'], unique=False)

    op.create_table('alert_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('compressor_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('severity', sa.String(length=12), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['compressor_id'], ['compressor.id'], name=op.f('fk_alert_rule_compressor_id_compressor'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_alert_rule_org_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_alert_rule_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_rule'))
    )
    with op.batch_alter_table('alert_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_rule_org_id'), ['org_id'], unique=False)

    op.create_table('device_credential',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('compressor_id', sa.Integer(), nullable=False),
    sa.Column('token_prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=128), nullable=False),
    sa.Column('created_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['compressor_id'], ['compressor.id'], name=op.f('fk_device_credential_compressor_id_compressor'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_credential')),
    sa.UniqueConstraint('token_prefix', name=op.f('uq_device_credential_token_prefix'))
    )
    with op.batch_alter_table('device_credential', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_credential_compressor_id'), ['compressor_id'], unique=False)

    op.create_table('reading',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('compressor_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('ts', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('temperature_c', sa.Float(), nullable=True),
    sa.Column('current_a', sa.Float(), nullable=True),
    sa.Column('pressure_bar', sa.Float(), nullable=True),
    sa.Column('vibration_rms_g', sa.Float(), nullable=True),
    sa.Column('humidity_pct', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['compressor_id'], ['compressor.id'], name=op.f('fk_reading_compressor_id_compressor'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reading')),
    sa.UniqueConstraint('compressor_id', 'seq', name=op.f('uq_reading_compressor_id_seq'))
    )
    with op.batch_alter_table('reading', schema=None) as batch_op:
        batch_op.create_index('ix_reading_compressor_ts', ['compressor_id', 'ts'], unique=False)

    op.create_table('recording',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('compressor_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('ts', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sample_rate', sa.Integer(), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('audio_key', sa.String(length=300), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['compressor_id'], ['compressor.id'], name=op.f('fk_recording_compressor_id_compressor'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording')),
    sa.UniqueConstraint('compressor_id', 'seq', name=op.f('uq_recording_compressor_id_seq'))
    )
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.create_index('ix_recording_compressor_ts', ['compressor_id', 'ts'], unique=False)
        batch_op.create_index('ix_recording_status', ['status'], unique=False)

    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('compressor_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('severity', sa.String(length=12), nullable=False),
    sa.Column('state', sa.String(length=14), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('opened_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ack_comment', sa.Text(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolve_comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['user_account.id'], name=op.f('fk_alert_acknowledged_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['compressor_id'], ['compressor.id'], name=op.f('fk_alert_compressor_id_compressor'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_alert_org_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['user_account.id'], name=op.f('fk_alert_resolved_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rule.id'], name=op.f('fk_alert_rule_id_alert_rule'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert'))
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_compressor_id'), ['compressor_id'], unique=False)
        batch_op.create_index('ix_alert_org_state', ['org_id', 'state'], unique=False)

    op.create_table('diagnosis',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recording_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('compressor_id', sa.Integer(), nullable=False),
    sa.Column('ts', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=True),
    sa.Column('label', sa.String(length=60), nullable=False),
    sa.Column('probabilities', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('anomaly_score', sa.Float(), nullable=True),
    sa.Column('is_anomaly', sa.Boolean(), nullable=True),
    sa.Column('health_score', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('features_summary', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('analyst_label', sa.String(length=60), nullable=True),
    sa.Column('analyst_valid', sa.Boolean(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['compressor_id'], ['compressor.id'], name=op.f('fk_diagnosis_compressor_id_compressor'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], name=op.f('fk_diagnosis_model_version_id_model_version'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_diagnosis_org_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recording_id'], ['recording.id'], name=op.f('fk_diagnosis_recording_id_recording'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user_account.id'], name=op.f('fk_diagnosis_reviewed_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_diagnosis')),
    sa.UniqueConstraint('recording_id', name=op.f('uq_diagnosis_recording_id'))
    )
    with op.batch_alter_table('diagnosis', schema=None) as batch_op:
        batch_op.create_index('ix_diagnosis_compressor_ts', ['compressor_id', 'ts'], unique=False)
        batch_op.create_index('ix_diagnosis_org_ts', ['org_id', 'ts'], unique=False)

    op.create_table('notification_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], name=op.f('fk_notification_delivery_alert_id_alert'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notification_delivery_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_delivery')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notification_delivery_dedupe_key'))
    )
    with op.batch_alter_table('notification_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_delivery_alert_id'), ['alert_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('notification_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_delivery_alert_id'))

    op.drop_table('notification_delivery')
    with op.batch_alter_table('diagnosis', schema=None) as batch_op:
        batch_op.drop_index('ix_diagnosis_org_ts')
        batch_op.drop_index('ix_diagnosis_compressor_ts')

    op.drop_table('diagnosis')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_org_state')
        batch_op.drop_index(batch_op.f('ix_alert_compressor_id'))

    op.drop_table('alert')
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.drop_index('ix_recording_status')
        batch_op.drop_index('ix_recording_compressor_ts')

    op.drop_table('recording')
    with op.batch_alter_table('reading', schema=None) as batch_op:
        batch_op.drop_index('ix_reading_compressor_ts')

    op.drop_table('reading')
    with op.batch_alter_table('device_credential', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_credential_compressor_id'))

    op.drop_table('device_credential')
    with op.batch_alter_table('alert_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_rule_org_id'))

    op.drop_table('alert_rule')
    with op.batch_alter_table('compressor', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compressor_site_id'))
        batch_op.drop_index(batch_op.f('ix_compressor_org_id'))

    op.drop_table('compressor')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_account_org_id'))

    op.drop_table('user_account')
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_org_id'))

    op.drop_table('site')
    with op.batch_alter_table('firmware_release', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_firmware_release_org_id'))

    op.drop_table('firmware_release')
    op.drop_table('organization')
    op.drop_table('model_version')
