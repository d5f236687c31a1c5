"""Monthly partitions of the readings on PostgreSQL, and their retention.

``reading`` and ``reading_minute`` are partitioned by month (UTC) of their time
column. Each has a DEFAULT partition, so an insert never fails for want of a
partition (a backfill into an old month, or a scheduler that has not run): the
maintenance job moves such rows into their own month's partition. It also creates the
partitions of this month and the next two ahead of time, and, with a retention
setting, drops whole months whose end is older than the retention: dropping a
partition is instant and leaves no dead rows behind, unlike a DELETE. ``reading_hour``
is never dropped: it is what remains of a month after its readings are gone.

On SQLite (the embedded demo) there are no partitions, and retention is a DELETE."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

log = logging.getLogger("signalcraft.partitions")

# (table, partition key column): dropped together by retention.
PARTITIONED = (("reading", "ts"), ("reading_minute", "minute"))
MONTHS_AHEAD = 2
# The first key of pg_advisory_xact_lock(int, int): several servers may run this job.
_LOCK = (0x5C_0002, 1)
_NAME = re.compile(r"^(?P<table>[a-z_]+)_p(?P<year>\d{4})(?P<month>\d{2})$")
_PARTITION_OBJECT = re.compile(
    rf"^({'|'.join(t for t, _ in PARTITIONED)})_(p\d{{6}}|default)(_.+)?$")


def is_partition(name: str | None) -> bool:
    """Whether a table, or an index PostgreSQL made for one, belongs to the partitions
    made here: they are not in the models, so schema comparisons skip them."""
    return bool(_PARTITION_OBJECT.match(name or ""))


def include_name(name: str | None, type_: str, _parent_names: dict) -> bool:
    """Alembic's ``include_name`` hook: leave the partitions out of comparisons."""
    return not (type_ in {"table", "index"} and is_partition(name))


def month_start(ts: dt.datetime) -> dt.datetime:
    ts = ts.astimezone(dt.UTC)
    return dt.datetime(ts.year, ts.month, 1, tzinfo=dt.UTC)


def add_months(month: dt.datetime, count: int) -> dt.datetime:
    index = month.year * 12 + month.month - 1 + count
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


def partition_name(table: str, month: dt.datetime) -> str:
    return f"{table}_p{month:%Y%m}"


def _bound(ts: dt.datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S+00")


@dataclass
class MaintenanceReport:
    created: list[str] = field(default_factory=list)
    moved_rows: int = 0
    dropped: list[str] = field(default_factory=list)
    deleted_rows: int = 0

    def __str__(self) -> str:
        return (f"created {len(self.created)} partition(s) {self.created}, moved "
                f"{self.moved_rows} row(s) out of the default partitions, dropped "
                f"{len(self.dropped)} partition(s) {self.dropped}, deleted "
                f"{self.deleted_rows} row(s)")


def monthly_partitions(conn: Connection, table: str) -> dict[dt.datetime, str]:
    """This table's monthly partitions by month (partitions made here are named
    ``<table>_pYYYYMM``)."""
    names = conn.execute(sa.text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :table"
    ), {"table": table}).scalars()
    out = {}
    for name in names:
        match = _NAME.match(name)
        if match and match["table"] == table:
            out[dt.datetime(int(match["year"]), int(match["month"]), 1, tzinfo=dt.UTC)] = name
    return out


def months_in(conn: Connection, table: str, column: str) -> set[dt.datetime]:
    """The months (UTC) that rows of ``table`` fall in."""
    rows = conn.execute(sa.text(
        f"SELECT DISTINCT date_trunc('month', {column} AT TIME ZONE 'UTC') FROM {table}"))
    return {m.replace(tzinfo=dt.UTC) for m in rows.scalars() if m is not None}


def create_month(conn: Connection, table: str, column: str, month: dt.datetime) -> int:
    """Add ``month``'s partition to ``table``, moving its rows out of the DEFAULT
    partition first (PostgreSQL refuses to attach a range the default still holds).
    Returns the number of rows moved."""
    name = partition_name(table, month)
    low, high = _bound(month), _bound(add_months(month, 1))
    conn.execute(sa.text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)"))
    moved = conn.execute(sa.text(
        f"WITH moved AS (DELETE FROM {table}_default WHERE {column} >= :low "
        f"AND {column} < :high RETURNING *) INSERT INTO {name} SELECT * FROM moved"
    ), {"low": month, "high": add_months(month, 1)}).rowcount
    # Attaching creates the partition's copy of the primary key and indexes.
    conn.execute(sa.text(
        f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ('{low}') TO ('{high}')"))
    return max(moved, 0)


def maintain(conn: Connection, now: dt.datetime, retention_days: int) -> MaintenanceReport:
    """Create this month's partitions and the next ones, carve months out of the
    default partitions, and drop months past the retention (0 keeps everything).
    Runs in the caller's transaction; concurrent runs wait for each other."""
    report = MaintenanceReport()
    if conn.dialect.name != "postgresql":
        if retention_days > 0:
            report.deleted_rows = _delete_expired(conn, now - dt.timedelta(days=retention_days))
        return report
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": _LOCK[0], "b": _LOCK[1]})
    cutoff = now - dt.timedelta(days=retention_days) if retention_days > 0 else None
    for table, column in PARTITIONED:
        existing = monthly_partitions(conn, table)
        if cutoff is not None:
            conn.execute(sa.text(f"DELETE FROM {table}_default WHERE {column} < :cutoff"),
                         {"cutoff": month_start(cutoff)})
        wanted = {add_months(month_start(now), k) for k in range(MONTHS_AHEAD + 1)}
        wanted |= months_in(conn, f"{table}_default", column)
        for month in sorted(wanted - set(existing)):
            if cutoff is not None and add_months(month, 1) <= cutoff:
                continue  # expired already: its rows were just deleted from the default
            report.moved_rows += create_month(conn, table, column, month)
            report.created.append(partition_name(table, month))
        if cutoff is not None:
            for month, name in sorted(existing.items()):
                if add_months(month, 1) <= cutoff:
                    conn.execute(sa.text(f"DROP TABLE {name}"))
                    report.dropped.append(name)
    if report.created or report.dropped:
        log.info("readings partitions: %s", report)
    return report


def _delete_expired(conn: Connection, cutoff: dt.datetime) -> int:
    from dashboard.core.models import Reading, ReadingMinute

    deleted = conn.execute(sa.delete(Reading).where(Reading.ts < cutoff)).rowcount
    conn.execute(sa.delete(ReadingMinute).where(ReadingMinute.minute < cutoff))
    return max(deleted, 0)


def run_maintenance(app) -> MaintenanceReport:
    """The scheduled job: one transaction on the app's database."""
    from dashboard.core.database import session_scope
    from dashboard.core.models import utcnow

    with session_scope(app) as session:
        return maintain(session.connection(), utcnow(),
                        int(app.config.get("READING_RETENTION_DAYS", 0) or 0))
