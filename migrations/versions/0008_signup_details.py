"""sign-up details the older system collected: company email, address, purposes,
budget, timeline, newsletter consent

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import dashboard.core.models


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('address', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('purposes', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('budget', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('timeline', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('newsletter_consent_at',
                                      dashboard.core.models.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        for name in ('newsletter_consent_at', 'timeline', 'budget', 'purposes', 'address',
                     'company_email'):
            batch_op.drop_column(name)
