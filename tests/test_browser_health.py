"""In real Chromium: log in, see the organisation's compressor cards, see them update
when a device posts a reading, switch the language (remembered on the user)."""

import time
from pathlib import Path

import requests
import sqlalchemy as sa
from selenium.webdriver.common.by import By

from dashboard.core.database import session_scope
from dashboard.core.models import User
from tests.conftest import PASSWORD

PORT = 8053  # the dashboard pages' browser tests; other suites use other ports


def login(dash_duo, email: str, password: str = PASSWORD) -> None:
    dash_duo.driver.get(dash_duo.server.url + "/login")
    dash_duo.wait_for_element("#email").send_keys(email)
    dash_duo.find_element("#password").send_keys(password)
    dash_duo.find_element("#login-submit").click()


def save_screenshot(dash_duo, name: str) -> None:
    out = Path("test-output/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(out / f"{name}.png"))


def click(dash_duo, selector: str) -> None:
    """Scroll to the element and click it in the page: charts below may still be
    resizing, which moves it under selenium's pointer."""
    element = dash_duo.wait_for_element(selector)
    dash_duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element)


def page_fits_width(dash_duo, timeout: float = 10) -> bool:
    """True once the page no longer scrolls sideways (charts resize after the window
    does, so this waits for them)."""
    script = ("return document.documentElement.scrollWidth "
              "<= document.documentElement.clientWidth")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dash_duo.driver.execute_script(script):
            return True
        time.sleep(0.2)
    return False


def phone_screenshots(dash_duo, name: str, ready: str) -> None:
    """``name``-phone at 390x844 (what a phone shows first) and ``name``-phone-full
    (the whole page at phone width), after checking nothing sticks out sideways."""
    dash_duo.driver.set_window_size(390, 844)
    dash_duo.wait_for_element(ready)
    assert page_fits_width(dash_duo), "the page scrolls sideways at 390 px"
    dash_duo.driver.execute_script("window.scrollTo(0, 0)")
    save_screenshot(dash_duo, f"{name}-phone")
    height = dash_duo.driver.execute_script("return document.body.scrollHeight")
    dash_duo.driver.set_window_size(390, min(int(height) + 140, 6000))
    assert page_fits_width(dash_duo)
    save_screenshot(dash_duo, f"{name}-phone-full")


def desktop_screenshot(dash_duo, name: str) -> None:
    height = dash_duo.driver.execute_script("return document.body.scrollHeight")
    dash_duo.driver.set_window_size(1366, min(int(height) + 140, 6000))
    time.sleep(0.5)  # charts resize after the window
    dash_duo.driver.execute_script("window.scrollTo(0, 0)")
    save_screenshot(dash_duo, f"{name}-desktop")


def test_login_see_cards_and_watch_them_update(dash_duo, dash_app, world):
    dash_duo.start_server(dash_app, navigate=False, port=PORT)
    login(dash_duo, world.users["A-viewer"])
    first, second = world.compressors["A"]
    dash_duo.wait_for_element(f"#health-card-{first}", timeout=15)
    dash_duo.wait_for_element(f"#health-card-{second}")
    assert not dash_duo.driver.find_elements(By.CSS_SELECTOR,
                                             f"#health-card-{world.compressors['B'][0]}")
    dash_duo.wait_for_text_to_equal(f"#health-status-{first}", "오프라인")

    resp = requests.post(
        dash_duo.server.url + "/api/esp32/data",
        json={"seq": 1, "metrics": {"temperature_c": 7.5, "current_a": 11.2}},
        headers={"Authorization": f"Bearer {world.tokens[first]}"},
        timeout=10,
    )
    assert resp.status_code == 201
    # The page refreshes by itself: the new values and status appear without a reload.
    dash_duo.wait_for_text_to_equal(f"#health-metric-{first}-temperature_c", "7.5 °C", timeout=15)
    dash_duo.wait_for_text_to_equal(f"#health-status-{first}", "학습 중")
    save_screenshot(dash_duo, "health-desktop")
    # English: the page reloads and every text follows, also after a fresh login.
    dash_duo.find_element("#nav-lang-en").click()
    dash_duo.wait_for_text_to_equal(f"#health-status-{first}", "Learning", timeout=15)
    dash_duo.wait_for_text_to_equal("#nav-health", "Fleet health")
    with session_scope(dash_app.server) as s:
        assert s.scalar(sa.select(User.language).where(
            User.email == world.users["A-viewer"])) == "en"
    phone_screenshots(dash_duo, "health", f"#health-card-{first}")
    # A card is a link to its compressor's page (navigation inside the app).
    click(dash_duo, f"#health-card-{first}")
    dash_duo.wait_for_text_to_equal("#compressor-name", "Comp A1", timeout=15)
    assert dash_duo.driver.current_url.endswith(f"/compressor/{first}")
    assert dash_duo.get_logs() == [], "browser console errors"


def test_wrong_password_in_browser_stays_on_login(dash_duo, dash_app, world):
    dash_duo.start_server(dash_app, navigate=False, port=PORT)
    login(dash_duo, world.users["A-viewer"], "wrong-password")
    dash_duo.wait_for_contains_text(".alert", "Wrong email or password")
    assert "/login" in dash_duo.driver.current_url
