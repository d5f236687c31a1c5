"""notification reach: AlimTalk and Web Push preferences, Kakao disconnection, push
subscriptions, provider results and fallbacks on deliveries

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import dashboard.core.models


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_alimtalk', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('notify_push', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.add_column(sa.Column('kakao_disconnected_at',
                                      dashboard.core.models.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('kakao_disconnect_reason', sa.String(length=300),
                                      nullable=True))
    with op.batch_alter_table('notification_delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider_ref', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('provider_status', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('fallback_for_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_notification_delivery_fallback_for_id_notification_delivery'),
            'notification_delivery', ['fallback_for_id'], ['id'], ondelete='SET NULL')
    op.create_table(
        'push_subscription',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('endpoint', sa.String(length=1000), nullable=False),
        sa.Column('p256dh', sa.String(length=200), nullable=False),
        sa.Column('auth', sa.String(length=100), nullable=False),
        sa.Column('label', sa.String(length=120), nullable=False),
        sa.Column('created_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_success_at', dashboard.core.models.UTCDateTime(timezone=True),
                  nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_push_subscription_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_push_subscription')),
        sa.UniqueConstraint('endpoint', name=op.f('uq_push_subscription_endpoint')),
    )
    with op.batch_alter_table('push_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_subscription_user_id'), ['user_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('push_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_subscription_user_id'))
    op.drop_table('push_subscription')
    with op.batch_alter_table('notification_delivery', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_notification_delivery_fallback_for_id_notification_delivery'),
            type_='foreignkey')
        batch_op.drop_column('fallback_for_id')
        batch_op.drop_column('provider_status')
        batch_op.drop_column('provider_ref')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('kakao_disconnect_reason')
        batch_op.drop_column('kakao_disconnected_at')
        batch_op.drop_column('notify_push')
        batch_op.drop_column('notify_alimtalk')
