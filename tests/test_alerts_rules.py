"""Each rule kind fires on its condition and clears when it goes away; sensor rules
need a duration, not a spike; offline detection; scope; defaults; validation."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.alerts import AlertsInputError, ensure_default_rules, evaluate_diagnosis
from dashboard.alerts.engine import evaluate_periodic
from dashboard.alerts.messages import shown
from dashboard.alerts.rules import describe_params, normalize_params
from dashboard.core.database import session_scope
from dashboard.core.i18n import in_language
from dashboard.core.models import AlertRule, Compressor
from tests.test_alerts_support import (
    T0,
    add_rule,
    alerts_of,
    diagnosis,
    minutes,
    readings,
    sqlite_env_fixture,  # noqa: F401  (fixture)
)


def _state(session, cid):
    found = alerts_of(session, cid)
    return [(a.state, a.severity) for a in found]


def test_health_status_rule_fires_at_its_level_and_clears_after_hysteresis(sqlite_env):
    env = sqlite_env
    cid = env.comp()
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "health_status", {"level": "warning", "clear_after": 2})
        assert evaluate_diagnosis(s, diagnosis(s, cid, T0, status="watch"), T0) == []
        assert _state(s, cid) == []
        fired = evaluate_diagnosis(s, diagnosis(s, cid, T0 + minutes(1), status="warning"),
                                   T0 + minutes(1))
        assert [a.compressor_id for a in fired] == [cid]
        # A critical status raises the alert above the rule's own severity.
        evaluate_diagnosis(s, diagnosis(s, cid, T0 + minutes(2), status="critical"),
                           T0 + minutes(2))
        assert _state(s, cid) == [("open", "critical")]
        # "learning" says nothing either way.
        evaluate_diagnosis(s, diagnosis(s, cid, T0 + minutes(3), status="learning"),
                           T0 + minutes(3))
        assert alerts_of(s, cid)[0].clear_count == 0
        for i in (4, 5):
            evaluate_diagnosis(s, diagnosis(s, cid, T0 + minutes(i), status="healthy"),
                               T0 + minutes(i))
        assert _state(s, cid) == [("resolved", "critical")]


def test_a_rule_confirmed_over_clips_ignores_one_odd_clip_and_fires_on_the_next(sqlite_env):
    env = sqlite_env
    cid = env.comp()
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "health_status", {"level": "warning", "confirm_after": 2})
        at = [T0 + minutes(i) for i in range(6)]
        # One odd clip between healthy ones: nobody is alerted.
        evaluate_diagnosis(s, diagnosis(s, cid, at[0], status="healthy"), at[0])
        assert evaluate_diagnosis(s, diagnosis(s, cid, at[1], status="warning"), at[1]) == []
        evaluate_diagnosis(s, diagnosis(s, cid, at[2], status="healthy"), at[2])
        assert evaluate_diagnosis(s, diagnosis(s, cid, at[3], status="warning"), at[3]) == []
        assert _state(s, cid) == []
        # The second in a row opens it; later ones fold into it at once.
        fired = evaluate_diagnosis(s, diagnosis(s, cid, at[4], status="warning"), at[4])
        assert [a.compressor_id for a in fired] == [cid]
        assert len(evaluate_diagnosis(s, diagnosis(s, cid, at[5], status="critical"),
                                      at[5])) == 1
        assert _state(s, cid) == [("open", "critical")]
        assert "2" in describe_params("health_status", {"level": "warning",
                                                        "confirm_after": 2})


def test_the_default_health_rule_waits_for_a_second_clip(sqlite_env):
    env = sqlite_env
    cid = env.comp()
    with session_scope(env.server) as s:
        ensure_default_rules(s, env.org())
        health = s.scalar(sa.select(AlertRule).where(AlertRule.kind == "health_status"))
        assert health.params["confirm_after"] == 2
        evaluate_diagnosis(s, diagnosis(s, cid, T0, status="warning"), T0)
        assert not [a for a in alerts_of(s, cid) if a.rule_id == health.id]
        evaluate_diagnosis(s, diagnosis(s, cid, T0 + minutes(5), status="warning"),
                           T0 + minutes(5))
        assert [a.rule_id for a in alerts_of(s, cid) if a.rule_id == health.id] == [health.id]


def test_fault_probability_rule_fires_above_threshold_for_any_or_one_fault(sqlite_env):
    env = sqlite_env
    cid = env.comp()
    with session_scope(env.server) as s:
        any_rule = add_rule(s, env.org(), "fault_probability", {"threshold": 0.7, "clear_after": 1})
        valve = add_rule(s, env.org(), "fault_probability", {"fault": "valve_leak",
                                                             "threshold": 0.5})
        d = diagnosis(s, cid, T0, label="bearing",
                      probabilities={"normal": 0.1, "bearing": 0.85, "valve_leak": 0.05})
        fired = evaluate_diagnosis(s, d, T0)
        assert [a.rule_id for a in fired] == [any_rule.id]
        assert "bearing" in shown(fired[0].detail) and "0.85" in shown(fired[0].detail)
        d = diagnosis(s, cid, T0 + minutes(1),
                      probabilities={"normal": 0.3, "bearing": 0.1, "valve_leak": 0.6})
        fired = evaluate_diagnosis(s, d, T0 + minutes(1))
        assert [a.rule_id for a in fired] == [valve.id]
        states = {a.rule_id: a.state for a in alerts_of(s, cid)}
        assert states == {any_rule.id: "resolved", valve.id: "open"}


def test_anomaly_rule_follows_the_baseline_or_a_score_threshold(sqlite_env):
    env = sqlite_env
    cid, other = env.comp(n=0), env.comp(n=1)
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "anomaly", {"clear_after": 1}, compressor_id=cid)
        add_rule(s, env.org(), "anomaly", {"score_above": 5.0, "clear_after": 1},
                 compressor_id=other)
        assert evaluate_diagnosis(s, diagnosis(s, cid, T0, is_anomaly=True, anomaly_score=3.2),
                                  T0)
        assert not evaluate_diagnosis(s, diagnosis(s, other, T0, is_anomaly=True,
                                                   anomaly_score=3.2), T0)
        assert evaluate_diagnosis(s, diagnosis(s, other, T0, anomaly_score=7.5), T0)
        # No baseline yet (is_anomaly None) leaves the open alert as it is.
        evaluate_diagnosis(s, diagnosis(s, cid, T0 + minutes(1), is_anomaly=None), T0)
        assert _state(s, cid) == [("open", "warning")]
        evaluate_diagnosis(s, diagnosis(s, cid, T0 + minutes(2), is_anomaly=False), T0)
        assert _state(s, cid) == [("resolved", "warning")]


def test_sensor_rule_ignores_a_spike_and_fires_after_the_duration(sqlite_env):
    env = sqlite_env
    cid = env.comp()
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "sensor_limit",
                 {"metric": "vibration_rms_g", "op": "above", "limit": 0.45, "minutes": 10,
                  "clear_after": 2})
        # Normal, one spike, normal again: no alert.
        readings(s, cid, T0, [0.2, 0.2, 0.9, 0.2, 0.2])
        assert evaluate_periodic(s, env.org(), T0 + minutes(4)) == []
        # Over the limit from minute 5: still pending at minute 14, firing at minute 15.
        readings(s, cid, T0 + minutes(5), [0.6] * 12)
        assert evaluate_periodic(s, env.org(), T0 + minutes(14)) == []
        fired = evaluate_periodic(s, env.org(), T0 + minutes(15))
        assert len(fired) == 1
        assert "Vibration RMS 0.6 g above 0.45 g for 10 min" in shown(fired[0].detail)
        # Back to normal: two clear evaluations resolve it.
        readings(s, cid, T0 + minutes(17), [0.2, 0.2])
        evaluate_periodic(s, env.org(), T0 + minutes(17))
        assert _state(s, cid) == [("open", "warning")]
        evaluate_periodic(s, env.org(), T0 + minutes(18))
        assert _state(s, cid) == [("resolved", "warning")]


def test_sensor_rule_below_a_limit_and_silent_device_is_not_judged(sqlite_env):
    env = sqlite_env
    cid = env.comp()
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "sensor_limit",
                 {"metric": "pressure_bar", "op": "below", "limit": 6.0, "minutes": 5})
        readings(s, cid, T0, [5.0] * 7, metric="pressure_bar")
        assert len(evaluate_periodic(s, env.org(), T0 + minutes(6))) == 1
        # Readings stopped 30 min ago: the sensor rule holds, the offline rule's job.
        alert = alerts_of(s, cid)[0]
        evaluate_periodic(s, env.org(), T0 + minutes(36))
        assert alert.state == "open" and alert.count == 1 and alert.clear_count == 0


def test_offline_rule_fires_when_silent_and_clears_when_heard_again(sqlite_env):
    env = sqlite_env
    quiet, fresh = env.comp(n=0), env.comp(n=1)
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "offline", {"minutes": 10, "clear_after": 1})
        s.get(Compressor, quiet).last_seen_at = T0 - minutes(11)
        s.get(Compressor, fresh).last_seen_at = T0 - minutes(2)
        fired = evaluate_periodic(s, env.org(), T0)
        assert [a.compressor_id for a in fired] == [quiet]
        assert "No data for 11 min" in shown(fired[0].detail)
        s.get(Compressor, quiet).last_seen_at = T0 + minutes(1)
        evaluate_periodic(s, env.org(), T0 + minutes(1))
        assert _state(s, quiet) == [("resolved", "warning")]


def test_a_never_seen_device_is_offline_only_after_its_grace_period(sqlite_env):
    env = sqlite_env
    cid = env.comp()
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "offline", {"minutes": 10}, compressor_id=cid)
        s.get(Compressor, cid).created_at = T0 - minutes(5)
        assert evaluate_periodic(s, env.org(), T0) == []
        fired = evaluate_periodic(s, env.org(), T0 + minutes(6))
        assert [a.compressor_id for a in fired] == [cid]


def test_rule_scope_narrows_to_a_site_or_a_compressor_of_its_own_org(sqlite_env):
    env = sqlite_env
    a1, a2 = env.world.compressors["A"]
    b1 = env.comp("B")
    with session_scope(env.server) as s:
        add_rule(s, env.org(), "health_status", {"level": "watch"}, compressor_id=a2)
        hits = [evaluate_diagnosis(s, diagnosis(s, cid, T0, status="critical"), T0)
                for cid in (a1, a2, b1)]
        assert [len(h) for h in hits] == [0, 1, 0]
        site = s.get(Compressor, a1).site_id
        add_rule(s, env.org(), "offline", {"minutes": 1}, site_id=site)
        for cid in (a1, a2, b1):
            s.get(Compressor, cid).last_seen_at = T0 - minutes(30)
        fired = evaluate_periodic(s, None, T0)
        assert sorted(a.compressor_id for a in fired) == [a1, a2]


def test_default_rules_are_created_once_and_keep_a_managers_changes(sqlite_env):
    env = sqlite_env
    with session_scope(env.server) as s:
        added = ensure_default_rules(s, env.org())
        assert {r.kind for r in added} == {"offline", "health_status", "fault_probability",
                                           "anomaly", "sensor_limit", "degrading"}
        # Stored as a catalogue key, in no language in particular.
        assert {r.name for r in added} >= {"Health warning", "Health degrading"}
        added[0].enabled = False
        assert ensure_default_rules(s, env.org()) == []
        assert ensure_default_rules(s, env.org("B"))  # per organisation
        rules = s.scalars(sa.select(AlertRule).where(AlertRule.org_id == env.org())).all()
        assert len(rules) == 6 and not added[0].enabled


def test_default_rules_detect_a_silent_compressor_out_of_the_box(sqlite_env):
    env = sqlite_env
    cid = env.comp()
    with session_scope(env.server) as s:
        ensure_default_rules(s, env.org())
        s.get(Compressor, cid).last_seen_at = T0 - minutes(15)
        s.get(Compressor, env.comp(n=1)).last_seen_at = T0
        fired = evaluate_periodic(s, env.org(), T0)
        assert [a.compressor_id for a in fired] == [cid]


@pytest.mark.parametrize("kind, params, field", [
    ("fault_probability", {"threshold": 1.5}, "threshold"),
    ("sensor_limit", {"metric": "noise"}, "metric"),
    ("sensor_limit", {"minutes": 0}, "minutes"),
    ("offline", {"escalation_roles": [["boss"]]}, "escalation_roles"),
    ("health_status", {"level": "fine"}, "level"),
])
def test_bad_rule_settings_are_refused_with_the_field_named(kind, params, field, dash_app):
    with pytest.raises(AlertsInputError) as err:
        normalize_params(kind, params)
    assert field in str(err.value)
    with dash_app.server.test_request_context(), in_language("ko"):
        korean = err.value.localized()
    assert field in korean and korean != str(err.value)
