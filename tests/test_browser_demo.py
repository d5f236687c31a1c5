"""In real Chromium, the first visit of a fresh demo shows the product: a degrading
compressor with its projection on the fleet page, thirty days of charts and the trend on
its page, history spanning more than two weeks, and one open incident."""

import datetime as dt

import sqlalchemy as sa
from selenium.webdriver.common.by import By

from dashboard.app.demo import ensure_admin, seed_demo
from dashboard.app.demo_history import DEGRADING
from dashboard.core.database import session_scope
from dashboard.core.models import Compressor, Diagnosis
from tests.test_browser_health import PORT, click, desktop_screenshot, login

DEMO_PASSWORD = "demo-password-123"


def test_a_fresh_demo_shows_history_a_projection_and_one_incident(dash_duo, dash_app,
                                                                   tmp_path):
    server = dash_app.server
    with session_scope(server) as s:
        admin, _ = ensure_admin(s, "demo-admin@example.test", DEMO_PASSWORD)
        admin.language = "en"
        s.commit()
        seed_demo(s, tmp_path / "tokens.json")
        cid = s.scalar(sa.select(Compressor.id).where(Compressor.name == DEGRADING))
        first, last = s.execute(sa.select(sa.func.min(Diagnosis.ts), sa.func.max(Diagnosis.ts))
                                .where(Diagnosis.compressor_id == cid)).one()
        span = last - first
    dash_duo.start_server(dash_app, navigate=False, port=PORT)
    login(dash_duo, "demo-admin@example.test", DEMO_PASSWORD)
    dash_duo.wait_for_element("#health-grid", timeout=20)
    dash_duo.wait_for_contains_text(f"#health-projection-{cid}", "Warning in ~", timeout=20)
    desktop_screenshot(dash_duo, "demo-fleet")
    dash_duo.driver.get(f"{dash_duo.server.url}/compressor/{cid}")
    dash_duo.wait_for_text_to_equal("#compressor-name", DEGRADING, timeout=20)
    dash_duo.wait_for_contains_text("#compressor-trend-text", "falling", timeout=20)
    dash_duo.wait_for_element("#compressor-trend .main-svg")
    click(dash_duo, "label[for='_dbcprivate_radioitems_compressor-range_input_30d']")  # 30 d
    # Thirty days at the half-hour scale, with readings from the whole month (every 10 min).
    dash_duo.wait_for_contains_text("#compressor-resolution", "per 30 min", timeout=20)
    shown = dash_duo.find_element("#compressor-resolution").text
    assert int(shown.split(" ")[0].replace(",", "")) > 29 * 144
    dash_duo.wait_for_element("#compressor-timeline .main-svg")
    desktop_screenshot(dash_duo, "demo-compressor")
    # History: the diagnosis history of this compressor goes back beyond two weeks.
    assert isinstance(span, dt.timedelta) and span > dt.timedelta(days=14)
    dash_duo.driver.get(f"{dash_duo.server.url}/history?compressor={cid}")
    dash_duo.wait_for_element(".ag-row", timeout=20)
    dash_duo.driver.get(f"{dash_duo.server.url}/alerts")
    dash_duo.wait_for_element("#alerts-table", timeout=20)
    rows = dash_duo.driver.find_elements(By.CSS_SELECTOR, "#alerts-table tr[id^='alerts-row-']")
    assert len(rows) == 1 and DEGRADING in rows[0].text
    desktop_screenshot(dash_duo, "demo-alerts")
    assert dash_duo.get_logs() == [], "browser console errors"
