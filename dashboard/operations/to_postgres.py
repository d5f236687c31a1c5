"""Move an embedded (SQLite) installation into PostgreSQL without losing its history.

The target is migrated to the newest revision first (so it has the month partitions
of migration 0005 and the ingest function of 0007), then every table of the models is
copied in foreign-key order (organisations, sites, compressors, users, tokens,
readings and rollups, recordings, models, diagnoses, alerts, audit, ...) in batches
read in primary-key order. Rows are inserted with ``ON CONFLICT DO NOTHING``: a run
that stopped half-way is simply run again and skips what is already there. The
reading months are created as partitions before their rows arrive (no detour through
the DEFAULT partition), sequences are moved past the copied ids, and the result is
verified by counting each table on both sides.

The clips, firmware and model files stay where ``SIGNALCRAFT_AUDIO_STORE`` points:
keep the same setting (or copy the instance's ``audio`` folder) on the new servers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from dashboard.core.database import Base
from dashboard.core.migrations import upgrade
from dashboard.fleet import partitions
from dashboard.operations.backup import alembic_revision

BATCH = 2000


class MigrationError(RuntimeError):
    """Something the operator must fix; the message says what."""


@dataclass
class TablePlan:
    table: sa.Table
    total: int  # rows in the source


@dataclass
class MigrationReport:
    copied: dict[str, int] = field(default_factory=dict)  # rows inserted this run
    skipped: dict[str, int] = field(default_factory=dict)  # already in the target
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # source, target
    partitions_created: list[str] = field(default_factory=list)

    @property
    def mismatched(self) -> dict[str, tuple[int, int]]:
        return {t: c for t, c in self.counts.items() if c[0] != c[1]}


def _count(conn: sa.Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


class PostgresMigration:
    """``prepare()``, then ``copy(plan)`` per table (yields rows handled per batch, for
    a progress bar), then ``finish()`` (sequences, partitions check, counts)."""

    def __init__(self, source: sa.Engine, target_url: str, batch: int = BATCH) -> None:
        if source.dialect.name != "sqlite":
            raise MigrationError("the configured database is already "
                                 f"{source.dialect.name}: nothing to migrate")
        if target_url.startswith("postgres://"):
            target_url = "postgresql://" + target_url[len("postgres://"):]
        if not target_url.startswith("postgresql"):
            raise MigrationError("DATABASE_URL must be a postgresql:// URL")
        self.source = source
        self.target_url = target_url
        self.batch = batch
        self.target: sa.Engine | None = None
        self.report = MigrationReport()

    def prepare(self) -> list[TablePlan]:
        revision = alembic_revision(self.source)
        if revision is None:
            raise MigrationError("the embedded database has no schema revision: "
                                 "run `flask --app wsgi db-upgrade` first")
        upgrade(self.target_url)
        # One short INSERT sent through psycopg's pipelined executemany: SQLAlchemy's
        # default here (one multi-row VALUES statement per 1,000 rows) made psycopg parse
        # a new query text of thousands of placeholders per batch, most of a move's time.
        self.target = sa.create_engine(self.target_url, use_insertmanyvalues=False)
        target_revision = alembic_revision(self.target)
        if target_revision != revision:
            raise MigrationError(
                f"the embedded database is at revision {revision} and PostgreSQL at "
                f"{target_revision}: run `flask --app wsgi db-upgrade` on the embedded "
                "database with this release first")
        self._check_same_installation()
        present = set(sa.inspect(self.source).get_table_names())
        with self.source.connect() as conn:
            plans = [TablePlan(t, _count(conn, t)) for t in Base.metadata.sorted_tables
                     if t.name in present]
        self._create_partitions()
        return plans

    # Rows that say whose data a database holds: a target whose rows here are not exactly
    # the source's is another installation, and skipping "existing" ids would mix the two.
    _IDENTITY = (("organization", ("id", "name")), ("user_account", ("id", "email")),
                 ("compressor", ("id", "name")))

    def _check_same_installation(self) -> None:
        assert self.target is not None
        with self.source.connect() as src, self.target.connect() as dst:
            for name, columns in self._IDENTITY:
                table = Base.metadata.tables[name]
                query = sa.select(*(table.c[c] for c in columns))
                theirs = {tuple(r) for r in dst.execute(query)}
                if not theirs <= {tuple(r) for r in src.execute(query)}:
                    raise MigrationError(
                        f"PostgreSQL already holds other data ({name} rows that are not "
                        "this installation's): migrate into an empty database")

    def _create_partitions(self) -> None:
        """Every month the source's readings fall in, as a partition of its own."""
        assert self.target is not None
        with self.source.connect() as src, self.target.begin() as dst:
            for table_name, column in partitions.PARTITIONED:
                table = Base.metadata.tables[table_name]
                low, high = src.execute(sa.select(sa.func.min(table.c[column]),
                                                  sa.func.max(table.c[column]))).one()
                if low is None:
                    continue
                existing = partitions.monthly_partitions(dst, table_name)
                month = partitions.month_start(low)
                while month <= partitions.month_start(high):
                    if month not in existing:
                        partitions.create_month(dst, table_name, column, month)
                        self.report.partitions_created.append(
                            partitions.partition_name(table_name, month))
                    month = partitions.add_months(month, 1)

    def copy(self, plan: TablePlan) -> Iterator[int]:
        """Copy one table, batch by batch in primary-key order; yields each batch's size."""
        assert self.target is not None
        table = plan.table
        pk = list(table.primary_key.columns)
        handled = 0
        last: tuple | None = None
        with self.target.connect() as dst:
            before = _count(dst, table)
        with self.source.connect() as src:
            while True:
                query = sa.select(table).order_by(*pk).limit(self.batch)
                if last is not None:
                    query = query.where(sa.tuple_(*pk) > sa.tuple_(*last))
                rows = [dict(r._mapping) for r in src.execute(query)]
                if not rows:
                    break
                last = tuple(rows[-1][c.name] for c in pk)
                with self.target.begin() as dst:
                    dst.execute(pg_insert(table).on_conflict_do_nothing(), rows)
                handled += len(rows)
                yield len(rows)
        with self.target.connect() as dst:
            # Rows really inserted, not those skipped (nothing else writes the target).
            copied = _count(dst, table) - before
        skipped = handled - copied
        self.report.copied[table.name] = copied
        self.report.skipped[table.name] = skipped

    def finish(self, plans: list[TablePlan]) -> MigrationReport:
        assert self.target is not None
        with self.target.begin() as dst:
            for plan in plans:
                pk = list(plan.table.primary_key.columns)
                if len(pk) == 1 and isinstance(pk[0].type, sa.Integer) and \
                        pk[0].autoincrement in (True, "auto"):
                    # Sequences start past the copied ids, or the next insert collides.
                    dst.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{plan.table.name}', "
                        f"'{pk[0].name}'), COALESCE(MAX({pk[0].name}), 1), "
                        f"MAX({pk[0].name}) IS NOT NULL) FROM {plan.table.name}"))
            # Rows that arrived in the source while we copied may sit in the default
            # partition: give them their months (the maintenance job would, later).
            partitions.maintain(dst, dt.datetime.now(dt.UTC), retention_days=0)
        with self.source.connect() as src, self.target.connect() as dst:
            for plan in plans:
                self.report.counts[plan.table.name] = (_count(src, plan.table),
                                                       _count(dst, plan.table))
        self.target.dispose()
        return self.report
