"""Fleet queries: what the health page shows, always scoped to one organisation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.models import Compressor, Site, utcnow

METRIC_LABELS = {
    "temperature_c": ("Temp", "°C"),
    "current_a": ("Current", "A"),
    "pressure_bar": ("Pressure", "bar"),
    "vibration_rms_g": ("Vibration", "g"),
    "humidity_pct": ("Humidity", "%"),
}


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


def effective_status(stored: str, last_seen_at: dt.datetime | None, now: dt.datetime,
                     offline_after_s: int) -> str:
    """A device that has not been heard from recently is offline, whatever it last said."""
    if last_seen_at is None or (now - last_seen_at).total_seconds() > offline_after_s:
        return "offline"
    return stored


def fleet_cards(session: Session, org_id: int, offline_after_s: int,
                now: dt.datetime | None = None) -> list[CompressorCard]:
    now = now or utcnow()
    rows = session.execute(
        sa.select(Compressor, Site.name)
        .join(Site, Site.id == Compressor.site_id)
        .where(Compressor.org_id == org_id)
        .order_by(Site.name, Compressor.name)
    ).all()
    return [
        CompressorCard(
            id=c.id,
            name=c.name,
            site=site_name,
            status=effective_status(c.status, c.last_seen_at, now, offline_after_s),
            health_score=c.health_score,
            suspected_fault=c.suspected_fault,
            last_seen_at=c.last_seen_at,
            last_metrics=dict(c.last_metrics or {}),
        )
        for c, site_name in rows
    ]


def status_counts(cards: list[CompressorCard]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for card in cards:
        counts[card.status] = counts.get(card.status, 0) + 1
    return counts
