"""In real Chromium, under the app's Content-Security-Policy: the pages work (Dash's
inline bootstrap is allowed by hash), nothing is reported as blocked, and logging out
from the navbar is a POST that ends the session."""

from tests.conftest import PASSWORD

PORT = 8057


def test_pages_run_under_the_csp_and_navbar_logout_posts(dash_duo, dash_app, world):
    dash_duo.start_server(dash_app, navigate=False, port=PORT)
    dash_duo.driver.get(dash_duo.server.url + "/login")
    dash_duo.wait_for_element("#email").send_keys(world.users["A-analyst"])
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element("#nav-user", timeout=15)
    for path in ("/", f"/compressor/{world.compressors['A'][0]}", "/history", "/spectrograms"):
        dash_duo.driver.get(dash_duo.server.url + path)
        dash_duo.wait_for_element("#nav-user", timeout=15)
    logs = dash_duo.driver.get_log("browser")
    blocked = [entry["message"] for entry in logs if "Content Security Policy" in
               entry["message"] or "Refused to" in entry["message"]]
    assert not blocked, blocked
    dash_duo.driver.execute_script("document.getElementById('nav-logout-form').submit()")
    dash_duo.wait_for_element("#login-form", timeout=10)
    dash_duo.driver.get(dash_duo.server.url + "/")
    dash_duo.wait_for_element("#login-form", timeout=10)
