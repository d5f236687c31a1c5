"""The sign-up questions the older system asked (company email, address, purposes,
budget, timeline, newsletter): validated, stored, and shown to the admin who approves a
request to join."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from dashboard.accounts.registration import read_registration
from dashboard.core.database import session_scope
from dashboard.core.models import User
from tests.test_registration import GOOD
from tests.test_settings import open_tab, response_text

DETAILS = {"company_email": "Sales@Hanbit.example", "address": "서울특별시 강남구 테헤란로 1",
           "budget": "5m_20m", "timeline": "3_months", "newsletter": "1"}


def form(**changes):
    data = MultiDict({**GOOD, **DETAILS})
    data.setlist("purposes", ["energy_saving", "predictive_maintenance"])
    for key, value in changes.items():
        if isinstance(value, list):
            data.setlist(key, value)
        else:
            data[key] = value
    return data


def stored(app, email):
    with session_scope(app) as s:
        user = s.scalar(sa.select(User).where(User.email == email))
        s.expunge(user)
        return user


@pytest.mark.parametrize("field, value, message", [
    ("company_email", "sales at hanbit", "valid company email"),
    ("address", "x" * 301, "At most 300"),
    ("purposes", ["energy_saving", "world_domination"], "choose from the list"),
    ("budget", "a lot", "choose from the list"),
    ("timeline", "yesterday", "choose from the list"),
])
def test_each_new_field_is_validated(app, field, value, message):
    with app.test_request_context():
        assert read_registration(form()).ok
        data = read_registration(form(**{field: value}))
    assert set(data.errors) == {field} and message in data.errors[field]


def test_the_answers_are_stored_as_keys_with_the_newsletter_consent_time(client, app):
    resp = client.post("/register", data=form(purposes=["other", "energy_saving",
                                                        "energy_saving"]))
    assert resp.status_code == 202  # check your email
    user = stored(app, "founder@hanbit.example")
    assert (user.company_email, user.address, user.purposes, user.budget, user.timeline) == (
        "sales@hanbit.example", "서울특별시 강남구 테헤란로 1", "energy_saving,other",
        "5m_20m", "3_months")
    assert user.newsletter_consent_at is not None


def test_the_new_questions_are_optional(client, app):
    assert client.post("/register", data=GOOD).status_code == 202
    user = stored(app, "founder@hanbit.example")
    assert user.company_email is None and user.purposes is None
    assert user.newsletter_consent_at is None and user.budget is None


def test_a_refused_answer_shows_the_form_again_with_the_typed_text(client, app):
    resp = client.post("/register", data=form(company_email="<b>nope"))
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and 'id="company_email-error"' in page
    assert "&lt;b&gt;nope" in page and "<b>nope" not in page
    # the choices made so far stay ticked
    assert 'id="purposes-energy_saving" checked' in page


def test_the_sign_up_page_asks_them(client):
    page = client.get("/register").get_data(as_text=True)
    for marker in ('name="company_email"', 'name="address"', 'name="purposes"',
                   'name="budget"', 'name="timeline"', 'name="newsletter"'):
        assert marker in page


def test_korean_sign_up_page_has_the_questions_in_korean(client):
    page = client.get("/register", headers={"Accept-Language": "ko"}).get_data(as_text=True)
    assert "회사 이메일" in page and "예산" in page and "뉴스레터" in page


def test_the_approving_admin_sees_the_answers_of_a_pending_request(dash_app, app, world):
    visitor = app.test_client()
    assert visitor.post("/register", data=form(
        email="joiner@a.example", org_mode="join", org_name="Org A")).status_code == 202
    admin = world.login(app.test_client(), "A-admin")
    with session_scope(app) as s:
        s.scalar(sa.select(User).where(User.email == world.users["A-admin"])).language = "en"
    listing = response_text(open_tab(admin, dash_app, "users", "settings-users-table"))
    assert "joiner@a.example" in listing and "Sign-up details" in listing
    for text in ("sales@hanbit.example", "테헤란로", "Energy saving", "Predictive maintenance",
                 "5 to 20 million won", "Within 3 months"):
        assert text in listing, text
    # Another organisation's admin never sees the request.
    other = world.login(app.test_client(), "B-admin")
    assert "joiner@a.example" not in response_text(
        open_tab(other, dash_app, "users", "settings-users-table"))
