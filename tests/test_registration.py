"""Registration with email and password: validation, a new organisation, consents,
email verification and password reset by emailed single-use links (a real SMTP server
on 127.0.0.1 receives the mail)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from dashboard.accounts.registration import read_registration
from dashboard.core.database import session_scope
from dashboard.core.models import AuditLog, Organization, User, UserToken
from tests.conftest import PASSWORD
from tests.fakes.smtp import SmtpSink

GOOD = {
    "email": "Founder@Hanbit.example", "password": "founder-password",
    "password_confirm": "founder-password", "name": "이한빛", "phone": "+82 10-1234-5678",
    "company": "한빛냉동", "position": "대표", "industry": "cold_chain", "company_size": "10-49",
    "purpose": "냉동창고 압축기 감시", "device_count": "12", "notify_email": "1",
    "notify_kakao": "1", "accept_terms": "1", "accept_privacy": "1", "accept_marketing": "1",
    "org_mode": "create", "org_name": "한빛냉동",
}


@pytest.fixture
def sink(app):
    with SmtpSink() as s:
        s.configure(app)
        yield s


def get_user(app, email):
    with session_scope(app) as s:
        user = s.scalar(sa.select(User).where(User.email == email))
        if user is not None:
            s.expunge(user)
        return user


def local(url: str) -> str:
    return url.split("127.0.0.1:8050", 1)[-1]


@pytest.mark.parametrize("field, value, message", [
    ("email", "not-an-email", "valid email"),
    ("password", "short", "at least 10"),
    ("password_confirm", "different-password", "do not match"),
    ("name", "", "your name"),
    ("company", "", "your company"),
    ("industry", "spaceships", "industry"),
    ("company_size", "", "company size"),
    ("device_count", "-3", "whole number"),
    ("device_count", "many", "whole number"),
    ("phone", "call me", "phone number"),
    ("accept_terms", "", "terms of service"),
    ("accept_privacy", "", "privacy policy"),
    ("org_name", "", "organisation's name"),
    ("purpose", "x" * 501, "At most 500"),
])
def test_registration_form_is_validated(field, value, message):
    data = read_registration({**GOOD, field: value})
    assert field in data.errors and message in data.errors[field]
    assert read_registration(GOOD).ok


def test_sms_needs_a_phone_and_password_is_not_the_email():
    data = read_registration({**GOOD, "notify_sms": "1", "phone": ""})
    assert "phone" in data.errors
    same = read_registration({**GOOD, "password": "founder@hanbit.example",
                              "password_confirm": "founder@hanbit.example"})
    assert "password" in same.errors


def test_invalid_form_is_shown_again_escaped_and_nothing_is_stored(client, app):
    resp = client.post("/register", data={**GOOD, "name": "<img src=x onerror=alert(1)>",
                                          "accept_privacy": ""})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "privacy policy" in page and 'id="accept_privacy-error"' in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'value="founder-password"' not in page  # passwords are never echoed back
    assert get_user(app, "founder@hanbit.example") is None


def test_new_organisation_with_its_admin_consents_and_verification(client, app, sink):
    resp = client.post("/register", data=GOOD)
    assert resp.status_code == 202 and "Check your email" in resp.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not logged in: the mailbox decides
    user = get_user(app, "founder@hanbit.example")
    assert user.role == "admin" and user.pending and user.active
    assert (user.company, user.position, user.industry, user.company_size, user.device_count,
            user.phone, user.purpose) == ("한빛냉동", "대표", "cold_chain", "10-49", 12,
                                          "+82 10-1234-5678", "냉동창고 압축기 감시")
    assert user.notify_email and user.notify_kakao and not user.notify_sms
    assert user.terms_accepted_at and user.privacy_accepted_at and user.marketing_consent_at
    assert user.email_verified_at is None and user.password_hash.startswith("$argon2")
    # before the link: the password opens nothing, and says no more than a wrong one
    refused = client.post("/login", data={"email": "founder@hanbit.example",
                                          "password": "founder-password"})
    assert refused.status_code == 401 and "Wrong email or password" in refused.get_data(
        as_text=True)
    with session_scope(app) as s:
        org = s.get(Organization, user.org_id)
        assert org.name == "한빛냉동"

    msg = sink.wait_for(lambda m: "founder@hanbit.example" in str(m["To"]))
    link = SmtpSink.find_link(msg, "/verify-email/")
    assert "verify" in str(msg["Subject"]).lower()
    resp = client.get(local(link))
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert client.get("/").status_code == 200  # the link logged the founder in
    user = get_user(app, "founder@hanbit.example")
    assert user.email_verified_at is not None and not user.pending and user.role == "admin"
    with session_scope(app) as s:
        assert {"org.create", "user.email_verified", "login.success"} <= {
            a.action for a in s.scalars(sa.select(AuditLog))}
    assert client.get(local(link)).status_code == 404  # single use
    client.post("/logout")
    assert client.post("/login", data={"email": "founder@hanbit.example",
                                       "password": "founder-password"}).status_code == 302


def test_marketing_consent_is_optional(client, app):
    resp = client.post("/register", data={**GOOD, "accept_marketing": ""})
    assert resp.status_code == 202
    assert get_user(app, "founder@hanbit.example").marketing_consent_at is None


def test_a_taken_organisation_name_is_told_only_to_the_confirmed_mailbox(client, app, world,
                                                                         sink):
    resp = client.post("/register", data={**GOOD, "org_name": "org a"})
    assert resp.status_code == 202
    user = get_user(app, "founder@hanbit.example")
    assert user.org_id is None and user.pending  # Org A is untouched
    link = SmtpSink.find_link(sink.wait_for(
        lambda m: "founder@hanbit.example" in str(m["To"])), "/verify-email/")
    resp = client.get(local(link))
    assert resp.status_code == 302 and resp.headers["Location"] == "/register/organisation"
    page = client.get("/register/organisation").get_data(as_text=True)
    assert "already exists" in page
    done = client.post("/register/organisation", data={**GOOD, "org_name": "Hanbit Two"})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    user = get_user(app, "founder@hanbit.example")
    with session_scope(app) as s:
        assert s.get(Organization, user.org_id).name == "Hanbit Two"
    assert user.role == "admin" and not user.pending


def test_a_founder_whose_mail_was_lost_confirms_by_password_reset(client, app, sink):
    client.post("/register", data=GOOD)
    sink.wait_for(lambda m: "founder@hanbit.example" in str(m["To"]))
    client.post("/forgot-password", data={"email": "founder@hanbit.example"})
    link = SmtpSink.find_link(sink.wait_for(
        lambda m: "/reset-password/" in m.get_body(("plain",)).get_content()),
        "/reset-password/")
    client.post(local(link), data={"password": "another-password",
                                   "password_confirm": "another-password"})
    assert not get_user(app, "founder@hanbit.example").pending
    assert client.post("/login", data={"email": "founder@hanbit.example",
                                       "password": "another-password"}).status_code == 302


def _answer(resp) -> tuple:
    """What a stranger sees of a sign-up's answer: status, cookies set, page text
    (CSRF tokens, which differ per session, taken out)."""
    text = re.sub(r'(name="csrf[-_]token"[^>]*content="|value=")[^"]*"', r"\1", resp.get_data(
        as_text=True))
    cookies = sorted(c.split("=", 1)[0] for c in resp.headers.getlist("Set-Cookie"))
    return resp.status_code, cookies, resp.headers.get("Location"), text


def test_registration_does_not_reveal_accounts_or_organisations(app, world, sink):
    """Issue 17: a taken email, an unknown organisation and a taken organisation name
    answer exactly like a real sign-up of the same kind; only the address's owner
    learns why, by mail (or, for a name, after opening the emailed link)."""
    def post(**form):
        return app.test_client().post("/register", data={**GOOD, **form})

    real_join = post(email="joiner@x.example", org_mode="join", org_name="Org A")
    taken_join = post(email=world.users["A-viewer"], org_mode="join", org_name="Org A")
    unknown = post(email="prober@x.example", org_mode="join", org_name="Nope Inc")
    real_create = post(email="founder@x.example", org_name="Fresh Inc")
    taken_email = post(email=world.users["B-admin"], org_name="Fresh Two")
    taken_name = post(email="squatter@x.example", org_name="Org B")
    taken_both = post(email=world.users["A-admin"], org_name="org a")

    assert _answer(real_join) == _answer(taken_join) == _answer(unknown)
    assert _answer(real_create) == _answer(taken_email) == _answer(taken_name) == \
        _answer(taken_both)
    assert real_create.status_code == 202 and "Check your email" in real_create.get_data(
        as_text=True)
    assert get_user(app, "prober@x.example") is None
    notice = sink.wait_for(lambda m: world.users["A-viewer"] in str(m["To"]))
    assert "already has an account" in notice.get_body(("plain",)).get_content()
    notice = sink.wait_for(lambda m: world.users["B-admin"] in str(m["To"]))
    assert "already has an account" in notice.get_body(("plain",)).get_content()
    notice = sink.wait_for(lambda m: "prober@x.example" in str(m["To"]))
    assert "Nope Inc" in notice.get_body(("plain",)).get_content()
    # the squatter's mail is an ordinary verification mail, like the real founder's
    squatter = sink.wait_for(lambda m: "squatter@x.example" in str(m["To"]))
    founder = sink.wait_for(lambda m: "founder@x.example" in str(m["To"]))
    assert str(squatter["Subject"]) == str(founder["Subject"])
    with session_scope(app) as s:
        b_admins = s.scalars(sa.select(User.email).where(
            User.org_id == world.org_ids["B"], User.role == "admin")).all()
        assert b_admins == [world.users["B-admin"]]  # nothing happened to Org B


def test_password_reset_by_single_use_emailed_link(client, app, world, sink):
    email = world.users["A-viewer"]
    other_session = app.test_client()
    world.login(other_session, "A-viewer")
    resp = client.post("/forgot-password", data={"email": email.upper()})
    assert resp.status_code == 200 and "Check your email" in resp.get_data(as_text=True)
    msg = sink.wait_for(lambda m: email in str(m["To"]))
    link = local(SmtpSink.find_link(msg, "/reset-password/"))
    token = link.rsplit("/", 1)[-1]
    with session_scope(app) as s:
        row = s.scalar(sa.select(UserToken).where(UserToken.purpose == "reset"))
        assert row.token_hash != token and len(row.token_hash) == 64  # only the hash
    assert client.get(link).status_code == 200
    short = client.post(link, data={"password": "short", "password_confirm": "short"})
    assert short.status_code == 400
    done = client.post(link, data={"password": "a-fresh-password",
                                   "password_confirm": "a-fresh-password"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert client.get(link).status_code == 404  # used up
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 401
    assert client.post("/login", data={"email": email,
                                       "password": "a-fresh-password"}).status_code == 302
    assert other_session.get("/").status_code == 302  # the old session ended


def test_reset_link_expires_and_only_the_newest_works(client, app, world, sink):
    email = world.users["A-analyst"]
    client.post("/forgot-password", data={"email": email})
    first = local(SmtpSink.find_link(sink.wait_for(), "/reset-password/"))
    client.post("/forgot-password", data={"email": email})
    second = local(SmtpSink.find_link(sink.messages[1], "/reset-password/"))
    assert client.get(first).status_code == 404
    with session_scope(app) as s:
        for row in s.scalars(sa.select(UserToken)):
            row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    assert client.get(second).status_code == 404
    resp = client.post(second, data={"password": "never-applied-1",
                                     "password_confirm": "never-applied-1"})
    assert resp.status_code == 404


def test_reset_request_does_not_reveal_who_has_an_account(client, world, sink):
    known = client.post("/forgot-password", data={"email": world.users["A-viewer"]})
    unknown = client.post("/forgot-password", data={"email": "nobody@nowhere.example"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    sink.wait_for(lambda m: world.users["A-viewer"] in str(m["To"]))
    assert sink.to("nobody@nowhere.example") == []


def test_account_pages_are_public_and_carry_a_csrf_field(client):
    for path in ("/register", "/forgot-password", "/login"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert 'name="csrf_token"' in page.get_data(as_text=True)
    assert client.get("/reset-password/nonsense").status_code == 404
    assert client.get("/verify-email/nonsense").status_code == 404
    assert client.get("/invite/nonsense").status_code == 404
    # The organisation step needs a login.
    assert "/login" in client.get("/register/organisation").headers["Location"]
