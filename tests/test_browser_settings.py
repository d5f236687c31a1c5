"""In real Chromium: an admin invites a person from Settings; the invitation email
(caught by a local SMTP server) leads to the registration page, and the person lands
in the app. Someone who asks to join without an invitation waits until the admin
approves them in Settings, then logs in."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from dashboard.core.database import session_scope
from dashboard.core.models import User
from tests.conftest import PASSWORD
from tests.fakes.smtp import SmtpSink

PORT = 8051


def shot(dash_duo, name: str) -> None:
    out = Path("test-output/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    dash_duo.driver.save_screenshot(str(out / f"{name}.png"))


def log_in(dash_duo, email: str, password: str) -> None:
    dash_duo.driver.get(dash_duo.server.url + "/login")
    dash_duo.wait_for_element("#email").send_keys(email)
    dash_duo.find_element("#password").send_keys(password)
    dash_duo.find_element("#login-submit").click()


def log_out(dash_duo) -> None:
    dash_duo.driver.get(dash_duo.server.url + "/logout")
    dash_duo.wait_for_element("#logout-submit").click()
    dash_duo.wait_for_element("#login-form")


def click(dash_duo, element) -> None:
    """Scroll to the element and click it as the page's own script would (the long
    registration form is taller than the window)."""
    dash_duo.driver.execute_script(
        "arguments[0].scrollIntoView({block:'center'}); arguments[0].click();", element)


def fill_registration(dash_duo, values: dict[str, str], selects: dict[str, str],
                      checks: list[str]) -> None:
    for field, value in values.items():
        dash_duo.find_element(f"#{field}").send_keys(value)
    for field, value in selects.items():
        Select(dash_duo.find_element(f"#{field}")).select_by_value(value)
    for field in checks:
        box = dash_duo.find_element(f"#{field}")
        if not box.is_selected():
            click(dash_duo, box)
    click(dash_duo, dash_duo.find_element("#register-submit"))


def open_users_tab(dash_duo) -> None:
    dash_duo.driver.get(dash_duo.server.url + "/settings")
    dash_duo.wait_for_element(".settings-tab-users", timeout=15).click()
    dash_duo.wait_for_element("#settings-users-list", timeout=10)


def test_admin_invites_person_who_registers_and_a_join_request_is_approved(
        dash_duo, dash_app, world):
    server = dash_app.server
    with SmtpSink() as sink:
        sink.configure(server)
        dash_duo.start_server(dash_app, navigate=False, port=PORT)
        server.config["PUBLIC_BASE_URL"] = dash_duo.server.url

        # The admin invites someone as analyst.
        log_in(dash_duo, world.users["A-admin"], PASSWORD)
        dash_duo.wait_for_element("#nav-settings", timeout=15)
        open_users_tab(dash_duo)
        dash_duo.find_element("#settings-invite-email").send_keys("invitee@a.example")
        Select(dash_duo.find_element("#settings-invite-role")).select_by_value("analyst")
        dash_duo.find_element("#settings-invite-submit").click()
        dash_duo.wait_for_contains_text("#settings-users-feedback", "invitee@a.example",
                                        timeout=10)
        dash_duo.wait_for_contains_text("#settings-invites-list", "invitee@a.example")
        shot(dash_duo, "settings-users")
        log_out(dash_duo)

        # The invitee follows the emailed link and registers: the email is fixed.
        msg = sink.wait_for(lambda m: "invitee@a.example" in str(m["To"]))
        dash_duo.driver.get(SmtpSink.find_link(msg, "/invite/"))
        dash_duo.wait_for_contains_text("#register-invitation", "Org A")
        assert dash_duo.find_element("#email").get_attribute("readonly") is not None
        assert dash_duo.find_element("#email").get_attribute("value") == "invitee@a.example"
        shot(dash_duo, "register-invitation")
        fill_registration(
            dash_duo,
            {"password": "invitee-password", "password_confirm": "invitee-password",
             "name": "Invitee Park"},
            {"industry": "retail", "company_size": "50-249"},
            ["accept_terms", "accept_privacy"])
        dash_duo.wait_for_element("#nav-settings", timeout=15)  # inside the app
        log_out(dash_duo)

        # Someone without an invitation asks to join and must wait.
        dash_duo.driver.get(dash_duo.server.url + "/register")
        Select(dash_duo.wait_for_element("#industry")).select_by_value("food")
        click(dash_duo, dash_duo.find_element("#org_mode_join"))
        fill_registration(
            dash_duo,
            {"email": "joiner@a.example", "password": "joiner-password",
             "password_confirm": "joiner-password", "name": "Joiner Lee",
             "company": "A Foods", "org_name": "Org A"},
            {"company_size": "1-9"},
            ["accept_terms", "accept_privacy"])
        dash_duo.wait_for_element("#message-card")
        log_in(dash_duo, "joiner@a.example", "joiner-password")
        dash_duo.wait_for_contains_text(".alert", "approval")

        # The admin approves; the joiner can then log in.
        log_in(dash_duo, world.users["A-admin"], PASSWORD)
        dash_duo.wait_for_element("#nav-settings", timeout=15)
        open_users_tab(dash_duo)
        with session_scope(server) as s:
            joiner_id = s.scalar(sa.select(User.id).where(User.email == "joiner@a.example"))
        row = dash_duo.wait_for_element(f"#settings-user-row-{joiner_id}")
        click(dash_duo, row.find_element(By.CSS_SELECTOR, "button.btn-success"))
        dash_duo.wait_for_text_to_equal(f"#settings-user-status-{joiner_id}", "활성",
                                        timeout=10)
        log_out(dash_duo)
        log_in(dash_duo, "joiner@a.example", "joiner-password")
        dash_duo.wait_for_element("#nav-settings", timeout=15)

    with session_scope(server) as s:
        invitee = s.scalar(sa.select(User).where(User.email == "invitee@a.example"))
        joiner = s.scalar(sa.select(User).where(User.email == "joiner@a.example"))
        assert (invitee.role, invitee.pending, invitee.org_id) == \
            ("analyst", False, world.org_ids["A"])
        assert (joiner.role, joiner.pending) == ("viewer", False)
    # The pending login answered 403 on purpose; no script error is allowed.
    assert [e for e in dash_duo.get_logs()
            if e.get("level") == "SEVERE" and e.get("source") != "network"] == []
