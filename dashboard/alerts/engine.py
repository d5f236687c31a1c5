"""Evaluation and the automatic half of the lifecycle: open, fold repeats, auto-resolve
with hysteresis, escalate. The clock is always passed in (``now``), never read here, so
tests can drive time. Nothing here commits: the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashboard.alerts import incidents
from dashboard.alerts.conditions import (
    CLEAR,
    FIRING,
    PENDING,
    Verdict,
    judge_degrading,
    judge_diagnosis,
    judge_offline,
    judge_sensor,
)
from dashboard.alerts.errors import AlertsInputError
from dashboard.alerts.messages import keyed
from dashboard.alerts.notify import enqueue_round
from dashboard.alerts.rules import (
    DIAGNOSIS_KINDS,
    PERIODIC_KINDS,
    DegradingParams,
    OfflineParams,
    RuleParams,
    SensorLimitParams,
    max_severity,
    parse_params,
)
from dashboard.core.i18n import N_
from dashboard.core.models import (
    Alert,
    AlertEvent,
    AlertRule,
    Compressor,
    Diagnosis,
    Organization,
)
from dashboard.core.status import DEFAULT_OFFLINE_AFTER_S

log = logging.getLogger("signalcraft.alerts")


def _rule_params(rule: AlertRule) -> RuleParams | None:
    try:
        return parse_params(rule.kind, rule.params)
    except AlertsInputError as exc:
        # A rule broken by hand in the database must not stop every other rule.
        log.warning("alert rule %s skipped: %s", rule.id, exc)
        return None


def _not_suspended(org_column: Any) -> Any:
    # A suspended organisation's devices are refused, so they fall silent: no rule of
    # it fires (no offline alert storm) and nothing of it escalates until reactivated.
    return ~sa.exists().where(Organization.id == org_column,
                              Organization.suspended_at.is_not(None))


def enabled_rules(session: Session, org_id: int | None, kinds: tuple[str, ...]
                  ) -> list[AlertRule]:
    query = sa.select(AlertRule).where(AlertRule.enabled.is_(True), AlertRule.kind.in_(kinds),
                                       _not_suspended(AlertRule.org_id))
    if org_id is not None:
        query = query.where(AlertRule.org_id == org_id)
    return list(session.scalars(query.order_by(AlertRule.id)))


def rule_covers(rule: AlertRule, compressor: Compressor) -> bool:
    if rule.org_id != compressor.org_id:
        return False
    if rule.compressor_id is not None:
        return rule.compressor_id == compressor.id
    if rule.site_id is not None:
        return rule.site_id == compressor.site_id
    return True


def compressors_covered(session: Session, rule: AlertRule) -> list[Compressor]:
    query = sa.select(Compressor).where(Compressor.org_id == rule.org_id)
    if rule.compressor_id is not None:
        query = query.where(Compressor.id == rule.compressor_id)
    elif rule.site_id is not None:
        query = query.where(Compressor.site_id == rule.site_id)
    return list(session.scalars(query.order_by(Compressor.id)))


def active_alert(session: Session, compressor_id: int, rule_id: int) -> Alert | None:
    return session.scalar(sa.select(Alert).where(
        Alert.compressor_id == compressor_id, Alert.rule_id == rule_id,
        Alert.state != "resolved"))


def add_event(session: Session, alert: Alert, kind: str, now: dt.datetime,
              detail: str | None = None, user_id: int | None = None) -> None:
    session.add(AlertEvent(alert_id=alert.id, ts=now, kind=kind, detail=detail, user_id=user_id))


def _fold(session: Session, alert: Alert, verdict: Verdict, severity: str,
          now: dt.datetime) -> Alert:
    alert.count = (alert.count or 1) + 1
    alert.last_seen_at = now
    alert.clear_count = 0
    if verdict.detail:
        alert.detail = verdict.detail
    if max_severity(alert.severity, severity) != alert.severity:
        add_event(session, alert, "severity", now, f"{alert.severity} → {severity}")
        alert.severity = severity
    incidents.touch(alert.incident_id, session, alert.severity, now)
    return alert


def alert_title(rule: AlertRule, compressor: Compressor) -> str:
    """Stored as a key: a default rule's name is a catalogue key, translated when shown."""
    default = bool((rule.params or {}).get("default_key"))
    return keyed(N_("%(rule)s — %(compressor)s"), translate=("rule",) if default else (),
                 rule=rule.name, compressor=compressor.name)


def fire(session: Session, rule: AlertRule, params: RuleParams, compressor: Compressor,
         verdict: Verdict, now: dt.datetime, site_outage: bool = False) -> Alert:
    """Open the alert of (compressor, rule), or fold this repeat into the one already
    open or acknowledged. The partial unique index settles a race between two
    evaluators: the loser's insert fails inside a savepoint and it folds instead. A new
    alert joins its compressor's incident (or the site's, in an outage); only the one
    that opens the incident, or makes it worse, is notified."""
    severity = max_severity(rule.severity, verdict.severity)
    existing = active_alert(session, compressor.id, rule.id)
    if existing is not None:
        return _fold(session, existing, verdict, severity, now)
    alert = Alert(org_id=compressor.org_id, compressor_id=compressor.id, rule_id=rule.id,
                  severity=severity, state="open", title=alert_title(rule, compressor),
                  detail=verdict.detail, count=1, opened_at=now, last_seen_at=now,
                  escalation_level=0, clear_count=0)
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        existing = active_alert(session, compressor.id, rule.id)
        if existing is None:
            raise
        return _fold(session, existing, verdict, severity, now)
    add_event(session, alert, "fired", now, verdict.detail)
    if incidents.attach(session, alert, compressor, now, site_outage):
        enqueue_round(session, alert, params, 0, now)
    return alert


def register_clear(session: Session, rule: AlertRule, params: RuleParams,
                   compressor: Compressor, now: dt.datetime) -> Alert | None:
    """One clear evaluation; after ``clear_after`` in a row the alert resolves itself."""
    alert = active_alert(session, compressor.id, rule.id)
    if alert is None:
        return None
    alert.clear_count = (alert.clear_count or 0) + 1
    if alert.clear_count >= params.clear_after:
        alert.state = "resolved"
        alert.resolved_at = now
        alert.resolved_by_id = None
        alert.resolve_comment = keyed(N_("Condition clear for %(count)s evaluations"),
                                      count=alert.clear_count)
        add_event(session, alert, "auto_resolved", now, alert.resolve_comment)
        incidents.resolve_if_quiet(session, alert.incident_id, now)
    return alert


def apply_verdict(session: Session, rule: AlertRule, params: RuleParams,
                  compressor: Compressor, verdict: Verdict, now: dt.datetime,
                  site_outage: bool = False) -> Alert | None:
    """Returns the alert when the rule fired (opened or folded), else None."""
    if verdict.state == FIRING:
        return fire(session, rule, params, compressor, verdict, now, site_outage)
    if verdict.state == CLEAR:
        register_clear(session, rule, params, compressor, now)
    elif verdict.state == PENDING:
        alert = active_alert(session, compressor.id, rule.id)
        if alert is not None:
            alert.clear_count = 0  # still bad, just not for long enough: no progress to clear
    return None


def _confirmed(session: Session, rule: AlertRule, params: RuleParams,
               diagnosis: Diagnosis) -> bool:
    """A diagnosis rule with ``confirm_after`` N opens its alert only when the N-1
    diagnoses before this one met the condition too; an open alert folds at once."""
    needed = getattr(params, "confirm_after", 1) - 1
    if needed <= 0 or active_alert(session, diagnosis.compressor_id, rule.id) is not None:
        return True
    if diagnosis.id is None:
        session.flush()
    earlier = session.scalars(
        sa.select(Diagnosis)
        .where(Diagnosis.compressor_id == diagnosis.compressor_id,
               Diagnosis.id != diagnosis.id, Diagnosis.ts <= diagnosis.ts)
        .order_by(Diagnosis.ts.desc(), Diagnosis.id.desc()).limit(needed)).all()
    return len(earlier) == needed and all(
        judge_diagnosis(params, d).state == FIRING for d in earlier)


def evaluate_diagnosis(session: Session, diagnosis: Diagnosis, now: dt.datetime) -> list[Alert]:
    """Judge a freshly written diagnosis against its organisation's diagnosis rules
    (health status, fault probability, anomaly). Call it in the transaction that wrote
    the diagnosis; it does not commit. Returns the alerts that fired (new or folded)."""
    compressor = session.get(Compressor, diagnosis.compressor_id)
    if compressor is None:
        return []
    fired = []
    for rule in enabled_rules(session, compressor.org_id, DIAGNOSIS_KINDS):
        params = _rule_params(rule)
        if params is None or not rule_covers(rule, compressor):
            continue
        verdict = (judge_degrading(params, compressor) if isinstance(params, DegradingParams)
                   else judge_diagnosis(params, diagnosis))
        if verdict.state == FIRING and not _confirmed(session, rule, params, diagnosis):
            verdict = Verdict(PENDING, verdict.detail)
        alert = apply_verdict(session, rule, params, compressor, verdict, now)
        if alert is not None:
            fired.append(alert)
    session.flush()
    return fired


def evaluate_periodic(session: Session, org_id: int | None, now: dt.datetime,
                      offline_after_s: int = DEFAULT_OFFLINE_AFTER_S) -> list[Alert]:
    """The clock-driven rules (device silent, sensor beyond a limit for N minutes) for one
    organisation or all (None), then escalation of unacknowledged alerts. Does not
    commit. Returns the alerts that fired (new or folded)."""
    fired = []
    for rule in enabled_rules(session, org_id, PERIODIC_KINDS):
        params = _rule_params(rule)
        if params is None:
            continue
        judged = []
        for compressor in compressors_covered(session, rule):
            if isinstance(params, OfflineParams):
                verdict = judge_offline(params, compressor, now, offline_after_s)
            else:
                assert isinstance(params, SensorLimitParams)
                verdict = judge_sensor(session, params, compressor.id, now)
            judged.append((compressor, verdict))
        outage_sites = _outage_sites(session, rule, params, judged, now)
        for compressor, verdict in judged:
            alert = apply_verdict(session, rule, params, compressor, verdict, now,
                                  site_outage=compressor.site_id in outage_sites)
            if alert is not None:
                fired.append(alert)
        for site_id in sorted(outage_sites):
            incidents.gather_site_outage(session, site_id, rule.id, now)
    escalate_due(session, org_id, now)
    session.flush()
    return fired


def _outage_sites(session: Session, rule: AlertRule, params: RuleParams,
                  judged: list[tuple[Compressor, Verdict]], now: dt.datetime) -> set[int]:
    """Sites where devices newly silent in this evaluation are a flood: with the site's
    devices that went silent within FLOOD_WINDOW before (earlier evaluations), at least
    FLOOD_MIN_DEVICES of them, or the site already has a fresh outage incident."""
    if not isinstance(params, OfflineParams):
        return set()
    newly: dict[int, int] = {}
    for compressor, verdict in judged:
        if verdict.state == FIRING and active_alert(session, compressor.id, rule.id) is None:
            newly[compressor.site_id] = newly.get(compressor.site_id, 0) + 1
    return {site for site, count in newly.items()
            if count + len(incidents.recent_offline_alerts(session, site, rule.id, now))
            >= incidents.FLOOD_MIN_DEVICES
            or incidents.open_site_incident(session, site, now) is not None}


def escalate_due(session: Session, org_id: int | None, now: dt.datetime) -> list[Alert]:
    """Open (unacknowledged) alerts whose last notification round is older than the
    rule's ``escalate_after_minutes`` go to the next level; past the last level the last
    level is reminded, at most ``max_renotify`` times."""
    query = sa.select(Alert, AlertRule).join(AlertRule, AlertRule.id == Alert.rule_id).where(
        Alert.state == "open", _not_suspended(Alert.org_id))
    if org_id is not None:
        query = query.where(Alert.org_id == org_id)
    escalated = []
    for alert, rule in session.execute(query.order_by(Alert.id)).all():
        params = _rule_params(rule)
        if params is None or params.escalate_after_minutes <= 0:
            continue
        if not params.notify or alert.severity == "info":
            continue
        if alert.incident_id is not None and alert.last_notified_at is None:
            continue  # a signal that joined its incident: the incident's first alert escalates
        last_round = max(len(params.escalation_roles) - 1, 0) + params.max_renotify
        if alert.escalation_level >= last_round:
            continue
        since = alert.last_notified_at or alert.opened_at
        if now - since < dt.timedelta(minutes=params.escalate_after_minutes):
            continue
        next_round = alert.escalation_level + 1
        # Compare-and-set: two schedulers racing escalate once.
        claimed = session.execute(
            sa.update(Alert).where(Alert.id == alert.id,
                                   Alert.escalation_level == alert.escalation_level,
                                   Alert.state == "open")
            .values(escalation_level=next_round, last_notified_at=now)
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        session.refresh(alert)
        kind = "escalated" if next_round < len(params.escalation_roles) else "renotified"
        roles = params.escalation_roles[min(next_round, len(params.escalation_roles) - 1)]
        add_event(session, alert, kind, now, f"level {next_round}: {', '.join(roles)}")
        enqueue_round(session, alert, params, next_round, now)
        escalated.append(alert)
    return escalated
