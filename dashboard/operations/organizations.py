"""What a platform operator sees of each customer organisation: its users, devices,
data volume and last activity, in a handful of grouped queries (one per table, never
one per organisation). Readings are counted from the hourly rollups, which every
ingest path maintains: counting the raw, month-partitioned readings would scan them all."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.models import Compressor, Organization, ReadingHour, Recording, User


@dataclass(frozen=True)
class OrganizationUsage:
    id: int
    name: str
    created_at: dt.datetime | None
    users: int
    devices: int
    readings: int
    recordings: int
    recording_bytes: int
    last_reading_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    last_login_at: dt.datetime | None
    suspended_at: dt.datetime | None
    suspended_reason: str | None

    @property
    def last_activity(self) -> dt.datetime | None:
        times = [t for t in (self.last_reading_at, self.last_seen_at, self.last_login_at) if t]
        return max(times) if times else None


def _by_org(session: Session, stmt: sa.Select) -> dict[int, tuple]:
    return {row[0]: tuple(row[1:]) for row in session.execute(stmt)}


def organization_usage(session: Session) -> list[OrganizationUsage]:
    """Every organisation, by name."""
    users = _by_org(session, sa.select(User.org_id, sa.func.count(User.id),
                                       sa.func.max(User.last_login_at))
                    .where(User.org_id.is_not(None)).group_by(User.org_id))
    devices = _by_org(session, sa.select(Compressor.org_id, sa.func.count(Compressor.id),
                                         sa.func.max(Compressor.last_reading_at),
                                         sa.func.max(Compressor.last_seen_at))
                      .group_by(Compressor.org_id))
    readings = _by_org(session, sa.select(Compressor.org_id, sa.func.sum(ReadingHour.n))
                       .join(ReadingHour, ReadingHour.compressor_id == Compressor.id)
                       .group_by(Compressor.org_id))
    clips = _by_org(session, sa.select(Compressor.org_id, sa.func.count(Recording.id),
                                       sa.func.sum(Recording.size_bytes))
                    .join(Recording, Recording.compressor_id == Compressor.id)
                    .group_by(Compressor.org_id))
    out = []
    for org in session.scalars(sa.select(Organization).order_by(Organization.name)):
        n_users, last_login = users.get(org.id, (0, None))
        n_devices, last_reading, last_seen = devices.get(org.id, (0, None, None))
        (n_readings,) = readings.get(org.id, (0,))
        n_clips, clip_bytes = clips.get(org.id, (0, 0))
        out.append(OrganizationUsage(
            id=org.id, name=org.name, created_at=org.created_at, users=int(n_users or 0),
            devices=int(n_devices or 0), readings=int(n_readings or 0),
            recordings=int(n_clips or 0), recording_bytes=int(clip_bytes or 0),
            last_reading_at=_aware(last_reading), last_seen_at=_aware(last_seen),
            last_login_at=_aware(last_login), suspended_at=org.suspended_at,
            suspended_reason=org.suspended_reason))
    return out


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # an aggregate bypasses the column type: SQLite answers a naive UTC time (or text)
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value
