"""What the alerts page and the navbar badge read, and the rule and channel edits they
write. Every function takes the organisation of the logged-in user; ids coming from the
browser are only ever looked up within it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.orm import Session

from dashboard.core.models import (
    Alert,
    AlertEvent,
    AlertRule,
    Compressor,
    ModelVersion,
    NotificationDelivery,
    Site,
    User,
)

ALERT_STATES = ("open", "acknowledged", "resolved")
FALLBACK_FAULTS = ("bearing", "valve_leak", "belt_slip", "electrical_hum")


@dataclass(frozen=True)
class AlertRow:
    id: int
    severity: str
    state: str
    title: str
    detail: str | None
    compressor_id: int
    compressor: str
    site: str
    count: int
    opened_at: dt.datetime
    last_seen_at: dt.datetime
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None
    ack_comment: str | None
    resolved_by: str | None
    resolved_at: dt.datetime | None
    resolve_comment: str | None
    escalation_level: int
    incident_id: int | None = None
    rule_kind: str | None = None


@dataclass(frozen=True)
class TimelineEntry:
    ts: dt.datetime
    kind: str
    who: str | None
    detail: str | None


@dataclass(frozen=True)
class DeliveryRow:
    channel: str
    recipient: str | None
    status: str
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    provider_status: str | None = None  # what the provider said when it took it
    fallback_for: str | None = None  # the channel whose failure this row stands in for


def _alert_rows_query() -> sa.Select:
    acker = so.aliased(User)
    resolver = so.aliased(User)
    return (
        sa.select(Alert, Compressor.name, Site.name, acker.email, resolver.email, AlertRule.kind)
        .join(Compressor, Compressor.id == Alert.compressor_id)
        .outerjoin(AlertRule, AlertRule.id == Alert.rule_id)
        .join(Site, Site.id == Compressor.site_id)
        .outerjoin(acker, acker.id == Alert.acknowledged_by_id)
        .outerjoin(resolver, resolver.id == Alert.resolved_by_id)
    )


def _to_row(alert: Alert, compressor: str, site: str, acker: str | None,
            resolver: str | None, kind: str | None = None) -> AlertRow:
    return AlertRow(
        id=alert.id, severity=alert.severity, state=alert.state, title=alert.title,
        detail=alert.detail, compressor_id=alert.compressor_id, compressor=compressor,
        site=site, count=alert.count, opened_at=alert.opened_at,
        last_seen_at=alert.last_seen_at, acknowledged_by=acker,
        acknowledged_at=alert.acknowledged_at, ack_comment=alert.ack_comment,
        resolved_by=resolver, resolved_at=alert.resolved_at,
        resolve_comment=alert.resolve_comment, escalation_level=alert.escalation_level,
        incident_id=alert.incident_id, rule_kind=kind)


def list_alerts(session: Session, org_id: int, states: list[str] | None = None,
                severities: list[str] | None = None, compressor_id: int | None = None,
                limit: int = 200) -> list[AlertRow]:
    """Unresolved first, then the most severe, then the most recent."""
    state_order = sa.case({"open": 0, "acknowledged": 1}, value=Alert.state, else_=2)
    sev_order = sa.case({"critical": 0, "warning": 1}, value=Alert.severity, else_=2)
    query = _alert_rows_query().where(Alert.org_id == org_id)
    if states:
        query = query.where(Alert.state.in_(states))
    if severities:
        query = query.where(Alert.severity.in_(severities))
    if compressor_id is not None:
        query = query.where(Alert.compressor_id == compressor_id)
    query = query.order_by(state_order, sev_order, Alert.last_seen_at.desc(), Alert.id.desc())
    return by_incident([_to_row(*row) for row in session.execute(query.limit(limit)).all()])


def by_incident(rows: list[AlertRow]) -> list[AlertRow]:
    """The same order, with each incident's signals kept together after its first one."""
    groups: dict[object, list[AlertRow]] = {}
    for row in rows:
        groups.setdefault(row.incident_id if row.incident_id is not None else ("a", row.id),
                          []).append(row)
    return [row for group in groups.values() for row in group]


def get_alert_row(session: Session, org_id: int, alert_id: object) -> AlertRow | None:
    try:
        wanted = int(alert_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    row = session.execute(_alert_rows_query().where(Alert.org_id == org_id,
                                                    Alert.id == wanted)).first()
    return _to_row(*row) if row else None


def incident_alert_ids(session: Session, org_id: int, alert_id: int) -> list[int]:
    """The alerts of this alert's incident (itself alone when it has none)."""
    incident_id = session.scalar(sa.select(Alert.incident_id).where(
        Alert.id == alert_id, Alert.org_id == org_id))
    if incident_id is None:
        return [alert_id]
    return list(session.scalars(sa.select(Alert.id).where(
        Alert.incident_id == incident_id, Alert.org_id == org_id).order_by(Alert.id)))


def alert_timeline(session: Session, org_id: int, alert_id: int) -> list[TimelineEntry]:
    """The events of the alert's incident (every signal), oldest first; empty for an
    alert of another organisation."""
    ids = incident_alert_ids(session, org_id, alert_id)
    rows = session.execute(
        sa.select(AlertEvent, User.email)
        .join(Alert, Alert.id == AlertEvent.alert_id)
        .outerjoin(User, User.id == AlertEvent.user_id)
        .where(Alert.org_id == org_id, AlertEvent.alert_id.in_(ids))
        .order_by(AlertEvent.ts, AlertEvent.id)).all()
    if len(ids) > 1:  # the same person's one acknowledge shows once, not per signal
        seen, unique = set(), []
        for e, email in rows:
            key = (e.ts, e.kind, email, e.detail) if e.user_id else (e.id,)
            if key not in seen:
                seen.add(key)
                unique.append((e, email))
        rows = unique
    return [TimelineEntry(e.ts, e.kind, email, e.detail) for e, email in rows]


def alert_deliveries(session: Session, org_id: int, alert_id: int) -> list[DeliveryRow]:
    rows = session.execute(
        sa.select(NotificationDelivery, User.email)
        .join(Alert, Alert.id == NotificationDelivery.alert_id)
        .outerjoin(User, User.id == NotificationDelivery.user_id)
        .where(Alert.org_id == org_id, NotificationDelivery.alert_id == alert_id)
        .order_by(NotificationDelivery.created_at, NotificationDelivery.id)).all()
    channel_of = {d.id: d.channel for d, _email in rows}
    return [DeliveryRow(d.channel, email, d.status, d.attempts, d.last_error, d.created_at,
                        d.sent_at, d.provider_status, channel_of.get(d.fallback_for_id))
            for d, email in rows]


def open_alert_count(session: Session, org_id: int) -> int:
    """Open incidents (an alert from before incidents counts alone): what needs someone."""
    is_open = sa.and_(Alert.org_id == org_id, Alert.state == "open")
    alone = session.scalar(sa.select(sa.func.count(Alert.id))
                           .where(is_open, Alert.incident_id.is_(None))) or 0
    grouped = session.scalar(sa.select(sa.func.count(sa.distinct(Alert.incident_id)))
                             .where(is_open, Alert.incident_id.is_not(None))) or 0
    return alone + grouped


def newest_alert_id(session: Session, org_id: int) -> int:
    return session.scalar(sa.select(sa.func.max(Alert.id)).where(Alert.org_id == org_id)) or 0


def alerts_opened_after(session: Session, org_id: int, after_id: int,
                        limit: int = 3) -> list[AlertRow]:
    """Alerts opened since the browser last looked (ids only grow), newest first."""
    query = (_alert_rows_query()
             .where(Alert.org_id == org_id, Alert.id > after_id, Alert.state == "open")
             .order_by(Alert.id.desc()).limit(limit))
    return [_to_row(*row) for row in session.execute(query).all()]


def scope_options(session: Session, org_id: int) -> tuple[list[dict], list[dict]]:
    """Dropdown options for the organisation's sites and compressors."""
    sites = [{"label": s.name, "value": s.id} for s in session.scalars(
        sa.select(Site).where(Site.org_id == org_id).order_by(Site.name))]
    comps = [{"label": f"{site} / {name}", "value": cid} for cid, name, site in session.execute(
        sa.select(Compressor.id, Compressor.name, Site.name)
        .join(Site, Site.id == Compressor.site_id)
        .where(Compressor.org_id == org_id).order_by(Site.name, Compressor.name)).all()]
    return sites, comps


def fault_classes(session: Session) -> list[str]:
    """Fault labels of the active classifier (the fallback before any model exists)."""
    classes = session.scalar(sa.select(ModelVersion.classes)
                             .where(ModelVersion.active.is_(True),
                                    ModelVersion.kind == "classifier")
                             .order_by(ModelVersion.id.desc()).limit(1))
    labels = [c for c in (classes or FALLBACK_FAULTS) if c != "normal"]
    return labels or list(FALLBACK_FAULTS)


@dataclass(frozen=True)
class RuleRow:
    id: int
    name: str
    kind: str
    severity: str
    enabled: bool
    scope: str
    site_id: int | None
    compressor_id: int | None
    params: dict[str, Any]


def list_rules(session: Session, org_id: int) -> list[RuleRow]:
    rows = session.execute(
        sa.select(AlertRule, Site.name, Compressor.name)
        .outerjoin(Site, Site.id == AlertRule.site_id)
        .outerjoin(Compressor, Compressor.id == AlertRule.compressor_id)
        .where(AlertRule.org_id == org_id).order_by(AlertRule.id)).all()
    return [RuleRow(r.id, r.name, r.kind, r.severity, r.enabled,
                    comp or site or "*", r.site_id, r.compressor_id, dict(r.params or {}))
            for r, site, comp in rows]


def get_rule(session: Session, org_id: int, rule_id: object) -> AlertRule | None:
    try:
        wanted = int(rule_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return session.scalar(sa.select(AlertRule).where(AlertRule.id == wanted,
                                                     AlertRule.org_id == org_id))
