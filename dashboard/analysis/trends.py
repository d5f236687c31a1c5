"""A compressor's health trend from its diagnosis history (the math is ``ml.trend``).

``refresh_trend`` runs in the transaction that writes a diagnosis (live or demo backfill)
and keeps the result on the compressor row, at most every ``REFRESH_EVERY`` of clip time,
so the fleet page and the degrading rule read it for free."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.models import Compressor, Diagnosis
from ml.trend import DEFAULT_WINDOW, HealthTrend, health_trend, trend_from_dict, trend_to_dict

REFRESH_EVERY = dt.timedelta(minutes=10)


def history_points(session: Session, compressor_id: int, end: dt.datetime,
                   window: dt.timedelta = DEFAULT_WINDOW) -> list[tuple[dt.datetime, float]]:
    rows = session.execute(
        sa.select(Diagnosis.ts, Diagnosis.health_score)
        .where(Diagnosis.compressor_id == compressor_id, Diagnosis.ts > end - window,
               Diagnosis.ts <= end, Diagnosis.status != "learning")
        .order_by(Diagnosis.ts))
    return [(ts, score) for ts, score in rows]


def compute_trend(session: Session, compressor_id: int, end: dt.datetime) -> HealthTrend:
    return health_trend(history_points(session, compressor_id, end), now=end)


def refresh_trend(session: Session, compressor: Compressor, clip_ts: dt.datetime,
                  force: bool = False) -> HealthTrend:
    """Recompute the stored trend when it is older than REFRESH_EVERY (in clip time)."""
    stored = compressor.health_trend or {}
    computed = stored.get("computed_at")
    if not force and computed and clip_ts - dt.datetime.fromisoformat(computed) < REFRESH_EVERY:
        return trend_from_dict(stored)
    session.flush()
    trend = compute_trend(session, compressor.id, clip_ts)
    compressor.health_trend = trend_to_dict(trend, clip_ts)
    return trend
