"""The alerts page's callbacks through Dash's real endpoint (what the browser posts):
acknowledge/resolve with a comment, organisation isolation, roles, the timeline, the
navbar badge and toast, rule editing and channel settings."""

from __future__ import annotations

import json

import sqlalchemy as sa

from dashboard.alerts import evaluate_diagnosis
from dashboard.core.database import session_scope
from dashboard.core.models import Alert, AlertRule, NotificationChannel, User
from tests.test_alerts_support import (
    T0,
    add_rule,
    call_callback,
    diagnosis,
    pattern_prop,
)

CONFIRM = "alerts-feedback.children"
SAVE_RULE = "alerts-rules-feedback.children"


def _text(resp) -> str:
    return json.dumps(resp.get_json(), ensure_ascii=False) if resp.status_code == 200 else ""


def _open_alert(app, world, org="A", title_rule="Bearing watch", n=0):
    with session_scope(app) as s:
        rule = add_rule(s, world.org_ids[org], "health_status", name=title_rule)
        cid = world.compressors[org][n]
        fired = evaluate_diagnosis(s, diagnosis(s, cid, T0, status="warning"), T0)
        return next(a.id for a in fired if a.rule_id == rule.id), rule.id


def _confirm(client, dash_app, alert_id, action, comment):
    return call_callback(client, dash_app, CONFIRM, {
        "alerts-action-confirm.n_clicks": 1,
        "alerts-action-target.data": {"alert_id": alert_id, "action": action},
        "alerts-action-comment.value": comment,
        "alerts-refresh.data": 0,
    }, ["alerts-action-confirm.n_clicks"])


def _alert(app, alert_id) -> Alert:
    with session_scope(app) as s:
        return s.get(Alert, alert_id)


def test_manager_acknowledges_then_resolves_through_the_modal(client, dash_app, app, world):
    alert_id, _ = _open_alert(app, world)
    world.login(client, "A-manager")
    resp = _confirm(client, dash_app, alert_id, "acknowledge", "Technician Kim on the way")
    assert resp.status_code == 200
    assert "알림을 확인했습니다" in _text(resp)
    alert = _alert(app, alert_id)
    with session_scope(app) as s:
        manager_id = s.scalar(sa.select(User.id).where(User.email == world.users["A-manager"]))
    assert (alert.state, alert.acknowledged_by_id, alert.ack_comment) == (
        "acknowledged", manager_id, "Technician Kim on the way")
    assert _confirm(client, dash_app, alert_id, "resolve", "Valve replaced").status_code == 200
    assert _alert(app, alert_id).resolve_comment == "Valve replaced"


def test_an_empty_comment_keeps_the_modal_open_with_a_message(client, dash_app, app, world):
    alert_id, _ = _open_alert(app, world)
    world.login(client, "A-manager")
    resp = _confirm(client, dash_app, alert_id, "acknowledge", "   ")
    assert resp.status_code == 200
    body = resp.get_json()["response"]
    assert body["alerts-action-error"]["children"] == "코멘트를 입력하세요."
    assert _alert(app, alert_id).state == "open"


def test_manager_of_org_b_cannot_acknowledge_org_a_alert_through_the_callback(
        client, dash_app, app, world):
    alert_id, _ = _open_alert(app, world, "A")
    world.login(client, "B-manager")
    for action in ("acknowledge", "resolve"):
        resp = _confirm(client, dash_app, alert_id, action, "not my plant")
        assert resp.status_code == 200
        assert "알림을 찾을 수 없습니다" in _text(resp)
    alert = _alert(app, alert_id)
    assert alert.state == "open" and alert.acknowledged_by_id is None


def test_viewers_and_analysts_cannot_acknowledge(client, dash_app, app, world):
    alert_id, _ = _open_alert(app, world)
    for who in ("A-viewer", "A-analyst"):
        world.login(client, who)
        assert _confirm(client, dash_app, alert_id, "acknowledge", "me").status_code == 204
        client.post("/logout")
    assert _alert(app, alert_id).state == "open"


def test_a_forged_alert_id_is_refused_cleanly(client, dash_app, app, world):
    world.login(client, "A-manager")
    for forged in ("1 or 1=1", None, 10**12, {"id": 1}):
        resp = _confirm(client, dash_app, forged, "acknowledge", "x")
        assert resp.status_code == 200 and "알림을 찾을 수 없습니다" in _text(resp)


def test_the_list_shows_only_the_own_organisation(client, dash_app, app, world):
    _open_alert(app, world, "A", "Rule of A")
    _open_alert(app, world, "B", "Rule of B")
    world.login(client, "A-viewer")
    resp = call_callback(client, dash_app, "alerts-list.children", {
        "alerts-filter-state.value": ["open", "acknowledged"],
        "alerts-filter-severity.value": ["info", "warning", "critical"],
    }, ["alerts-interval.n_intervals"])
    text = _text(resp)
    assert "Rule of A" in text and "Rule of B" not in text
    assert "Comp B1" not in text
    # A viewer sees the list but no acknowledge button.
    assert "alerts-ack" not in text and "alerts-timeline" in text


def test_timeline_shows_events_and_the_delivery_log(client, dash_app, app, world):
    alert_id, _ = _open_alert(app, world)
    world.login(client, "A-viewer")
    resp = call_callback(client, dash_app, "alerts-timeline-body.children", {
        "alerts-timeline": [(alert_id, 1)]}, [pattern_prop("alerts-timeline", alert_id)])
    text = _text(resp)
    assert "alerts-event-fired" in text and "manager@a.example" in text and "pending" in text
    client.post("/logout")
    world.login(client, "B-viewer")
    resp = call_callback(client, dash_app, "alerts-timeline-body.children", {
        "alerts-focus.data": str(alert_id)}, ["alerts-focus.data"])
    assert resp.status_code == 204


def test_badge_counts_open_alerts_and_a_new_one_raises_a_toast(client, dash_app, app, world):
    first, _ = _open_alert(app, world)
    world.login(client, "A-viewer")

    def badge(seen):
        return call_callback(client, dash_app, "alerts-badge-count.children", {
            "alerts-badge-interval.n_intervals": 1, "alerts-badge-seen.data": seen},
            ["alerts-badge-interval.n_intervals"]).get_json()["response"]

    out = badge(None)  # first look: count, remember the newest id, no toast
    assert out["alerts-badge-count"]["children"] == "1"
    assert out["alerts-badge-seen"]["data"] == first and "alerts-toasts" not in out
    # The badge counts incidents: another compressor's fault is a second one.
    second, _ = _open_alert(app, world, title_rule="Second rule", n=1)
    out = badge(first)
    assert out["alerts-badge-count"]["children"] == "2"
    assert "Second rule" in json.dumps(out["alerts-toasts"], ensure_ascii=False)
    assert out["alerts-badge-seen"]["data"] == second


def _rule_values(target=None, **over):
    values = {
        "alerts-rule-save.n_clicks": 1, "alerts-rule-target.data": target,
        "alerts-rule-name.value": "Cold room too warm", "alerts-rule-kind.value": "sensor_limit",
        "alerts-rule-severity.value": "critical", "alerts-rule-metric.value": "temperature_c",
        "alerts-rule-op.value": "above", "alerts-rule-limit.value": -15,
        "alerts-rule-minutes.value": 20, "alerts-rule-clear-after.value": 2,
        "alerts-rule-escalate.value": 30, "alerts-rule-notify.value": True,
        "alerts-rule-enabled.value": True, "alerts-rules-refresh.data": 0,
    }
    values.update({f"alerts-rule-{k.replace('_', '-')}.value": v for k, v in over.items()})
    return values


def _rules(app, org_id):
    with session_scope(app) as s:
        return list(s.scalars(sa.select(AlertRule).where(AlertRule.org_id == org_id)))


def test_manager_creates_a_rule_and_bad_input_writes_nothing(client, dash_app, app, world):
    world.login(client, "A-manager")
    org = world.org_ids["A"]
    bad = [_rule_values(limit=None), _rule_values(name="  "), _rule_values(minutes=0),
           _rule_values(compressor=world.compressors["B"][0]), _rule_values(kind="magic")]
    for values in bad:
        resp = call_callback(client, dash_app, SAVE_RULE, values, ["alerts-rule-save.n_clicks"])
        assert resp.status_code == 200
        assert resp.get_json()["response"]["alerts-rule-error"]["children"]
    assert _rules(app, org) == []
    resp = call_callback(client, dash_app, SAVE_RULE,
                         _rule_values(compressor=world.compressors["A"][1]),
                         ["alerts-rule-save.n_clicks"])
    assert "규칙을 저장했습니다" in _text(resp)
    [rule] = _rules(app, org)
    assert (rule.kind, rule.severity, rule.compressor_id) == (
        "sensor_limit", "critical", world.compressors["A"][1])
    assert rule.params["limit"] == -15 and rule.params["minutes"] == 20
    assert rule.params["escalate_after_minutes"] == 30


def test_editing_a_rule_keeps_settings_the_form_does_not_show(client, dash_app, app, world):
    with session_scope(app) as s:
        rule_id = add_rule(s, world.org_ids["A"], "sensor_limit",
                           {"escalation_roles": [["admin"]], "max_renotify": 4}).id
    world.login(client, "A-manager")
    resp = call_callback(client, dash_app, SAVE_RULE,
                         _rule_values(target=rule_id, enabled=False),
                         ["alerts-rule-save.n_clicks"])
    assert resp.status_code == 200
    [rule] = _rules(app, world.org_ids["A"])
    assert not rule.enabled and rule.params["escalation_roles"] == [["admin"]]
    assert rule.params["max_renotify"] == 4
    # Another organisation's manager cannot edit it by id.
    client.post("/logout")
    world.login(client, "B-manager")
    resp = call_callback(client, dash_app, SAVE_RULE, _rule_values(target=rule_id, name="Mine"),
                         ["alerts-rule-save.n_clicks"])
    assert "규칙을 찾을 수 없습니다" in _text(resp)
    assert _rules(app, world.org_ids["A"])[0].name != "Mine"


def _channels(client, dash_app, sms_limit):
    return call_callback(client, dash_app, "alerts-channels-feedback.children", {
        "alerts-channels-save.n_clicks": 1,
        "alerts-channel-email-enabled.value": True, "alerts-channel-email-rate.value": 60,
        "alerts-channel-sms-enabled.value": False, "alerts-channel-sms-rate.value": sms_limit,
        "alerts-channel-kakao-enabled.value": True, "alerts-channel-kakao-rate.value": 10,
        "alerts-channel-alimtalk-enabled.value": True, "alerts-channel-alimtalk-rate.value": 20,
        "alerts-channel-webpush-enabled.value": False, "alerts-channel-webpush-rate.value": 30,
    }, ["alerts-channels-save.n_clicks"])


def _channel_rows(app, org_id):
    with session_scope(app) as s:
        return {c.kind: (c.enabled, c.rate_limit_per_hour) for c in s.scalars(
            sa.select(NotificationChannel).where(NotificationChannel.org_id == org_id))}


def test_only_admins_change_channels_and_bad_limits_write_nothing(client, dash_app, app, world):
    world.login(client, "A-manager")
    assert _channels(client, dash_app, 5).status_code == 204
    client.post("/logout")
    world.login(client, "A-admin")
    resp = _channels(client, dash_app, "lots")
    assert "1~1000" in _text(resp)
    assert _channel_rows(app, world.org_ids["A"]) == {}
    assert "채널 설정을 저장했습니다" in _text(_channels(client, dash_app, 5))
    assert _channel_rows(app, world.org_ids["A"]) == {
        "email": (True, 60), "sms": (False, 5), "kakao": (True, 10), "alimtalk": (True, 20),
        "webpush": (False, 30)}
    assert _channel_rows(app, world.org_ids["B"]) == {}
