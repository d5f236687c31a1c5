"""What the read API (``/api/v1``) returns about compressors, readings and diagnoses:
one page of plain rows at a time, in a stable order, with the key the next page starts
after (keyset pagination: no OFFSET scans, no row seen twice while data arrives).
Every query is scoped to the organisation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.models import Compressor, Diagnosis, Reading, ReadingHour, ReadingMinute, Site
from dashboard.core.sensors import METRIC_KEYS
from dashboard.fleet.timeseries import owned_compressor

BUCKETS = ("raw", "minute", "hour")


def iso_utc(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def _page(rows: list, limit: int, key: Any) -> tuple[list, Any]:
    """The first ``limit`` rows and the key after the last, or None when none follow
    (the queries fetch one row more than asked to know)."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, key(rows[-1])
    return rows, None


def compressors_page(session: Session, org_id: int, limit: int, after_id: int | None
                     ) -> tuple[list[dict[str, Any]], int | None]:
    stmt = (sa.select(Compressor, Site.name).join(Site, Site.id == Compressor.site_id)
            .where(Compressor.org_id == org_id).order_by(Compressor.id).limit(limit + 1))
    if after_id is not None:
        stmt = stmt.where(Compressor.id > after_id)
    rows, nxt = _page(list(session.execute(stmt).all()), limit, lambda r: r[0].id)
    return [{"id": c.id, "name": c.name, "site_id": c.site_id, "site": site, "kind": c.kind,
             "status": c.status, "health_score": c.health_score,
             "suspected_fault": c.suspected_fault, "last_seen_at": iso_utc(c.last_seen_at),
             "firmware_version": c.firmware_version} for c, site in rows], nxt


def compressor_detail(session: Session, org_id: int, compressor_id: int) -> dict | None:
    comp = owned_compressor(session, org_id, compressor_id)
    if comp is None:
        return None
    rows, _next = compressors_page(session, org_id, 1, comp.id - 1)
    return rows[0] if rows else None


def readings_page(session: Session, org_id: int, compressor_id: int, bucket: str,
                  start: dt.datetime, end: dt.datetime, limit: int,
                  after: tuple[dt.datetime, int] | None) -> tuple[list[dict], Any]:
    """Readings of one compressor in [start, end), oldest first. ``raw``: each reading
    (ts, seq and its metrics); ``minute`` / ``hour``: the rollups, with the count of
    readings and min/mean/max of each metric per bucket. ``after`` is the previous
    page's last key: (ts, seq) for raw, (bucket start, 0) for rollups."""
    if owned_compressor(session, org_id, compressor_id) is None:
        return [], None
    if bucket == "raw":
        stmt = (sa.select(Reading).where(Reading.compressor_id == compressor_id,
                                         Reading.ts >= start, Reading.ts < end)
                .order_by(Reading.ts, Reading.seq).limit(limit + 1))
        if after is not None:
            ts, seq = after
            stmt = stmt.where(sa.or_(Reading.ts > ts, sa.and_(Reading.ts == ts,
                                                                Reading.seq > seq)))
        rows, nxt = _page(list(session.scalars(stmt)), limit, lambda r: (r.ts, r.seq))
        return [{"ts": iso_utc(r.ts), "seq": r.seq,
                 **{m: getattr(r, m) for m in METRIC_KEYS}} for r in rows], nxt
    model = ReadingMinute if bucket == "minute" else ReadingHour
    column = model.minute if bucket == "minute" else model.hour
    stmt = (sa.select(model).where(model.compressor_id == compressor_id, column >= start,
                                   column < end).order_by(column).limit(limit + 1))
    if after is not None:
        stmt = stmt.where(column > after[0])
    rows, nxt = _page(list(session.scalars(stmt)), limit,
                      lambda r: (getattr(r, column.key), 0))
    out = []
    for r in rows:
        item: dict[str, Any] = {"ts": iso_utc(getattr(r, column.key)), "n": r.n}
        for m in METRIC_KEYS:
            count = getattr(r, f"{m}_count") or 0
            total = getattr(r, f"{m}_sum")
            item[f"{m}_min"] = getattr(r, f"{m}_min")
            item[f"{m}_mean"] = total / count if count and total is not None else None
            item[f"{m}_max"] = getattr(r, f"{m}_max")
        out.append(item)
    return out, nxt


def diagnoses_page(session: Session, org_id: int, limit: int, before_id: int | None, *,
                   compressor_id: int | None = None, since: dt.datetime | None = None,
                   until: dt.datetime | None = None, detailed: bool = False
                   ) -> tuple[list[dict[str, Any]], int | None]:
    """Diagnoses, newest first. ``detailed`` (analysts and up) adds the class
    probabilities and the analyst's review."""
    stmt = (sa.select(Diagnosis).where(Diagnosis.org_id == org_id)
            .order_by(Diagnosis.id.desc()).limit(limit + 1))
    if before_id is not None:
        stmt = stmt.where(Diagnosis.id < before_id)
    if compressor_id is not None:
        stmt = stmt.where(Diagnosis.compressor_id == compressor_id)
    if since is not None:
        stmt = stmt.where(Diagnosis.ts >= since)
    if until is not None:
        stmt = stmt.where(Diagnosis.ts < until)
    rows, nxt = _page(list(session.scalars(stmt)), limit, lambda d: d.id)
    out = []
    for d in rows:
        item: dict[str, Any] = {
            "id": d.id, "compressor_id": d.compressor_id, "recording_id": d.recording_id,
            "ts": iso_utc(d.ts), "label": d.label, "confidence": d.confidence,
            "health_score": d.health_score, "status": d.status,
            "anomaly_score": d.anomaly_score, "is_anomaly": d.is_anomaly}
        if detailed:
            item.update(probabilities=d.probabilities or {}, analyst_label=d.analyst_label,
                        analyst_valid=d.analyst_valid, reviewed_at=iso_utc(d.reviewed_at))
        out.append(item)
    return out, nxt
