"""The human half of the lifecycle: acknowledge and resolve, each with a comment,
recording who and when. The organisation comes from the logged-in user, never from
the browser: an alert of another organisation is simply "not found"."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.alerts import incidents
from dashboard.alerts.errors import AlertsInputError
from dashboard.core.models import Alert, Incident, User

MAX_COMMENT = 2000


def _clean_comment(comment: str | None) -> str:
    text = (comment or "").strip()
    if not text:
        raise AlertsInputError("A comment is required.")
    if len(text) > MAX_COMMENT:
        raise AlertsInputError("The comment is longer than %(MAX_COMMENT)s characters.",
                                                             MAX_COMMENT=MAX_COMMENT)
    return text


def _alert_of_org(session: Session, org_id: int | None, alert_id: object) -> Alert:
    try:
        wanted = int(alert_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        wanted = None
    alert = None
    if wanted is not None and org_id is not None:
        alert = session.scalar(sa.select(Alert).where(Alert.id == wanted, Alert.org_id == org_id)
                               .with_for_update())
    if alert is None:
        raise AlertsInputError("Alert not found.")
    return alert


def _require_manager(user: User) -> None:
    if not user.has_role("manager"):
        raise AlertsInputError("Only managers and admins may do this.")


def acknowledge_alert(session: Session, user: User, alert_id: object, comment: str | None,
                      now: dt.datetime) -> Alert:
    """Open -> acknowledged: someone owns it; escalation stops. Does not commit."""
    _require_manager(user)
    text = _clean_comment(comment)
    alert = _alert_of_org(session, user.org_id, alert_id)
    if alert.state != "open":
        raise AlertsInputError("This alert is already %(state)s.", state=alert.state)
    incidents.mark_acknowledged(session, user, alert, text, now)
    return alert


def resolve_alert(session: Session, user: User, alert_id: object, comment: str | None,
                  now: dt.datetime) -> Alert:
    """Open or acknowledged -> resolved. Does not commit. If the condition persists the
    next evaluation opens a new alert: resolve means "fixed", acknowledge "working on it"."""
    _require_manager(user)
    text = _clean_comment(comment)
    alert = _alert_of_org(session, user.org_id, alert_id)
    if alert.state == "resolved":
        raise AlertsInputError("This alert is already resolved.")
    incidents.mark_resolved(session, user, alert, text, now)
    return alert


def _incident_of_org(session: Session, org_id: int | None, incident_id: object) -> Incident:
    try:
        wanted = int(incident_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        wanted = None
    incident = None
    if wanted is not None and org_id is not None:
        incident = session.scalar(sa.select(Incident).where(
            Incident.id == wanted, Incident.org_id == org_id).with_for_update())
    if incident is None:
        raise AlertsInputError("Incident not found.")
    return incident


def acknowledge_incident(session: Session, user: User, incident_id: object,
                         comment: str | None, now: dt.datetime) -> Incident:
    """Open -> acknowledged, with every signal of the incident: escalation stops."""
    _require_manager(user)
    text = _clean_comment(comment)
    incident = _incident_of_org(session, user.org_id, incident_id)
    if incident.state != "open":
        raise AlertsInputError("This incident is already %(state)s.", state=incident.state)
    incidents.acknowledge(session, user, incident, text, now)
    return incident


def resolve_incident(session: Session, user: User, incident_id: object, comment: str | None,
                     now: dt.datetime) -> Incident:
    """Open or acknowledged -> resolved, with every signal; the comment is the
    maintenance note of the episode."""
    _require_manager(user)
    text = _clean_comment(comment)
    incident = _incident_of_org(session, user.org_id, incident_id)
    if incident.state == "resolved":
        raise AlertsInputError("This incident is already resolved.")
    incidents.resolve(session, user, incident, text, now)
    return incident
