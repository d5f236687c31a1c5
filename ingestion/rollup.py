"""The per-minute rollup of readings (``reading_minute``), kept in step with
``reading``: the ingest path adds exactly the readings it inserted (never the
duplicates it skipped), and ``rebuild_minutes`` recomputes it from ``reading`` (after a
bulk load, or when a migration creates it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ingestion.schemas import METRICS

STATS = ("min", "sum", "count", "max")


def _minute(ts: dt.datetime) -> dt.datetime:
    return ts.replace(second=0, microsecond=0)


def minute_rows(compressor_id: int,
                readings: Iterable[tuple[dt.datetime, dict[str, float]]]) -> list[dict]:
    """Aggregate (ts, metrics) pairs into one row per minute."""
    out: dict[dt.datetime, dict] = {}
    for ts, metrics in readings:
        minute = _minute(ts)
        row = out.get(minute)
        if row is None:
            row = {"compressor_id": compressor_id, "minute": minute, "n": 0}
            for name in METRICS:
                row.update({f"{name}_min": None, f"{name}_sum": None, f"{name}_count": 0,
                            f"{name}_max": None})
            out[minute] = row
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


_UPSERT_SQL: dict[str, sa.TextClause] = {}


def _upsert_sql(dialect: str) -> sa.TextClause:
    """The upsert as fixed SQL text, built once per dialect: composing it as an
    expression costs more to compile on every batch than the insert itself."""
    if dialect not in _UPSERT_SQL:
        lower, upper = ("least", "greatest") if dialect == "postgresql" else ("min", "max")
        columns = ["compressor_id", "minute", "n"] + [f"{name}_{s}" for name in METRICS
                                                      for s in STATS]
        sets = ["n = reading_minute.n + excluded.n"]
        for name in METRICS:
            old, new = f"reading_minute.{name}", f"excluded.{name}"
            # coalesce both ways: SQLite's two-argument min/max return NULL on a NULL.
            sets += [
                f"{name}_min = {lower}(coalesce({old}_min, {new}_min), "
                f"coalesce({new}_min, {old}_min))",
                f"{name}_max = {upper}(coalesce({old}_max, {new}_max), "
                f"coalesce({new}_max, {old}_max))",
                f"{name}_sum = coalesce({old}_sum, 0) + coalesce({new}_sum, 0)",
                f"{name}_count = {old}_count + {new}_count",
            ]
        _UPSERT_SQL[dialect] = sa.text(
            f"INSERT INTO reading_minute ({', '.join(columns)}) "
            f"VALUES ({', '.join(':' + c for c in columns)}) "
            f"ON CONFLICT (compressor_id, minute) DO UPDATE SET {', '.join(sets)}")
    return _UPSERT_SQL[dialect]


def add_to_minutes(session: Session, compressor_id: int,
                   readings: Iterable[tuple[dt.datetime, dict[str, float]]]) -> None:
    """Fold newly inserted readings into the rollup (one upsert per minute touched)."""
    rows = minute_rows(compressor_id, readings)
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":  # stored as SQLAlchemy writes datetimes there
        for row in rows:
            row["minute"] = row["minute"].astimezone(dt.UTC).replace(tzinfo=None).isoformat(
                sep=" ", timespec="microseconds")
    session.execute(_upsert_sql(dialect), rows)


def rebuild_sql(dialect: str, where: str = "WHERE true") -> str:
    """SQL that recomputes the rollup from ``reading``. SQLite needs a WHERE in an
    INSERT ... SELECT with ON CONFLICT, hence ``WHERE true`` by default."""
    # On SQLite the text must match how SQLAlchemy stores datetimes, or the
    # primary key would hold the same minute twice.
    minute = ("date_trunc('minute', ts)" if dialect == "postgresql"
              else "strftime('%Y-%m-%d %H:%M:00.000000', ts)")
    columns = ["compressor_id", "minute", "n"]
    selects = ["compressor_id", f"{minute}", "count(*)"]
    for name in METRICS:
        columns += [f"{name}_{s}" for s in STATS]
        selects += [f"min({name})", f"sum({name})", f"count({name})", f"max({name})"]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[2:])
    return (f"INSERT INTO reading_minute ({', '.join(columns)}) "
            f"SELECT {', '.join(selects)} FROM reading {where} "
            f"GROUP BY compressor_id, {minute} "
            f"ON CONFLICT (compressor_id, minute) DO UPDATE SET {updates}")


def rebuild_minutes(session: Session, compressor_id: int | None = None) -> None:
    where = "WHERE true" if compressor_id is None else f"WHERE compressor_id = {int(compressor_id)}"
    session.execute(sa.text(rebuild_sql(session.get_bind().dialect.name, where)))
