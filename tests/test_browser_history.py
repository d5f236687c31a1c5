"""In real Chromium, as an analyst: the history grid loads rows from the server, a
label filter narrows grid, count and export, a label correction is saved and the
grid refreshes, the CSV link downloads the filtered set; screenshots; no console
errors."""

import csv
import datetime as dt
import io
import time

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from dashboard.core.database import session_scope
from dashboard.core.models import utcnow
from tests.factories import add_diagnoses
from tests.test_browser_health import PORT, click, desktop_screenshot, login, phone_screenshots


def _labels_shown(dash_duo) -> set[str]:
    # Read in one script: the grid re-renders rows while it scrolls and refreshes.
    return set(dash_duo.driver.execute_script(
        "return [...document.querySelectorAll(\".ag-row .ag-cell[col-id='label']\")]"
        ".map(c => c.textContent)"))


def wait_for(condition, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def wait_until_shown(dash_duo, selector: str) -> None:
    wait_for(lambda: dash_duo.find_element(selector).is_displayed(), f"{selector} shown")


def test_grid_filter_review_and_export(dash_duo, dash_app, world):
    a1, a2 = world.compressors["A"]
    with session_scope(dash_app.server) as s:
        add_diagnoses(s, a1, world.org_ids["A"], utcnow(), 300)
        add_diagnoses(s, a2, world.org_ids["A"], utcnow() - dt.timedelta(minutes=5), 300)
    dash_duo.start_server(dash_app, navigate=False, port=PORT)
    login(dash_duo, world.users["A-analyst"])
    dash_duo.wait_for_element("#health-grid", timeout=15)
    dash_duo.driver.get(f"{dash_duo.server.url}/history")
    dash_duo.wait_for_text_to_equal("#history-count", "진단 600건", timeout=20)
    wait_for(lambda: _labels_shown(dash_duo) == {"normal", "bearing"}, "rows load")

    dash_duo.select_dcc_dropdown("#history-label", value="bearing")
    dash_duo.wait_for_text_to_equal("#history-count", "진단 150건", timeout=15)
    wait_for(lambda: _labels_shown(dash_duo) == {"bearing"}, "only bearing rows")

    first = ".ag-row[row-index='0'] .ag-cell[col-id='label']"
    first_time = ".ag-row[row-index='0'] .ag-cell[col-id='ts']"
    second_time_before = dash_duo.find_element(
        ".ag-row[row-index='1'] .ag-cell[col-id='ts']").text
    click(dash_duo, first)
    dash_duo.wait_for_contains_text("#history-detail", "bearing", timeout=10)
    wait_until_shown(dash_duo, "#history-review-form")
    click(dash_duo, "label[for='_dbcprivate_radioitems_history-review-verdict_input_invalid']")
    Select(dash_duo.find_element("#history-review-label")).select_by_value("belt_slip")
    click(dash_duo, "#history-review-save")
    dash_duo.wait_for_contains_text("#history-review-message", "저장", timeout=10)
    # Relabelled, it leaves the "bearing" set: count, grid and export all follow.
    dash_duo.wait_for_text_to_equal("#history-count", "진단 149건", timeout=15)
    dash_duo.wait_for_text_to_equal(first_time, second_time_before, timeout=10)

    href = dash_duo.find_element("#history-export").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in dash_duo.driver.get_cookies()}
    resp = requests.get(href, cookies=cookies, timeout=30)
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert len(rows) == 149 and {r["label"] for r in rows} == {"bearing"}

    desktop_screenshot(dash_duo, "history")
    phone_screenshots(dash_duo, "history", ".ag-row")
    assert dash_duo.get_logs() == [], "browser console errors"


def test_viewer_sees_history_without_review_or_export(dash_duo, dash_app, world):
    with session_scope(dash_app.server) as s:
        add_diagnoses(s, world.compressors["A"][0], world.org_ids["A"], utcnow(), 20)
    dash_duo.start_server(dash_app, navigate=False, port=PORT)
    login(dash_duo, world.users["A-viewer"])
    dash_duo.wait_for_element("#health-grid", timeout=15)
    dash_duo.driver.get(f"{dash_duo.server.url}/history")
    dash_duo.wait_for_text_to_equal("#history-count", "진단 20건", timeout=20)
    click(dash_duo, ".ag-row[row-index='0'] .ag-cell[col-id='label']")
    dash_duo.wait_for_element("#history-detail-body", timeout=10)
    assert not dash_duo.driver.find_elements(By.CSS_SELECTOR, "#history-review-form")
    assert not dash_duo.find_element("#history-export").is_displayed()
    assert dash_duo.get_logs() == [], "browser console errors"
