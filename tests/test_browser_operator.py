"""In real Chromium: a platform operator opens the Operator page from the navbar,
suspends an organisation with a reason (its signed-in user is refused at once) and
reactivates it."""

from __future__ import annotations

from selenium.webdriver.support.ui import WebDriverWait

from dashboard.core.database import session_scope
from dashboard.core.models import Organization
from tests.conftest import PASSWORD
from tests.test_browser_settings import log_in, shot
from tests.test_operator import _operator

PORT = 8051


def _confirm(dash_duo) -> None:
    WebDriverWait(dash_duo.driver, 10).until(lambda d: d.switch_to.alert).accept()


def test_operator_suspends_and_reactivates_an_organisation(dash_duo, dash_app, world):
    server = dash_app.server
    email = _operator(server)
    a_org = world.org_ids["A"]
    customer = world.login(server.test_client(), "A-viewer")
    dash_duo.start_server(dash_app, navigate=False, port=PORT)

    log_in(dash_duo, email, PASSWORD)
    dash_duo.wait_for_element("#nav-operator", timeout=15).click()
    dash_duo.wait_for_contains_text("#operator-orgs-table", "Org B", timeout=15)
    row = f"#operator-org-{a_org}"
    dash_duo.find_element(f"{row} input").send_keys("invoice unpaid")
    dash_duo.find_element(f"{row} button").click()
    _confirm(dash_duo)
    dash_duo.wait_for_contains_text("#operator-feedback", "Org A is suspended", timeout=10)
    dash_duo.wait_for_contains_text(row, "invoice unpaid", timeout=10)
    shot(dash_duo, "operator-suspended")
    assert customer.get("/").status_code == 403
    with session_scope(server) as s:
        assert s.get(Organization, a_org).suspended_at is not None

    dash_duo.find_element(f"{row} button").click()  # now Reactivate
    _confirm(dash_duo)
    dash_duo.wait_for_contains_text("#operator-feedback", "Org A is active again", timeout=10)
    assert customer.get("/").status_code == 200
