"""One incident per fault episode (docs/alerts.md, "Incidents").

An alert that opens joins the open incident of its compressor, or opens one: the
incident is what people are notified about (once, then escalation), acknowledge and
resolve; its alerts are its contributing signals (health, fault probability, anomaly,
degrading trend, sensor limits, offline). A burst of devices of one site going silent
(a power cut, the site's network) becomes one incident for the site."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.alerts.messages import keyed
from dashboard.alerts.rules import SEVERITY_RANK, max_severity
from dashboard.core.i18n import N_
from dashboard.core.models import Alert, AlertEvent, Compressor, Incident, User

COMPRESSOR, SITE_OFFLINE = "compressor", "site_offline"
# This many devices of one site going silent within FLOOD_WINDOW (in one evaluation or
# several) is a site outage; another silent device of the site joins the site's incident
# while it was seen within the window.
FLOOD_MIN_DEVICES = 3
FLOOD_WINDOW = dt.timedelta(minutes=10)


def open_incident(session: Session, compressor: Compressor) -> Incident | None:
    return session.scalar(sa.select(Incident).where(
        Incident.compressor_id == compressor.id, Incident.scope == COMPRESSOR,
        Incident.state != "resolved").order_by(Incident.id.desc()).limit(1))


def open_site_incident(session: Session, site_id: int, now: dt.datetime) -> Incident | None:
    return session.scalar(sa.select(Incident).where(
        Incident.site_id == site_id, Incident.scope == SITE_OFFLINE,
        Incident.state != "resolved", Incident.last_seen_at >= now - FLOOD_WINDOW)
        .order_by(Incident.id.desc()).limit(1))


def recent_offline_alerts(session: Session, site_id: int, rule_id: int,
                          now: dt.datetime) -> list[Alert]:
    """The rule's active alerts at the site opened within FLOOD_WINDOW (earlier
    evaluations' silent devices)."""
    return list(session.scalars(
        sa.select(Alert).join(Compressor, Compressor.id == Alert.compressor_id).where(
            Compressor.site_id == site_id, Alert.rule_id == rule_id,
            Alert.state != "resolved", Alert.opened_at >= now - FLOOD_WINDOW)
        .order_by(Alert.opened_at, Alert.id)))


def gather_site_outage(session: Session, site_id: int, rule_id: int,
                       now: dt.datetime) -> None:
    """Move the site's recent offline alerts of ``rule_id`` still in their compressor's
    incident into the site's open outage incident. Their escalation becomes the site
    incident's, and a compressor incident left without an active signal is resolved as
    having joined the site's."""
    incident = open_site_incident(session, site_id, now)
    if incident is None:
        return
    for alert in recent_offline_alerts(session, site_id, rule_id, now):
        if alert.incident_id == incident.id:
            continue
        previous = session.get(Incident, alert.incident_id) if alert.incident_id else None
        if previous is not None and previous.scope != COMPRESSOR:
            continue
        alert.incident_id = incident.id
        alert.last_notified_at = None  # not escalated on its own (engine.escalate_due)
        incident.opened_at = min(incident.opened_at, alert.opened_at)
        incident.severity = max_severity(incident.severity, alert.severity)
        session.flush()
        if previous is not None and previous.state != "resolved" and not session.scalar(
                sa.select(sa.func.count(Alert.id)).where(Alert.incident_id == previous.id,
                                                         Alert.state != "resolved")):
            previous.state = "resolved"
            previous.resolved_at = now
            previous.resolved_by_id = None
            previous.resolve_comment = keyed(N_("Joined the outage incident of its site"))


def attach(session: Session, alert: Alert, compressor: Compressor, now: dt.datetime,
           site_outage: bool = False) -> bool:
    """Put a freshly opened alert into its incident. Returns True when people should be
    notified about it: it opened the incident, or made it more severe."""
    if site_outage:
        incident = open_site_incident(session, compressor.site_id, now)
        scope = SITE_OFFLINE
    else:
        incident = open_incident(session, compressor)
        scope = COMPRESSOR
    if incident is None:
        incident = Incident(org_id=alert.org_id, scope=scope,
                            compressor_id=None if site_outage else compressor.id,
                            site_id=compressor.site_id, severity=alert.severity, state="open",
                            opened_at=now, last_seen_at=now)
        session.add(incident)
        session.flush()
        alert.incident_id = incident.id
        return True
    alert.incident_id = incident.id
    incident.last_seen_at = now
    worse = SEVERITY_RANK.get(alert.severity, 0) > SEVERITY_RANK.get(incident.severity, 0)
    incident.severity = max_severity(incident.severity, alert.severity)
    if incident.state == "acknowledged":
        # Someone owns the episode already: the new signal is theirs too.
        alert.state = "acknowledged"
        alert.acknowledged_at = incident.acknowledged_at
        alert.acknowledged_by_id = incident.acknowledged_by_id
    return worse


def touch(incident_id: int | None, session: Session, severity: str, now: dt.datetime) -> None:
    """A repeat of one of the incident's alerts keeps the incident current."""
    if incident_id is None:
        return
    incident = session.get(Incident, incident_id)
    if incident is not None:
        incident.last_seen_at = now
        incident.severity = max_severity(incident.severity, severity)


def resolve_if_quiet(session: Session, incident_id: int | None, now: dt.datetime) -> None:
    """When the last of its alerts resolves itself, the incident resolves too."""
    if incident_id is None:
        return
    incident = session.get(Incident, incident_id)
    if incident is None or incident.state == "resolved":
        return
    session.flush()
    still = session.scalar(sa.select(sa.func.count(Alert.id)).where(
        Alert.incident_id == incident_id, Alert.state != "resolved"))
    if still:
        return
    incident.state = "resolved"
    incident.resolved_at = now
    incident.resolved_by_id = None
    incident.resolve_comment = keyed(N_("Every signal cleared"))


def incident_alerts(session: Session, incident_id: int) -> list[Alert]:
    return list(session.scalars(sa.select(Alert).where(Alert.incident_id == incident_id)
                                .order_by(Alert.opened_at, Alert.id)))


def mark_acknowledged(session: Session, user: User, alert: Alert, text: str,
                      now: dt.datetime) -> None:
    """One signal -> acknowledged by ``user``, with its timeline event."""
    alert.state = "acknowledged"
    alert.acknowledged_by_id = user.id
    alert.acknowledged_at = now
    alert.ack_comment = text
    session.add(AlertEvent(alert_id=alert.id, ts=now, kind="acknowledged", detail=text,
                           user_id=user.id))


def mark_resolved(session: Session, user: User, alert: Alert, text: str,
                  now: dt.datetime) -> None:
    """One signal -> resolved by ``user``, with its timeline event."""
    alert.state = "resolved"
    alert.resolved_by_id = user.id
    alert.resolved_at = now
    alert.resolve_comment = text
    session.add(AlertEvent(alert_id=alert.id, ts=now, kind="resolved", detail=text,
                           user_id=user.id))


def acknowledge(session: Session, user: User, incident: Incident, text: str,
                now: dt.datetime) -> None:
    incident.state = "acknowledged"
    incident.acknowledged_by_id = user.id
    incident.acknowledged_at = now
    incident.ack_comment = text
    for alert in incident_alerts(session, incident.id):
        if alert.state == "open":
            mark_acknowledged(session, user, alert, text, now)


def resolve(session: Session, user: User, incident: Incident, text: str,
            now: dt.datetime) -> None:
    incident.state = "resolved"
    incident.resolved_by_id = user.id
    incident.resolved_at = now
    incident.resolve_comment = text
    for alert in incident_alerts(session, incident.id):
        if alert.state != "resolved":
            mark_resolved(session, user, alert, text, now)
