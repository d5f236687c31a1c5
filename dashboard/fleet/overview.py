"""Fleet queries: what the health page shows, always scoped to one organisation.

The page costs two queries whatever the fleet size: the compressors (their latest
state is denormalised on the row) and one aggregate of recent diagnoses for every
sparkline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.models import Compressor, Diagnosis, Site, utcnow
from dashboard.core.status import effective_status

SPARK_HOURS = 24
SPARK_BUCKETS = 24


@dataclass(frozen=True)
class CompressorCard:
    id: int
    name: str
    site: str
    status: str  # learning / healthy / watch / warning / critical / offline
    health_score: float | None
    suspected_fault: str | None
    last_seen_at: dt.datetime | None
    last_metrics: dict[str, float]
    site_id: int = 0
    # ml.trend.HealthTrend in its stored form (dashboard.analysis.trends keeps it).
    health_trend: dict | None = None


@dataclass(frozen=True)
class SiteOption:
    id: int
    name: str


FleetRow = tuple  # (id, name, stored status, score, fault, last seen, metrics, site id, site,
#                    health trend)


def fleet_rows(session: Session, org_id: int) -> list[FleetRow]:
    """The organisation's compressors as stored, ordered by site and name: what a
    shared snapshot keeps (dashboard.core.snapshots); cards are derived per viewer."""
    stmt = (
        sa.select(Compressor.id, Compressor.name, Compressor.status, Compressor.health_score,
                  Compressor.suspected_fault, Compressor.last_seen_at, Compressor.last_metrics,
                  Site.id, Site.name, Compressor.health_trend)
        .join(Site, Site.id == Compressor.site_id)
        .where(Compressor.org_id == org_id)
        .order_by(Site.name, Compressor.name)
    )
    return [tuple(row) for row in session.execute(stmt)]


def cards_from_rows(rows: Iterable[FleetRow], offline_after_s: int, now: dt.datetime,
                    site_id: int | None = None, statuses: Iterable[str] | None = None
                    ) -> list[CompressorCard]:
    """Cards with the status as of ``now`` (offline when silent too long), optionally
    only one site's and only those whose effective status is in ``statuses``."""
    wanted = set(statuses) if statuses else None
    cards = []
    for cid, name, stored, score, fault, seen, metrics, sid, site_name, trend in rows:
        if site_id is not None and sid != site_id:
            continue
        status = effective_status(stored, seen, now, offline_after_s)
        if wanted is not None and status not in wanted:
            continue
        cards.append(CompressorCard(
            id=cid, name=name, site=site_name, status=status, health_score=score,
            suspected_fault=fault, last_seen_at=seen, last_metrics=dict(metrics or {}),
            site_id=sid, health_trend=trend,
        ))
    return cards


def fleet_cards(session: Session, org_id: int, offline_after_s: int,
                now: dt.datetime | None = None, site_id: int | None = None,
                statuses: Iterable[str] | None = None) -> list[CompressorCard]:
    """The organisation's compressors ordered by site and name, optionally only one
    site's and only those whose effective status is in ``statuses``."""
    return cards_from_rows(fleet_rows(session, org_id), offline_after_s, now or utcnow(),
                           site_id, statuses)


def status_counts(cards: list[CompressorCard]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for card in cards:
        counts[card.status] = counts.get(card.status, 0) + 1
    return counts


def org_sites(session: Session, org_id: int) -> list[SiteOption]:
    rows = session.execute(
        sa.select(Site.id, Site.name).where(Site.org_id == org_id).order_by(Site.name)
    )
    return [SiteOption(id=i, name=n) for i, n in rows]


def org_compressors(session: Session, org_id: int, site_id: int | None = None
                    ) -> list[tuple[int, str, str]]:
    """``(id, name, site name)`` of the organisation's compressors, for dropdowns."""
    stmt = (
        sa.select(Compressor.id, Compressor.name, Site.name)
        .join(Site, Site.id == Compressor.site_id)
        .where(Compressor.org_id == org_id)
        .order_by(Site.name, Compressor.name)
    )
    if site_id is not None:
        stmt = stmt.where(Compressor.site_id == site_id)
    return [(i, n, s) for i, n, s in session.execute(stmt)]


def health_sparklines(session: Session, org_id: int, now: dt.datetime | None = None,
                      hours: int = SPARK_HOURS, buckets: int = SPARK_BUCKETS
                      ) -> dict[int, list[float | None]]:
    """Mean health score per time bucket over the last ``hours`` for every compressor
    of the organisation, in one aggregate over the (org_id, ts) index. Buckets
    without a diagnosis are None (a gap, not a zero)."""
    now = now or utcnow()
    since = now - dt.timedelta(hours=hours)
    width = hours * 3600 / buckets
    if session.get_bind().dialect.name == "postgresql":
        age = sa.func.date_part("epoch", sa.literal(now) - Diagnosis.ts)
    else:
        age = sa.func.unixepoch(sa.literal(now.replace(tzinfo=None))) - sa.func.unixepoch(
            Diagnosis.ts)
    # Buckets counted back from now: bucket 0 is the newest.
    back = sa.cast(sa.func.floor(age / width), sa.Integer).label("back")
    rows = session.execute(
        sa.select(Diagnosis.compressor_id, back, sa.func.avg(Diagnosis.health_score))
        .where(Diagnosis.org_id == org_id, Diagnosis.ts >= since, Diagnosis.ts <= now)
        .group_by(Diagnosis.compressor_id, back)
    )
    lines: dict[int, list[float | None]] = {}
    for cid, back_index, mean in rows:
        line = lines.setdefault(cid, [None] * buckets)
        index = buckets - 1 - int(back_index)
        if 0 <= index < buckets:
            line[index] = float(mean)
    return lines
