"""organisation suspension by a platform operator: suspended_at, suspended_reason; the
PostgreSQL readings function refuses a suspended organisation's devices

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

The device hot path on PostgreSQL (``sc_ingest_readings``, migration 0007) serves
tokens from a per-process cache; the function already re-checks the credential in the
statement that stores, so the organisation's suspension is checked there too: a
suspension is refused on the very next batch in every process, cached or not. The
function body is 0007's with that one check added (read from 0007, so the two cannot
drift); the downgrade puts 0007's back.
"""
import importlib.util
from pathlib import Path

from alembic import op
import sqlalchemy as sa
import dashboard.core.models


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_CHECK_0007 = """    SELECT c.revoked_at, c.last_used_at INTO v_revoked, v_used
      FROM device_credential c WHERE c.id = p_credential AND c.compressor_id = p_compressor;
    IF NOT FOUND OR v_revoked IS NOT NULL THEN
        RETURN QUERY SELECT 'revoked'::text, 0, false;
        RETURN;
    END IF;
"""
_CHECK_0011 = """    SELECT c.revoked_at, c.last_used_at, o.suspended_at INTO v_revoked, v_used, v_suspended
      FROM device_credential c
      JOIN compressor comp ON comp.id = c.compressor_id
      JOIN organization o ON o.id = comp.org_id
     WHERE c.id = p_credential AND c.compressor_id = p_compressor;
    IF NOT FOUND OR v_revoked IS NOT NULL THEN
        RETURN QUERY SELECT 'revoked'::text, 0, false;
        RETURN;
    END IF;
    IF v_suspended IS NOT NULL THEN
        RETURN QUERY SELECT 'suspended'::text, 0, false;
        RETURN;
    END IF;
"""


def _function_0007() -> str:
    path = next(Path(__file__).parent.glob('0007_*.py'))
    spec = importlib.util.spec_from_file_location('sc_migration_0007', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.function_sql()


def function_sql() -> str:
    sql = _function_0007()
    assert _CHECK_0007 in sql and "    v_revoked timestamptz;\n" in sql
    return (sql.replace(_CHECK_0007, _CHECK_0011)
               .replace("    v_revoked timestamptz;\n",
                        "    v_revoked timestamptz;\n    v_suspended timestamptz;\n"))


def upgrade() -> None:
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspended_at',
                                      dashboard.core.models.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('suspended_reason', sa.String(length=500),
                                      nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(function_sql())


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_function_0007())
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_column('suspended_reason')
        batch_op.drop_column('suspended_at')
