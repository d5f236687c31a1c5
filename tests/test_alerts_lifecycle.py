"""The alert lifecycle on SQLite and on the real PostgreSQL: repeats fold into one open
alert, people acknowledge and resolve with a comment, conditions that clear resolve the
alert without flapping, and unacknowledged alerts escalate on a controllable clock."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from dashboard.alerts import (
    AlertsInputError,
    acknowledge_alert,
    evaluate_diagnosis,
    evaluate_periodic,
    resolve_alert,
)
from dashboard.alerts.conditions import FIRING, Verdict
from dashboard.alerts.engine import fire
from dashboard.alerts.rules import parse_params
from dashboard.core.database import session_scope
from dashboard.core.models import Alert, AlertRule, Compressor, NotificationDelivery, User
from tests.test_alerts_support import (
    T0,
    add_rule,
    alerts_of,
    diagnosis,
    env_fixture,  # noqa: F401  (fixture)
    event_kinds,
    minutes,
)


def _user(session, env, who):
    return session.scalar(sa.select(User).where(User.email == env.world.users[who]))


def _open_health_alert(env, cid=None, **params):
    cid = cid or env.comp()
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "health_status", {"level": "warning", **params})
        alert = evaluate_diagnosis(s, diagnosis(s, cid, T0, status="warning"), T0)[0]
        return alert.id


def _recipients(session, alert_id):
    rows = session.execute(
        sa.select(User.email, NotificationDelivery.dedupe_key)
        .join(User, User.id == NotificationDelivery.user_id)
        .where(NotificationDelivery.alert_id == alert_id)).all()
    return sorted((email, key.split(":")[3]) for email, key in rows)


def test_repeats_fold_into_the_one_open_alert(env):
    cid = env.comp()
    alert_id = _open_health_alert(env, cid)
    with session_scope(env.server) as s:
        for i in (1, 2, 3):
            evaluate_diagnosis(s, diagnosis(s, cid, T0 + minutes(i), status="warning"),
                               T0 + minutes(i))
    with session_scope(env.server) as s:
        [alert] = alerts_of(s, cid)
        assert alert.id == alert_id and alert.count == 4
        assert alert.opened_at == T0 and alert.last_seen_at == T0 + minutes(3)
        assert event_kinds(s, alert_id) == ["fired"]
        # Notified once (round 0), not once per repeat.
        assert len(_recipients(s, alert_id)) == 1


def test_acknowledge_and_resolve_need_a_comment_and_record_who_and_when(env):
    alert_id = _open_health_alert(env)
    with session_scope(env.server) as s:
        manager = _user(s, env, "A-manager")
        for empty in ("", "   ", None):
            with pytest.raises(AlertsInputError, match="comment"):
                acknowledge_alert(s, manager, alert_id, empty, T0 + minutes(1))
        assert s.get(Alert, alert_id).state == "open"
        acknowledge_alert(s, manager, alert_id, "  Technician on the way ", T0 + minutes(2))
    with session_scope(env.server) as s:
        admin = _user(s, env, "A-admin")
        with pytest.raises(AlertsInputError):
            resolve_alert(s, admin, alert_id, "", T0 + minutes(3))
        resolve_alert(s, admin, alert_id, "Bearing replaced", T0 + minutes(30))
    with session_scope(env.server) as s:
        alert = s.get(Alert, alert_id)
        assert (alert.state, alert.ack_comment, alert.acknowledged_at) == (
            "resolved", "Technician on the way", T0 + minutes(2))
        assert alert.acknowledged_by_id == env.user_id("A-manager")
        assert alert.resolved_by_id == env.user_id("A-admin")
        assert (alert.resolve_comment, alert.resolved_at) == ("Bearing replaced", T0 + minutes(30))
        assert event_kinds(s, alert_id) == ["fired", "acknowledged", "resolved"]


def test_only_managers_of_the_same_org_act_on_an_alert(env):
    alert_id = _open_health_alert(env)
    with session_scope(env.server) as s:
        for who in ("A-viewer", "A-analyst", "B-manager", "B-admin"):
            with pytest.raises(AlertsInputError):
                acknowledge_alert(s, _user(s, env, who), alert_id, "mine now", T0)
        with pytest.raises(AlertsInputError, match="not found"):
            resolve_alert(s, _user(s, env, "B-admin"), alert_id, "closing", T0)
    with session_scope(env.server) as s:
        assert s.get(Alert, alert_id).state == "open"
        assert event_kinds(s, alert_id) == ["fired"]


def test_an_alert_is_acknowledged_once(env):
    alert_id = _open_health_alert(env)
    with session_scope(env.server) as s:
        acknowledge_alert(s, _user(s, env, "A-manager"), alert_id, "mine", T0)
    with session_scope(env.server) as s, pytest.raises(AlertsInputError, match="already"):
        acknowledge_alert(s, _user(s, env, "A-admin"), alert_id, "no, mine", T0)


def test_auto_resolve_waits_for_consecutive_clear_evaluations(env):
    cid = env.comp()
    alert_id = _open_health_alert(env, cid, clear_after=3)
    statuses = ["healthy", "healthy", "warning", "healthy", "healthy"]  # flaps: no resolve
    with session_scope(env.server) as s:
        for i, status in enumerate(statuses, start=1):
            evaluate_diagnosis(s, diagnosis(s, cid, T0 + minutes(i), status=status),
                               T0 + minutes(i))
        assert s.get(Alert, alert_id).state == "open"
        evaluate_diagnosis(s, diagnosis(s, cid, T0 + minutes(9)), T0 + minutes(9))
    with session_scope(env.server) as s:
        alert = s.get(Alert, alert_id)
        assert (alert.state, alert.resolved_at, alert.resolved_by_id) == (
            "resolved", T0 + minutes(9), None)
        assert event_kinds(s, alert_id)[-1] == "auto_resolved"


def test_after_resolution_the_same_condition_opens_a_new_alert(env):
    cid = env.comp()
    first = _open_health_alert(env, cid)
    with session_scope(env.server) as s:
        resolve_alert(s, _user(s, env, "A-manager"), first, "reset the breaker", T0)
        second = evaluate_diagnosis(s, diagnosis(s, cid, T0 + minutes(1), status="warning"),
                                    T0 + minutes(1))[0]
        assert second.id != first and second.count == 1
        assert [a.state for a in alerts_of(s, cid)] == ["resolved", "open"]


def test_unacknowledged_alert_escalates_to_admins_then_reminds_them(env):
    alert_id = _open_health_alert(env, escalate_after_minutes=15, max_renotify=1)
    with session_scope(env.server) as s:
        assert _recipients(s, alert_id) == [("manager@a.example", "0")]
        evaluate_periodic(s, env.org(), T0 + minutes(14))
        assert s.get(Alert, alert_id).escalation_level == 0
        evaluate_periodic(s, env.org(), T0 + minutes(15))
        assert s.get(Alert, alert_id).escalation_level == 1
        assert ("admin@a.example", "1") in _recipients(s, alert_id)
        evaluate_periodic(s, env.org(), T0 + minutes(29))  # 14 min after the last round
        assert s.get(Alert, alert_id).escalation_level == 1
        evaluate_periodic(s, env.org(), T0 + minutes(30))
        evaluate_periodic(s, env.org(), T0 + minutes(300))  # reminders are capped
        alert = s.get(Alert, alert_id)
        assert alert.escalation_level == 2 and alert.last_notified_at == T0 + minutes(30)
        assert _recipients(s, alert_id) == [("admin@a.example", "1"), ("admin@a.example", "2"),
                                            ("manager@a.example", "0")]
        assert event_kinds(s, alert_id) == ["fired", "escalated", "renotified"]


def test_acknowledged_alert_does_not_escalate(env):
    alert_id = _open_health_alert(env, escalate_after_minutes=5)
    with session_scope(env.server) as s:
        acknowledge_alert(s, _user(s, env, "A-manager"), alert_id, "on it", T0 + minutes(1))
        evaluate_periodic(s, env.org(), T0 + minutes(60))
        assert s.get(Alert, alert_id).escalation_level == 0
        assert len(_recipients(s, alert_id)) == 1


def test_a_level_without_anyone_passes_to_the_next(env):
    with session_scope(env.server) as s:
        s.execute(sa.update(User).where(User.email == env.world.users["A-manager"])
                  .values(role="analyst"))
    alert_id = _open_health_alert(env)
    with session_scope(env.server) as s:
        assert _recipients(s, alert_id) == [("admin@a.example", "0")]


def test_two_evaluators_racing_leave_one_open_alert(pg_dash_app, pg_world):
    """Two sessions fire the same rule at once; the partial unique index lets one insert
    and the other folds its repeat into that alert."""
    server = pg_dash_app.server
    cid = pg_world.compressors["A"][0]
    with session_scope(server) as s:
        rule_id = add_rule(s, pg_world.org_ids["A"], "offline").id
    barrier = threading.Barrier(2)
    errors = []

    def evaluator() -> None:
        try:
            with session_scope(server) as s:
                rule = s.get(AlertRule, rule_id)
                comp = s.get(Compressor, cid)
                params = parse_params(rule.kind, rule.params)
                barrier.wait(timeout=10)
                fire(s, rule, params, comp, Verdict(FIRING, "silent"), T0)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=evaluator) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    with session_scope(server) as s:
        [alert] = alerts_of(s, cid)
        assert alert.count == 2 and alert.state == "open"
        assert s.scalar(sa.select(sa.func.count(NotificationDelivery.id))) == 1
