"""The degrading rule fires before the level is crossed; one fault's alerts make one
incident with one notification, one acknowledge and one resolve; a site outage is one
incident; generated texts are stored as keys and shown in the reader's language."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from dashboard.accounts.provisioning import add_compressor, get_or_create_site
from dashboard.alerts import evaluate_diagnosis
from dashboard.alerts.actions import acknowledge_incident, resolve_incident
from dashboard.alerts.engine import evaluate_periodic
from dashboard.alerts.messages import shown
from dashboard.analysis.trends import refresh_trend
from dashboard.core.database import session_scope
from dashboard.core.i18n import in_language
from dashboard.core.models import (
    Alert,
    Compressor,
    Diagnosis,
    Incident,
    NotificationDelivery,
    Site,
    User,
)
from tests.test_alerts_support import (
    T0,
    add_rule,
    alerts_of,
    diagnosis,
    minutes,
    sqlite_env_fixture,  # noqa: F401  (fixture)
)


def history(session, cid, days: float, start: float, per_day: float, end: dt.datetime) -> None:
    """One diagnosis every 30 minutes up to ``end``, health on a straight line."""
    comp = session.get(Compressor, cid)
    n = int(days * 48)
    for i in range(n):
        ts = end - dt.timedelta(minutes=30 * (n - 1 - i))
        score = start + per_day * (days * i / n)
        session.add(Diagnosis(org_id=comp.org_id, compressor_id=cid, ts=ts, label="normal",
                              probabilities={"normal": 0.9}, confidence=0.9, anomaly_score=0.1,
                              is_anomaly=False, health_score=score, status="healthy"))
    session.flush()


def test_degrading_rule_fires_while_the_compressor_is_still_healthy(sqlite_env):
    env = sqlite_env
    cid = env.comp()
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "degrading", {"level": "warning", "horizon_days": 10})
        # 95 -> 75 over five days: still healthy, warning (below 45) in about 7.5 days.
        history(s, cid, 5, 95, -4.0, T0)
        comp = s.get(Compressor, cid)
        trend = refresh_trend(s, comp, T0, force=True)
        assert trend.to_warning is not None and 6.5 < trend.to_warning.days < 8.5
        fired = evaluate_diagnosis(s, diagnosis(s, cid, T0, status="healthy"), T0)
        assert len(fired) == 1 and fired[0].incident_id is not None
        with in_language("en"):
            assert "Warning in about 7" in shown(fired[0].detail)


def test_degrading_rule_stays_quiet_on_a_flat_history_or_a_long_horizon(sqlite_env):
    env = sqlite_env
    flat, slow = env.comp(), env.comp(n=1)
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "degrading", {"level": "warning", "horizon_days": 3})
        history(s, flat, 5, 90, 0.0, T0)
        history(s, slow, 5, 95, -4.0, T0)  # warning in ~7.5 days: beyond 3
        for cid in (flat, slow):
            refresh_trend(s, s.get(Compressor, cid), T0, force=True)
            assert evaluate_diagnosis(s, diagnosis(s, cid, T0), T0) == []


def _managers_deliveries(s) -> int:
    return s.scalar(sa.select(sa.func.count(NotificationDelivery.id)))


def test_one_fault_is_one_incident_notified_once_acknowledged_and_resolved_once(sqlite_env):
    env = sqlite_env
    cid = env.comp()
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "health_status", {"level": "warning"})
        add_rule(s, env.org(), "fault_probability", {"threshold": 0.7})
        add_rule(s, env.org(), "anomaly", {}, severity="warning")
        bad = diagnosis(s, cid, T0, status="warning", label="bearing", is_anomaly=True,
                        probabilities={"normal": 0.1, "bearing": 0.9})
        fired = evaluate_diagnosis(s, bad, T0)
        assert len(fired) == 3
        incidents = s.scalars(sa.select(Incident)).all()
        assert len(incidents) == 1 and {a.incident_id for a in fired} == {incidents[0].id}
        notified = _managers_deliveries(s)
        assert notified >= 1
        # Only the first signal was notified: the other two joined silently.
        assert s.scalar(sa.select(sa.func.count(sa.distinct(NotificationDelivery.alert_id)))) == 1
        # Escalation later concerns the incident once, not three times.
        evaluate_periodic(s, env.org(), T0 + minutes(20))
        escalated = s.scalar(sa.select(sa.func.count(sa.distinct(NotificationDelivery.alert_id))))
        assert escalated == 1
        manager = s.get(User, env.user_id("A-manager"))
        acknowledge_incident(s, manager, incidents[0].id, "On my way", T0 + minutes(21))
        assert {a.state for a in alerts_of(s, cid)} == {"acknowledged"}
        resolve_incident(s, manager, incidents[0].id, "Bearing replaced", T0 + minutes(60))
        assert {a.state for a in alerts_of(s, cid)} == {"resolved"}
        assert s.get(Incident, incidents[0].id).resolve_comment == "Bearing replaced"
        # The next fault of the same compressor is a new incident.
        evaluate_diagnosis(s, diagnosis(s, cid, T0 + minutes(61), status="warning"),
                           T0 + minutes(61))
        assert s.scalar(sa.select(sa.func.count(Incident.id))) == 2


def test_an_incident_resolves_itself_when_every_signal_cleared(sqlite_env):
    env = sqlite_env
    cid = env.comp()
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "health_status", {"level": "warning", "clear_after": 1})
        evaluate_diagnosis(s, diagnosis(s, cid, T0, status="warning"), T0)
        evaluate_diagnosis(s, diagnosis(s, cid, T0 + minutes(1)), T0 + minutes(1))
        [incident] = s.scalars(sa.select(Incident)).all()
        assert incident.state == "resolved" and incident.resolved_by_id is None


def test_a_site_power_cut_is_one_incident_for_the_site(sqlite_env):
    env = sqlite_env
    with session_scope(env.server) as s:
        site_id = s.get(Compressor, env.comp()).site_id
        site = s.get(Site, site_id)
        cids = [env.comp(), env.comp(n=1)] + [add_compressor(s, site, f"Extra {i}").id
                                               for i in range(2)]
        add_rule(s, env.org(), "offline", {"minutes": 10})
        for cid in cids:
            s.get(Compressor, cid).last_seen_at = T0 - minutes(12)
        fired = evaluate_periodic(s, env.org(), T0)
        assert len(fired) == len(cids)
        incidents = s.scalars(sa.select(Incident)).all()
        assert [i.scope for i in incidents] == ["site_offline"]
        assert s.scalar(sa.select(sa.func.count(sa.distinct(NotificationDelivery.alert_id)))) == 1


def test_devices_of_a_site_going_silent_minutes_apart_are_one_site_incident(sqlite_env):
    env = sqlite_env
    with session_scope(env.server) as s:
        site = s.get(Site, s.get(Compressor, env.comp()).site_id)
        cids = [env.comp(), env.comp(n=1)] + [add_compressor(s, site, f"Extra {i}").id
                                               for i in range(3)]
        elsewhere = add_compressor(s, get_or_create_site(s, site.organization, "Elsewhere"),
                                   "Far away").id
        add_rule(s, env.org(), "offline", {"minutes": 10})
        # One device after the other falls silent, three minutes apart: each found by
        # its own evaluation, never three at once; a device of another site too.
        for i, cid in enumerate(cids):
            s.get(Compressor, cid).last_seen_at = T0 - minutes(11) + minutes(3 * i)
        s.get(Compressor, elsewhere).last_seen_at = T0 - minutes(11) + minutes(8)
        for i in range(len(cids)):
            fired = evaluate_periodic(s, env.org(), T0 + minutes(3 * i))
            new = sorted(a.compressor_id for a in fired if a.count == 1)
            assert new == sorted([cids[i]] + ([elsewhere] if i == 3 else []))
        open_ones = s.scalars(sa.select(Incident).where(Incident.state != "resolved")
                              .order_by(Incident.id)).all()
        assert sorted((i.scope, i.site_id, i.compressor_id) for i in open_ones) == sorted([
            ("site_offline", site.id, None),
            ("compressor", s.get(Compressor, elsewhere).site_id, elsewhere)])
        site_incident = next(i for i in open_ones if i.scope == "site_offline")
        assert site_incident.opened_at == T0
        assert {a.incident_id for c in cids for a in alerts_of(s, c)} == {site_incident.id}
        # The devices notified before the burst was recognised had their own incident:
        # closed now, as having joined the site's.
        merged = s.scalars(sa.select(Incident).where(Incident.state == "resolved")).all()
        assert {i.compressor_id for i in merged} == set(cids[:2])
        assert {shown(i.resolve_comment, "en") for i in merged} == {
            "Joined the outage incident of its site"}
        # From now on the site's outage escalates once, not once per device.
        last = s.scalar(sa.select(sa.func.max(NotificationDelivery.id)))
        evaluate_periodic(s, env.org(), T0 + minutes(60))
        escalated = s.scalars(sa.select(NotificationDelivery.alert_id).where(
            NotificationDelivery.id > last)).all()
        site_alerts = {a.id for c in cids for a in alerts_of(s, c)}
        assert len(set(escalated) & site_alerts) == 1


def test_generated_texts_are_stored_once_and_shown_in_each_language(sqlite_env):
    env = sqlite_env
    cid = env.comp()
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "health_status", {"level": "warning", "default_key": "health"},
                 name="Health warning")
        [alert] = evaluate_diagnosis(s, diagnosis(s, cid, T0, status="warning"), T0)
        assert "·" not in alert.title and "설비" not in alert.title + (alert.detail or "")
        with env.server.test_request_context():
            with in_language("en"):
                assert shown(alert.title).startswith("Health warning — ")
                assert "Status Warning" in shown(alert.detail)
            with in_language("ko"):
                assert shown(alert.title).startswith("설비 상태 주의 — ")
                assert "Warning" not in shown(alert.detail)
        assert s.scalar(sa.select(sa.func.count(Alert.id))) == 1


def test_the_alerts_page_groups_an_incident_and_acknowledges_it_once(sqlite_env):
    from callbacks.alerts import alerts_table
    from dashboard.alerts.queries import list_alerts, open_alert_count
    env = sqlite_env
    cid = env.comp()
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "health_status", {"level": "warning"})
        add_rule(s, env.org(), "anomaly", {}, severity="warning")
        evaluate_diagnosis(s, diagnosis(s, cid, T0, status="warning", is_anomaly=True), T0)
        assert open_alert_count(s, env.org()) == 1  # two signals, one incident
        rows = list_alerts(s, env.org())
        assert len(rows) == 2 and rows[0].incident_id == rows[1].incident_id
        with env.server.test_request_context():
            table = str(alerts_table(rows, True, "Asia/Seoul").to_plotly_json())
        assert f"alerts-incident-{rows[0].incident_id}" in table
        # One set of buttons: the incident's.
        assert table.count("'type': 'alerts-ack'") == 1
