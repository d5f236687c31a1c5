"""In real Chromium: log in, see the organisation's compressor cards, see them update
when a device posts a reading."""

from pathlib import Path

import requests
from selenium.webdriver.common.by import By

from tests.conftest import PASSWORD


def login(dash_duo, email: str, password: str = PASSWORD) -> None:
    dash_duo.driver.get(dash_duo.server.url + "/login")
    dash_duo.wait_for_element("#email").send_keys(email)
    dash_duo.find_element("#password").send_keys(password)
    dash_duo.find_element("#login-submit").click()


def save_screenshot(dash_duo, name: str) -> None:
    out = Path("test-output/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(out / f"{name}.png"))


def test_login_see_cards_and_watch_them_update(dash_duo, dash_app, world):
    dash_duo.start_server(dash_app, navigate=False)
    login(dash_duo, world.users["A-viewer"])
    first, second = world.compressors["A"]
    dash_duo.wait_for_element(f"#health-card-{first}", timeout=15)
    dash_duo.wait_for_element(f"#health-card-{second}")
    assert not dash_duo.driver.find_elements(By.CSS_SELECTOR,
                                             f"#health-card-{world.compressors['B'][0]}")
    dash_duo.wait_for_text_to_equal(f"#health-status-{first}", "Offline · 오프라인")

    resp = requests.post(
        dash_duo.server.url + "/api/esp32/data",
        json={"seq": 1, "metrics": {"temperature_c": 7.5, "current_a": 11.2}},
        headers={"Authorization": f"Bearer {world.tokens[first]}"},
        timeout=10,
    )
    assert resp.status_code == 201
    # The page refreshes by itself: the new values and status appear without a reload.
    dash_duo.wait_for_text_to_equal(f"#health-metric-{first}-temperature_c", "7.5 °C", timeout=15)
    dash_duo.wait_for_text_to_equal(f"#health-status-{first}", "Learning · 학습 중")
    save_screenshot(dash_duo, "health-desktop")
    dash_duo.driver.set_window_size(390, 844)
    dash_duo.wait_for_element(f"#health-card-{first}")
    save_screenshot(dash_duo, "health-phone")
    assert dash_duo.get_logs() == [], "browser console errors"


def test_wrong_password_in_browser_stays_on_login(dash_duo, dash_app, world):
    dash_duo.start_server(dash_app, navigate=False)
    login(dash_duo, world.users["A-viewer"], "wrong-password")
    dash_duo.wait_for_contains_text(".alert", "Wrong email or password")
    assert "/login" in dash_duo.driver.current_url
