"""The per-minute rollup of readings (``reading_minute``), kept in step with
``reading``: the ingest path adds exactly the readings it inserted (never the
duplicates it skipped), and ``rebuild_minutes`` recomputes it from ``reading`` (after a
bulk load, or when a migration creates it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dashboard.models import ReadingMinute
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


def add_to_minutes(session: Session, compressor_id: int,
                   readings: Iterable[tuple[dt.datetime, dict[str, float]]]) -> None:
    """Fold newly inserted readings into the rollup (one upsert per batch)."""
    rows = minute_rows(compressor_id, readings)
    if not rows:
        return
    postgres = session.get_bind().dialect.name == "postgresql"
    insert = (postgresql.insert if postgres else sqlite.insert)(ReadingMinute).values(rows)
    table = ReadingMinute.__table__
    lower = sa.func.least if postgres else sa.func.min
    upper = sa.func.greatest if postgres else sa.func.max
    updates: dict[str, sa.ColumnElement] = {"n": table.c.n + insert.excluded.n}
    for name in METRICS:
        old = {s: table.c[f"{name}_{s}"] for s in STATS}
        new = {s: insert.excluded[f"{name}_{s}"] for s in STATS}
        # coalesce on both sides: SQLite's two-argument min/max return NULL on a NULL.
        updates[f"{name}_min"] = lower(sa.func.coalesce(old["min"], new["min"]),
                                       sa.func.coalesce(new["min"], old["min"]))
        updates[f"{name}_max"] = upper(sa.func.coalesce(old["max"], new["max"]),
                                       sa.func.coalesce(new["max"], old["max"]))
        updates[f"{name}_sum"] = sa.func.coalesce(old["sum"], 0.0) + sa.func.coalesce(
            new["sum"], 0.0)
        updates[f"{name}_count"] = old["count"] + new["count"]
    session.execute(insert.on_conflict_do_update(
        index_elements=["compressor_id", "minute"], set_=updates))


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
