"""In real Chromium: the compressor page draws its charts, the range picker changes
the resolution, a manager adds a note that shows on the page, a viewer sees no
note form; screenshots at desktop and phone width; no console errors."""

import datetime as dt

from selenium.webdriver.common.by import By

from dashboard.core.database import session_scope
from dashboard.core.models import utcnow
from tests.factories import add_diagnosis, add_readings, set_compressor_state
from tests.test_browser_health import PORT, click, desktop_screenshot, login, phone_screenshots


def _seed(server, cid):
    now = utcnow()
    with session_scope(server) as s:
        set_compressor_state(s, cid, status="watch", health_score=62.0, last_seen_at=now,
                             suspected_fault="bearing")
        add_readings(s, cid, now - dt.timedelta(hours=3), 3 * 360, step_s=10, spikes=[700])
        for i in range(12):
            add_diagnosis(s, cid, now - dt.timedelta(minutes=15 * i),
                          health_score=90.0 - 4 * i, label="normal" if i < 6 else "bearing")


def test_charts_range_picker_and_notes(dash_duo, dash_app, world):
    cid = world.compressors["A"][0]
    _seed(dash_app.server, cid)
    dash_duo.start_server(dash_app, navigate=False, port=PORT)
    login(dash_duo, world.users["A-manager"])
    dash_duo.wait_for_element("#health-grid", timeout=15)
    dash_duo.driver.get(f"{dash_duo.server.url}/compressor/{cid}")
    dash_duo.wait_for_text_to_equal("#compressor-name", "Comp A1", timeout=15)
    dash_duo.wait_for_contains_text("#compressor-resolution", "1분", timeout=15)
    dash_duo.wait_for_element("#compressor-sensors .main-svg")
    dash_duo.wait_for_element("#compressor-timeline .main-svg")
    # 1 h at 0.1 Hz: 10 s buckets would be finer than the data; the label says 2 s.
    click(dash_duo, "label[for='_dbcprivate_radioitems_compressor-range_input_1h']")
    dash_duo.wait_for_contains_text("#compressor-resolution", "2초", timeout=10)
    dash_duo.find_element("#compressor-note-text").send_keys("Bearing greased")
    click(dash_duo, "#compressor-note-save")
    dash_duo.wait_for_contains_text("#compressor-notes", "Bearing greased", timeout=10)
    dash_duo.wait_for_contains_text("#compressor-note-message", "저장")
    desktop_screenshot(dash_duo, "compressor")
    phone_screenshots(dash_duo, "compressor", "#compressor-sensors .main-svg")
    assert dash_duo.get_logs() == [], "browser console errors"


def test_viewer_reads_notes_but_has_no_form_and_foreign_ids_are_not_found(dash_duo, dash_app,
                                                                          world):
    cid = world.compressors["A"][0]
    dash_duo.start_server(dash_app, navigate=False, port=PORT)
    login(dash_duo, world.users["A-viewer"])
    dash_duo.wait_for_element("#health-grid", timeout=15)
    dash_duo.driver.get(f"{dash_duo.server.url}/compressor/{cid}")
    dash_duo.wait_for_text_to_equal("#compressor-name", "Comp A1", timeout=15)
    dash_duo.wait_for_element("#compressor-notes-empty")
    assert not dash_duo.driver.find_elements(By.CSS_SELECTOR, "#compressor-note-form")
    foreign = world.compressors["B"][0]
    dash_duo.driver.get(f"{dash_duo.server.url}/compressor/{foreign}")
    dash_duo.wait_for_element("#compressor-not-found", timeout=15)
    logs = [entry for entry in dash_duo.get_logs()
            # the browser reports the page's own 404 status; nothing else may fail
            if f"/compressor/{foreign}" not in entry.get("message", "")]
    assert logs == [], "browser console errors"
