"""readings partitioned by month (PostgreSQL), hourly rollup, key (compressor, seq, ts)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

``reading`` loses its surrogate id: its primary key becomes (compressor_id, seq, ts),
which a partitioned table allows because it contains the partition key. On
PostgreSQL ``reading`` and ``reading_minute`` become tables partitioned by month with
a DEFAULT partition; existing rows are copied into their months. ``reading_hour`` is
new and filled from ``reading_minute``.
"""
from alembic import op
import sqlalchemy as sa
import dashboard.core.models


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

METRICS = ('temperature_c', 'current_a', 'pressure_bar', 'vibration_rms_g', 'humidity_pct')
READING_COLUMNS = ('compressor_id', 'seq', 'ts', 'received_at') + METRICS


def _reading_table(old_layout: bool = False, **kwargs) -> None:
    columns = [
        sa.Column('compressor_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('ts', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('received_at', dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
    ] + [sa.Column(name, sa.Float(), nullable=True) for name in METRICS]
    fk = sa.ForeignKeyConstraint(['compressor_id'], ['compressor.id'],
                                 name=op.f('fk_reading_compressor_id_compressor'),
                                 ondelete='CASCADE')
    if old_layout:
        columns.insert(0, sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                    nullable=False))
        keys = [sa.PrimaryKeyConstraint('id', name=op.f('pk_reading')),
                sa.UniqueConstraint('compressor_id', 'seq', name=op.f('uq_reading_compressor_id_seq'))]
    else:
        keys = [sa.PrimaryKeyConstraint('compressor_id', 'seq', 'ts', name=op.f('pk_reading'))]
    op.create_table('reading', *columns, fk, *keys, **kwargs)
    op.create_index('ix_reading_compressor_ts', 'reading', ['compressor_id', 'ts'], unique=False)


def _rollup_table(table: str, column: str, **kwargs) -> None:
    stats = []
    for name in METRICS:
        stats += [sa.Column(f'{name}_min', sa.Float(), nullable=True),
                  sa.Column(f'{name}_sum', sa.Float(), nullable=True),
                  sa.Column(f'{name}_count', sa.Integer(), server_default='0', nullable=False),
                  sa.Column(f'{name}_max', sa.Float(), nullable=True)]
    op.create_table(
        table,
        sa.Column('n', sa.Integer(), nullable=False),
        *stats,
        sa.Column('compressor_id', sa.Integer(), nullable=False),
        sa.Column(column, dashboard.core.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['compressor_id'], ['compressor.id'],
                                name=op.f(f'fk_{table}_compressor_id_compressor'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('compressor_id', column, name=op.f(f'pk_{table}')),
        **kwargs,
    )


def _set_aside(table: str, indexes: tuple[str, ...] = (), constraints: tuple[str, ...] = ()) -> str:
    """Rename ``table`` out of the way, freeing the names of its indexes."""
    old = f'{table}_before_0005'
    op.rename_table(table, old)
    for index in indexes:
        op.drop_index(index, table_name=old)
    for constraint in constraints:
        op.drop_constraint(constraint, old)
    return old


def _copy(source: str, target: str, columns: tuple[str, ...], ignore_conflicts: bool = False) -> None:
    names = ', '.join(columns)
    tail = ' ON CONFLICT DO NOTHING' if ignore_conflicts else ''
    op.execute(f'INSERT INTO {target} ({names}) SELECT {names} FROM {source} WHERE true{tail}')


def _rollup_columns(column: str) -> tuple[str, ...]:
    out = ['compressor_id', column, 'n']
    for name in METRICS:
        out += [f'{name}_min', f'{name}_sum', f'{name}_count', f'{name}_max']
    return tuple(out)


def upgrade() -> None:
    from dashboard.fleet import partitions
    from dashboard.core.models import utcnow
    from dashboard.fleet.rollups import HOUR, rebuild_sql

    bind = op.get_bind()
    postgresql = bind.dialect.name == 'postgresql'
    old = _set_aside('reading', indexes=('ix_reading_compressor_ts',),
                     constraints=(op.f('pk_reading'), op.f('uq_reading_compressor_id_seq'))
                     if postgresql else ())
    if postgresql:
        _reading_table(postgresql_partition_by='RANGE (ts)')
        op.execute('CREATE TABLE reading_default PARTITION OF reading DEFAULT')
        for month in partitions.months_in(bind, old, 'ts'):
            partitions.create_month(bind, 'reading', 'ts', month)
    else:
        _reading_table()
    _copy(old, 'reading', READING_COLUMNS)
    op.drop_table(old)

    if postgresql:
        old = _set_aside('reading_minute', constraints=(op.f('pk_reading_minute'),))
        _rollup_table('reading_minute', 'minute', postgresql_partition_by='RANGE (minute)')
        op.execute('CREATE TABLE reading_minute_default PARTITION OF reading_minute DEFAULT')
        for month in partitions.months_in(bind, old, 'minute'):
            partitions.create_month(bind, 'reading_minute', 'minute', month)
        _copy(old, 'reading_minute', _rollup_columns('minute'))
        op.drop_table(old)
        partitions.maintain(bind, utcnow(), retention_days=0)  # this month and the next

    _rollup_table('reading_hour', 'hour')
    op.execute(rebuild_sql(bind.dialect.name, HOUR))


def downgrade() -> None:
    bind = op.get_bind()
    postgresql = bind.dialect.name == 'postgresql'
    op.drop_table('reading_hour')
    if postgresql:
        old = _set_aside('reading_minute', constraints=(op.f('pk_reading_minute'),))
        _rollup_table('reading_minute', 'minute')
        _copy(old, 'reading_minute', _rollup_columns('minute'))
        op.execute(f'DROP TABLE {old} CASCADE')
    old = _set_aside('reading', indexes=('ix_reading_compressor_ts',),
                     constraints=(op.f('pk_reading'),) if postgresql else ())
    _reading_table(old_layout=True)
    # The old key (compressor, seq) is narrower: a seq stored twice keeps its first row.
    _copy(old, 'reading', READING_COLUMNS, ignore_conflicts=True)
    op.execute(f'DROP TABLE {old} CASCADE' if postgresql else f'DROP TABLE {old}')
