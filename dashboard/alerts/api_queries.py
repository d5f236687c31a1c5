"""Alerts (the incidents people acknowledge and resolve) for the read API: one page,
newest first, scoped to the organisation (keyset pagination like
dashboard/fleet/api_queries.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.core.models import Alert
from dashboard.fleet.api_queries import iso_utc

ALERT_STATES = ("open", "acknowledged", "resolved")


def alerts_page(session: Session, org_id: int, limit: int, before_id: int | None, *,
                compressor_id: int | None = None, state: str | None = None
                ) -> tuple[list[dict[str, Any]], int | None]:
    stmt = (sa.select(Alert).where(Alert.org_id == org_id).order_by(Alert.id.desc())
            .limit(limit + 1))
    if before_id is not None:
        stmt = stmt.where(Alert.id < before_id)
    if compressor_id is not None:
        stmt = stmt.where(Alert.compressor_id == compressor_id)
    if state is not None:
        stmt = stmt.where(Alert.state == state)
    rows = list(session.scalars(stmt))
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        nxt = rows[-1].id
    return [{"id": a.id, "compressor_id": a.compressor_id, "rule_id": a.rule_id,
             "severity": a.severity, "state": a.state, "title": a.title, "detail": a.detail,
             "count": a.count, "opened_at": iso_utc(a.opened_at),
             "last_seen_at": iso_utc(a.last_seen_at), "acknowledged_at": iso_utc(a.acknowledged_at),
             "resolved_at": iso_utc(a.resolved_at)} for a in rows], nxt
