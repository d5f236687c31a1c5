"""Sensor and diagnosis time series of one compressor, downsampled in the database.

Readings arrive at up to 1 Hz, so 30 days are 2.6M rows per metric. The database
groups them into time buckets (aligned to multiples of the bucket width since the
epoch) and returns min, mean and max per bucket: about 1,000-2,000 points per
series, and a one-second spike still shows as the bucket's max. Buckets of a minute or
more are read from the per-minute rollup (``reading_minute``, 43k rows for 30 days)
instead of the raw readings, and buckets of whole hours from the hourly one
(``reading_hour``), which is also all that is left of months past the readings'
retention."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.i18n import _
from dashboard.core.models import Compressor, Diagnosis, Reading, ReadingHour, ReadingMinute, utcnow
from dashboard.core.sensors import METRIC_KEYS

METRIC_COLUMNS = METRIC_KEYS

# Bucket widths a person reads easily; the smallest that keeps a range under the
# point budget wins.
NICE_WIDTHS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
                 21600, 43200, 86400)
MAX_POINTS = 2000

RANGES: dict[str, dt.timedelta] = {
    "1h": dt.timedelta(hours=1),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
}
MAX_CUSTOM_RANGE = dt.timedelta(days=366)


class RangeError(ValueError):
    """A time range the user asked for that cannot be shown (message is for people)."""


@dataclass(frozen=True)
class TimeRange:
    start: dt.datetime
    end: dt.datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def resolve_range(choice: str | None, custom_start: dt.datetime | None = None,
                  custom_end: dt.datetime | None = None,
                  now: dt.datetime | None = None) -> TimeRange:
    """A preset ("1h", "24h", "7d", "30d") ending now, or a custom [start, end)."""
    now = now or utcnow()
    if choice in RANGES:
        return TimeRange(now - RANGES[choice], now)
    if choice != "custom":
        raise RangeError(_("unknown range %(choice)s", choice=repr(choice)))
    if custom_start is None or custom_end is None:
        raise RangeError(_("choose a start and an end date"))
    if custom_end <= custom_start:
        raise RangeError(_("the end must be after the start"))
    if custom_end - custom_start > MAX_CUSTOM_RANGE:
        raise RangeError(_("at most one year at a time"))
    return TimeRange(custom_start, custom_end)


def bucket_seconds(span_s: float, max_points: int = MAX_POINTS) -> int:
    """The smallest readable bucket width that yields at most ``max_points`` buckets."""
    for width in NICE_WIDTHS_S:
        if span_s / width <= max_points:
            return width
    return int(np.ceil(span_s / max_points / 86400.0)) * 86400


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _bucket_index(session: Session, ts_column: sa.ColumnElement, width_s: int) -> sa.ColumnElement:
    """Integer bucket number ``floor(epoch seconds / width)`` in the session's dialect."""
    if _is_postgresql(session):
        # date_bin is the cheapest bucketing over millions of rows (extract() returns
        # numeric since PG 14, several times slower); the epoch is the origin.
        binned = sa.func.date_bin(sa.text(f"interval '{int(width_s)} seconds'"), ts_column,
                                  sa.text("timestamptz '1970-01-01 00:00:00+00'"))
        return sa.cast(sa.func.date_part("epoch", binned), sa.BigInteger) // int(width_s)
    # SQLite stores UTC text; unixepoch() parses it into integer seconds.
    return sa.func.unixepoch(ts_column) // int(width_s)


def _tune_for_aggregation(session: Session) -> None:
    """For this transaction only: no JIT (compiling the aggregate costs ~1.5 s, more
    than running it) and room for an in-memory hash aggregate (the planner expects
    one group per row and would otherwise spill it to disk)."""
    if _is_postgresql(session):
        session.execute(sa.text("SET LOCAL jit = off"))
        session.execute(sa.text("SET LOCAL work_mem = '64MB'"))


def owned_compressor(session: Session, org_id: int, compressor_id: int | str | None
                     ) -> Compressor | None:
    """The compressor when it belongs to ``org_id``; None for anything else, including
    ids that are not numbers (ids come from URLs and dropdowns)."""
    try:
        cid = int(compressor_id)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    if not 0 < cid < 2**63:  # past BIGINT: no row, and no driver overflow
        return None
    return session.scalar(
        sa.select(Compressor).where(Compressor.id == cid, Compressor.org_id == org_id)
    )


def _scoped(column: sa.ColumnElement, org_id: int) -> sa.ColumnElement[bool]:
    # Organisation scope: the compressor must be the org's, whatever id was asked for.
    return column.in_(sa.select(Compressor.id).where(Compressor.org_id == org_id))


def _query_buckets(session: Session, org_id: int, compressor_id: int, start: dt.datetime,
                   end: dt.datetime, width: int) -> pd.DataFrame:
    if width % 3600 == 0:
        return _query_rollup_buckets(session, org_id, compressor_id, start, end, width,
                                     ReadingHour, ReadingHour.hour, 3600)
    if width % 60 == 0:
        return _query_rollup_buckets(session, org_id, compressor_id, start, end, width,
                                     ReadingMinute, ReadingMinute.minute, 60)
    bucket = _bucket_index(session, Reading.ts, width).label("bucket")
    aggregates = []
    for col in METRIC_COLUMNS:
        column = getattr(Reading, col)
        # sum/count instead of avg: PostgreSQL's avg(float8) also accumulates the
        # sum of squares, which costs ~20% more over many rows.
        aggregates += [sa.func.min(column), sa.func.sum(column), sa.func.count(column),
                       sa.func.max(column)]
    stmt = (
        sa.select(bucket, sa.func.count(), *aggregates)
        .where(Reading.compressor_id == compressor_id, _scoped(Reading.compressor_id, org_id),
               Reading.ts >= start, Reading.ts < end)
        .group_by(bucket)
    )
    return _frame(session.execute(stmt).all(), width)


def _query_rollup_buckets(session: Session, org_id: int, compressor_id: int,
                          start: dt.datetime, end: dt.datetime, width: int,
                          m: type[ReadingMinute] | type[ReadingHour],
                          time_column: sa.ColumnElement, unit: int) -> pd.DataFrame:
    """The same buckets from a rollup of ``unit`` seconds (the width is a whole number
    of units, and bucket edges fall on unit edges, so every unit lies in one bucket)."""
    bucket = _bucket_index(session, time_column, width).label("bucket")
    aggregates = []
    for col in METRIC_COLUMNS:
        aggregates += [sa.func.min(getattr(m, f"{col}_min")), sa.func.sum(getattr(m, f"{col}_sum")),
                       sa.func.sum(getattr(m, f"{col}_count")),
                       sa.func.max(getattr(m, f"{col}_max"))]
    stmt = (
        sa.select(bucket, sa.func.sum(m.n), *aggregates)
        .where(m.compressor_id == compressor_id, _scoped(m.compressor_id, org_id),
               time_column >= _floor_time(start, unit), time_column < end)
        .group_by(bucket)
    )
    _tune_for_aggregation(session)
    return _frame(session.execute(stmt).all(), width)


def _frame(rows: list, width: int) -> pd.DataFrame:
    """Per-bucket rows (bucket, n, then min/sum/count/max per metric) as a frame with
    ``ts``, ``n`` and min/mean/max columns, ordered by time."""
    columns = ["bucket", "n"] + [f"{c}_{s}" for c in METRIC_COLUMNS
                                 for s in ("min", "sum", "count", "max")]
    # No ORDER BY in SQL: pandas sorts the ~2,000 buckets for free.
    raw = pd.DataFrame(rows, columns=columns).sort_values("bucket", ignore_index=True)
    frame = pd.DataFrame({
        "ts": pd.to_datetime(raw["bucket"].astype("int64") * width, unit="s", utc=True),
        "n": raw["n"].astype("int64"),
    })
    for col in METRIC_COLUMNS:
        counts = raw[f"{col}_count"].astype("float64")
        sums = raw[f"{col}_sum"].astype("float64")
        frame[f"{col}_min"] = raw[f"{col}_min"].astype("float64")
        frame[f"{col}_mean"] = sums / counts.where(counts > 0)
        frame[f"{col}_max"] = raw[f"{col}_max"].astype("float64")
    return frame


def _floor_time(ts: dt.datetime, width: int) -> dt.datetime:
    epoch = int(ts.timestamp()) // width * width
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def sensor_series(session: Session, org_id: int, compressor_id: int, time_range: TimeRange,
                  max_points: int = MAX_POINTS, retention_days: int = 0,
                  now: dt.datetime | None = None) -> tuple[pd.DataFrame, int]:
    """Per-bucket min/mean/max of every metric, ordered by time.

    Returns ``(frame, width_s)``; the frame has ``ts`` (UTC, bucket start), ``n``
    and ``<metric>_min``, ``<metric>_mean``, ``<metric>_max`` columns; empty when
    the compressor is not the organisation's or has no readings in range. The
    start is aligned down to a bucket boundary so every bucket is whole. A range
    reaching back past ``retention_days`` gets hourly buckets at least: the hours are
    all that is kept of those days."""
    width = bucket_seconds(time_range.seconds, max_points)
    if retention_days > 0 and width % 3600 and \
            time_range.start < (now or utcnow()) - dt.timedelta(days=retention_days):
        width = next(w for w in NICE_WIDTHS_S if w >= width and w % 3600 == 0)
    start = _floor_time(time_range.start, width)
    return _query_buckets(session, org_id, compressor_id, start, time_range.end, width), width


def diagnosis_series(session: Session, org_id: int, compressor_id: int,
                     time_range: TimeRange, max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Health scores over time: each diagnosis when they fit the point budget,
    otherwise per-bucket mean and min (the worst clip of a bucket stays visible).

    Columns: ``ts`` (UTC), ``health_score``, ``health_min``, ``label``, ``status``,
    ``n`` (diagnoses in the point)."""
    where = (Diagnosis.org_id == org_id, Diagnosis.compressor_id == compressor_id,
             Diagnosis.ts >= time_range.start, Diagnosis.ts < time_range.end)
    count = session.scalar(sa.select(sa.func.count()).select_from(Diagnosis).where(*where))
    columns = ["ts", "health_score", "health_min", "label", "status", "n"]
    if not count:
        return pd.DataFrame(columns=columns)
    if count <= max_points:
        rows = session.execute(
            sa.select(Diagnosis.ts, Diagnosis.health_score,
                      sa.func.coalesce(Diagnosis.analyst_label, Diagnosis.label),
                      Diagnosis.status)
            .where(*where).order_by(Diagnosis.ts)
        ).all()
        frame = pd.DataFrame(rows, columns=["ts", "health_score", "label", "status"])
        frame["health_min"] = frame["health_score"]
        frame["n"] = 1
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        return frame[columns]
    width = bucket_seconds(time_range.seconds, max_points)
    bucket = _bucket_index(session, Diagnosis.ts, width).label("bucket")
    rows = session.execute(
        sa.select(bucket, sa.func.avg(Diagnosis.health_score), sa.func.min(Diagnosis.health_score),
                  sa.func.count())
        .where(*where).group_by(bucket).order_by(bucket)
    ).all()
    frame = pd.DataFrame(rows, columns=["bucket", "health_score", "health_min", "n"])
    frame["ts"] = pd.to_datetime(frame["bucket"].astype("int64") * width, unit="s", utc=True)
    frame["label"] = ""
    frame["status"] = ""
    return frame[columns]
