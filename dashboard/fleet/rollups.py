"""The rollups of readings: per minute (``reading_minute``) and per hour
(``reading_hour``), kept in step with ``reading``. The ingest path adds exactly the
readings it inserted (never the duplicates it skipped); ``rebuild`` recomputes a
rollup from its source (after a bulk load, or when a migration creates it). Retention
drops old readings and minutes, never hours."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.sensors import METRIC_KEYS as METRICS

STATS = ("min", "sum", "count", "max")


@dataclass(frozen=True)
class Rollup:
    table: str
    column: str  # the bucket's start time
    seconds: int
    source: str  # what ``rebuild`` aggregates: the readings, or the finer rollup
    pg_trunc: str  # date_trunc unit on PostgreSQL
    sqlite_format: str  # strftime format matching how SQLAlchemy stores datetimes there


MINUTE = Rollup("reading_minute", "minute", 60, "reading", "minute",
                "%Y-%m-%d %H:%M:00.000000")
HOUR = Rollup("reading_hour", "hour", 3600, "reading_minute", "hour",
              "%Y-%m-%d %H:00:00.000000")
ROLLUPS = (MINUTE, HOUR)


def _floor(ts: dt.datetime, seconds: int) -> dt.datetime:
    if seconds == 60:
        return ts.replace(second=0, microsecond=0)
    return ts.replace(minute=0, second=0, microsecond=0)  # hours (UTC offsets are whole)


def bucket_rows(rollup: Rollup, compressor_id: int,
                readings: Iterable[tuple[dt.datetime, dict[str, float]]]) -> list[dict]:
    """Aggregate (ts, metrics) pairs into one row per bucket of ``rollup``."""
    out: dict[dt.datetime, dict] = {}
    for ts, metrics in readings:
        start = _floor(ts.astimezone(dt.UTC), rollup.seconds)
        row = out.get(start)
        if row is None:
            row = {"compressor_id": compressor_id, "bucket": start, "n": 0}
            for name in METRICS:
                row.update({f"{name}_min": None, f"{name}_sum": None, f"{name}_count": 0,
                            f"{name}_max": None})
            out[start] = row
        row["n"] += 1
        for name, value in metrics.items():
            if value is None:
                continue
            row[f"{name}_count"] += 1
            row[f"{name}_sum"] = value if row[f"{name}_sum"] is None else row[f"{name}_sum"] + value
            low, high = row[f"{name}_min"], row[f"{name}_max"]
            row[f"{name}_min"] = value if low is None else min(low, value)
            row[f"{name}_max"] = value if high is None else max(high, value)
    return list(out.values())


_UPSERT_SQL: dict[tuple[str, str], sa.TextClause] = {}


def _upsert_sql(dialect: str, rollup: Rollup) -> sa.TextClause:
    """The upsert as fixed SQL text, built once per dialect and rollup: composing it as
    an expression costs more to compile on every batch than the insert itself."""
    key = (dialect, rollup.table)
    if key not in _UPSERT_SQL:
        lower, upper = ("least", "greatest") if dialect == "postgresql" else ("min", "max")
        stats = [f"{name}_{s}" for name in METRICS for s in STATS]
        sets = [f"n = {rollup.table}.n + excluded.n"]
        for name in METRICS:
            old, new = f"{rollup.table}.{name}", f"excluded.{name}"
            # coalesce both ways: SQLite's two-argument min/max return NULL on a NULL.
            sets += [
                f"{name}_min = {lower}(coalesce({old}_min, {new}_min), "
                f"coalesce({new}_min, {old}_min))",
                f"{name}_max = {upper}(coalesce({old}_max, {new}_max), "
                f"coalesce({new}_max, {old}_max))",
                f"{name}_sum = coalesce({old}_sum, 0) + coalesce({new}_sum, 0)",
                f"{name}_count = {old}_count + {new}_count",
            ]
        _UPSERT_SQL[key] = sa.text(
            f"INSERT INTO {rollup.table} (compressor_id, {rollup.column}, n, "
            f"{', '.join(stats)}) "
            f"VALUES (:compressor_id, :bucket, :n, {', '.join(':' + c for c in stats)}) "
            f"ON CONFLICT (compressor_id, {rollup.column}) DO UPDATE SET {', '.join(sets)}")
    return _UPSERT_SQL[key]


def add_to_rollups(session: Session, compressor_id: int,
                   readings: Iterable[tuple[dt.datetime, dict[str, float]]]) -> None:
    """Fold newly inserted readings into every rollup (one upsert per bucket touched)."""
    readings = list(readings)
    if not readings:
        return
    dialect = session.get_bind().dialect.name
    for rollup in ROLLUPS:
        rows = bucket_rows(rollup, compressor_id, readings)
        if dialect == "sqlite":  # stored as SQLAlchemy writes datetimes there
            for row in rows:
                row["bucket"] = row["bucket"].replace(tzinfo=None).isoformat(
                    sep=" ", timespec="microseconds")
        # On the connection, not the session: no autoflush here, so the compressor's
        # changes go out in one UPDATE at commit.
        session.connection().execute(_upsert_sql(dialect, rollup), rows)


def rebuild_sql(dialect: str, rollup: Rollup = MINUTE, where: str = "WHERE true") -> str:
    """SQL that recomputes ``rollup`` from its source. SQLite needs a WHERE in an
    INSERT ... SELECT with ON CONFLICT, hence ``WHERE true`` by default."""
    time_column = "ts" if rollup.source == "reading" else MINUTE.column
    # On SQLite the text must match how SQLAlchemy stores datetimes, or the
    # primary key would hold the same bucket twice.
    bucket = (f"date_trunc('{rollup.pg_trunc}', {time_column})" if dialect == "postgresql"
              else f"strftime('{rollup.sqlite_format}', {time_column})")
    columns = ["compressor_id", rollup.column, "n"]
    if rollup.source == "reading":
        selects = ["compressor_id", bucket, "count(*)"]
        for name in METRICS:
            selects += [f"min({name})", f"sum({name})", f"count({name})", f"max({name})"]
    else:
        selects = ["compressor_id", bucket, "sum(n)"]
        for name in METRICS:
            selects += [f"min({name}_min)", f"sum({name}_sum)", f"sum({name}_count)",
                        f"max({name}_max)"]
    for name in METRICS:
        columns += [f"{name}_{s}" for s in STATS]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[2:])
    return (f"INSERT INTO {rollup.table} ({', '.join(columns)}) "
            f"SELECT {', '.join(selects)} FROM {rollup.source} {where} "
            f"GROUP BY compressor_id, {bucket} "
            f"ON CONFLICT (compressor_id, {rollup.column}) DO UPDATE SET {updates}")


def rebuild(session: Session, compressor_id: int | None = None) -> None:
    """Recompute every rollup (minutes from readings, then hours from minutes)."""
    where = "WHERE true" if compressor_id is None else f"WHERE compressor_id = {int(compressor_id)}"
    for rollup in ROLLUPS:
        session.execute(sa.text(rebuild_sql(session.get_bind().dialect.name, rollup, where)))
