"""In real Chromium: a manager sees the open alert and the navbar badge, acknowledges it
from the list through the comment modal, and a new alert raises a toast."""

from __future__ import annotations

import json

import sqlalchemy as sa
from selenium.webdriver.common.by import By

from dashboard.alerts import evaluate_diagnosis
from dashboard.core.database import session_scope
from dashboard.core.models import Alert, AlertRule
from tests.test_alerts_support import T0, add_rule, diagnosis
from tests.test_browser_health import login, save_screenshot


def _open_alert(server, org_id, cid, name):
    with session_scope(server) as s:
        rule = add_rule(s, org_id, "health_status", name=name, compressor_id=cid)
        fired = evaluate_diagnosis(s, diagnosis(s, cid, T0, status="critical"), T0)
        return next(a.id for a in fired if a.rule_id == rule.id)


def test_manager_acknowledges_an_alert_from_the_list(dash_duo, dash_app, world):
    server = dash_app.server
    server.config["ALERTS_REFRESH_MS"] = 1000
    first, second = world.compressors["A"]
    alert_id = _open_alert(server, world.org_ids["A"], first, "Bearing noise")
    dash_duo.start_server(dash_app, navigate=False, port=8052)
    login(dash_duo, world.users["A-manager"])
    dash_duo.wait_for_text_to_equal("#alerts-badge-count", "1", timeout=15)
    dash_duo.driver.get(dash_duo.server.url + "/alerts")
    dash_duo.wait_for_element(f"#alerts-row-{alert_id}", timeout=15)
    ack_id = json.dumps({"index": alert_id, "type": "alerts-ack"}, separators=(",", ":"))
    dash_duo.driver.find_element(By.XPATH, f"//button[@id='{ack_id}']").click()
    dash_duo.wait_for_element("#alerts-action-comment").send_keys("Technician Kim is on the way")
    dash_duo.find_element("#alerts-action-confirm").click()
    dash_duo.wait_for_text_to_equal(f"#alerts-state-{alert_id}", "확인됨", timeout=10)
    dash_duo.wait_for_text_to_equal("#alerts-badge-count", "", timeout=10)
    with session_scope(server) as s:
        alert = s.get(Alert, alert_id)
        assert alert.state == "acknowledged"
        assert alert.ack_comment == "Technician Kim is on the way"
    # A new alert while the page is open: a toast and the badge, without a reload.
    _open_alert(server, world.org_ids["A"], second, "Valve leak suspected")
    dash_duo.wait_for_contains_text("#alerts-toasts", "Valve leak suspected", timeout=10)
    dash_duo.wait_for_text_to_equal("#alerts-badge-count", "1", timeout=10)
    save_screenshot(dash_duo, "alerts-desktop")
    with session_scope(server) as s:
        assert s.scalar(sa.select(sa.func.count(Alert.id))) == 2
    assert dash_duo.get_logs() == [], "browser console errors"


def test_manager_creates_a_rule_in_the_rules_tab(dash_duo, dash_app, world):
    dash_duo.start_server(dash_app, navigate=False, port=8052)
    login(dash_duo, world.users["A-manager"])
    dash_duo.wait_for_element("#alerts-badge-link", timeout=15)
    dash_duo.driver.get(dash_duo.server.url + "/alerts")
    dash_duo.wait_for_element("#alerts-tabs a[href='#'], #alerts-tabs .nav-link", timeout=15)
    tabs = dash_duo.driver.find_elements(By.CSS_SELECTOR, "#alerts-tabs .nav-link")
    tabs[1].click()
    dash_duo.wait_for_element("#alerts-rule-new").click()
    # A new rule starts as a sensor rule with sensible defaults; only the name is asked.
    name = dash_duo.wait_for_element("#alerts-rule-name")
    assert dash_duo.find_element("#alerts-rule-limit").get_attribute("value") == "0.45"
    assert not dash_duo.find_element("#alerts-rule-group-minutes").get_attribute("style")
    name.send_keys("Compressor A1 vibration")
    dash_duo.find_element("#alerts-rule-save").click()
    dash_duo.wait_for_contains_text("#alerts-rules", "Compressor A1 vibration", timeout=10)
    with session_scope(dash_app.server) as s:
        rule = s.scalar(sa.select(AlertRule).where(AlertRule.name == "Compressor A1 vibration"))
        assert rule.org_id == world.org_ids["A"] and rule.kind == "sensor_limit"
        assert rule.params["limit"] == 0.45 and rule.params["minutes"] == 10
    save_screenshot(dash_duo, "alerts-rules")
    assert dash_duo.get_logs() == [], "browser console errors"
